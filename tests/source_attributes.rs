//! `span_source_attributes`: off by default (lean spans), on brings back tracing-opentelemetry's
//! code location, thread and timing attributes.

use tracewire::testing::Capture;

#[test]
fn source_attributes_are_opt_in() {
    let lean = Capture::start();
    tracing::info_span!("lean").in_scope(|| {});
    let span = lean.span("lean");
    assert!(
        span.attr("code.file.path").is_none() && span.attr("thread.id").is_none(),
        "{span:?}"
    );
    drop(lean);

    let full = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_env([("TRACEWIRE_SPAN_SOURCE_ATTRIBUTES", "true")]),
    )
    .unwrap();
    tracing::info_span!("full").in_scope(|| {});
    let span = full.span("full");
    assert_eq!(
        span.attr("code.file.path").and_then(|v| v.as_str()),
        Some("tests/source_attributes.rs")
    );
    assert!(
        span.attr("thread.id").is_some() && span.attr("busy_ns").is_some(),
        "{span:?}"
    );
}
