//! `span_metrics`: calls and duration per span name, kind and status from every span, sampled
//! or not, and a hard cap on series: 10,000 distinct span names with a cap of 100 give at most
//! 101 series, the rest counted (not lost) in the `otel.metric.overflow` series.

use tracewire::testing::{AttrValue, Capture};

fn capture(env: &[(&str, &str)]) -> Capture {
    Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_env(env.iter().copied())
            .with_setting("span_metrics", true),
    )
    .unwrap()
}

#[test]
fn every_span_is_counted_at_rate_zero_with_kind_and_status() {
    let capture = capture(&[("TRACEWIRE_SAMPLING_RATE", "0")]);
    for _ in 0..25 {
        tracing::info_span!("checkout", otel.kind = "server").in_scope(|| {
            tracing::info_span!("charge").in_scope(|| tracing::error!("card declined"));
        });
    }
    assert!(capture.spans().is_empty(), "nothing sampled");
    let calls = capture.metric("traces.span.metrics.calls");
    let point = |name: &str| {
        calls
            .points
            .iter()
            .find(|p| p.attr("span.name") == Some(&AttrValue::Str(name.into())))
            .unwrap_or_else(|| panic!("no {name}: {calls:#?}"))
    };
    let (checkout, charge) = (point("checkout"), point("charge"));
    assert_eq!(checkout.value, 25.0);
    assert_eq!(
        checkout.attr("span.kind").unwrap().as_str(),
        Some("SPAN_KIND_SERVER")
    );
    assert_eq!(
        checkout.attr("status.code").unwrap().as_str(),
        Some("STATUS_CODE_UNSET")
    );
    assert_eq!(charge.value, 25.0);
    assert_eq!(
        charge.attr("status.code").unwrap().as_str(),
        Some("STATUS_CODE_ERROR")
    );
    let duration = capture.metric("traces.span.metrics.duration");
    assert_eq!(duration.unit, "ms");
    let total: u64 = duration.points.iter().map(|p| p.count).sum();
    assert_eq!(total, 50, "one measurement per span");
}

#[test]
fn ten_thousand_names_stay_within_the_cap() {
    let capture = capture(&[("TRACEWIRE_SPAN_METRICS_MAX_SERIES", "100")]);
    for i in 0..10_000 {
        tracing::info_span!("op", otel.name = %format!("op-{i}")).in_scope(|| {});
    }
    for metric in ["traces.span.metrics.calls", "traces.span.metrics.duration"] {
        let m = capture.metric(metric);
        assert!(m.points.len() <= 101, "{metric}: {} series", m.points.len());
        let counted: f64 = m.points.iter().map(|p| p.value).sum();
        assert_eq!(counted, 10_000.0, "{metric}: every span counted");
        let overflow = m
            .points
            .iter()
            .find(|p| p.attr("otel.metric.overflow") == Some(&AttrValue::Bool(true)))
            .unwrap_or_else(|| panic!("{metric}: no overflow series"));
        assert!(overflow.value >= 9_900.0, "{metric}: {}", overflow.value);
    }
}
