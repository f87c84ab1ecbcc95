//! Spans made through the OpenTelemetry API (`opentelemetry::global::tracer`) inside a tracing
//! span join its trace and reach the same exporter, with the same sampling and resource.

mod support;

use std::time::Duration;

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use support::{Collector, to_collector};
use tracewire::settings::Protocol;

#[test]
fn api_spans_nest_under_tracing_spans_and_are_exported() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::HttpProtobuf, "api")
        .with_log_writer(std::io::sink())
        .init()
        .expect("init");
    tracing::info_span!("outer").in_scope(|| {
        let tracer = opentelemetry::global::tracer_provider().tracer("my-library");
        tracer.in_span("library_call", |_cx| {});
    });
    guard.shutdown().expect("delivered");

    let spans = collector.wait_for_spans(2, Duration::from_secs(10));
    let outer = spans.iter().find(|s| s["name"] == "outer").expect("outer");
    let call = spans
        .iter()
        .find(|s| s["name"] == "library_call")
        .expect("library_call");
    assert_eq!(call["trace_id"], outer["trace_id"]);
    assert_eq!(call["parent_span_id"], outer["span_id"]);
    assert_eq!(call["scope"], "my-library");
    assert_eq!(outer["scope"], "tracewire");
    assert_eq!(call["resource"]["service.name"], "api");
}
