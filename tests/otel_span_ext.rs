//! Users' propagation code that calls `tracing_opentelemetry::OpenTelemetrySpanExt` keeps
//! working through tracewire's layer: `set_parent` joins a remote trace, `context()` reads ids.

mod support;

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use support::Captured;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

#[test]
fn set_parent_and_context_work_through_tracewire() {
    let logs = Captured::default();
    let guard = support::ids_only(logs.clone());

    let remote = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let span = tracing::info_span!("handle");
    span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote))
        .expect("set_parent before the span is entered");
    let cx = span.context();
    assert_eq!(
        cx.span().span_context().trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    span.in_scope(|| {
        assert_eq!(
            tracewire::propagation::current_trace_id().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        tracing::info!("joined");
    });
    guard.shutdown().unwrap();
    let line = &logs.json_lines()[0];
    assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
}
