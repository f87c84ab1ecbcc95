//! Inside a span whose trace is not sampled, OpenTelemetry API spans join that trace (not
//! sampled, nothing exported) instead of starting new traces of their own.

mod support;

use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use support::Captured;

#[test]
fn api_spans_inherit_the_unsampled_trace() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let logs = Captured::default();
    let guard = support::to_file(&sink)
        .with_env([("TRACEWIRE_SAMPLING_RATE", "0")])
        .with_log_writer(logs.clone())
        .init()
        .expect("init");
    let (inner, outer) = tracing::info_span!("outer").in_scope(|| {
        tracing::info!("inside");
        let tracer = opentelemetry::global::tracer_provider().tracer("my-library");
        let span = tracer.start("library_call");
        let inner = span.span_context().clone();
        drop(span);
        (inner, tracewire::propagation::current_context())
    });
    guard.shutdown().expect("shutdown");

    let outer = outer.span().span_context().clone();
    assert!(outer.is_valid());
    assert_eq!(inner.trace_id(), outer.trace_id(), "one trace");
    assert!(!inner.is_sampled());
    let line = logs
        .json_lines()
        .into_iter()
        .find(|l| l["message"] == "inside")
        .unwrap();
    assert_eq!(line["trace_id"], outer.trace_id().to_string());
    assert!(
        support::file_sink_spans(&sink).is_empty(),
        "nothing exported"
    );
}
