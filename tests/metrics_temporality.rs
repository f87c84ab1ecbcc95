//! `metrics_temporality`: cumulative (the default) reports totals since start, delta only what
//! changed since the last export; the same measurements read through the test kit both ways.

use tracewire::testing::Capture;

fn two_exports(temporality: &str) -> (f64, f64) {
    let capture = Capture::with_builder(tracewire::builder().without_settings_file().with_env([(
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        temporality,
    )]))
    .unwrap();
    let counter = capture.meter("t").u64_counter("jobs").build();
    counter.add(4, &[]);
    let first = capture.metric("jobs").points[0].value;
    counter.add(3, &[]);
    let second = capture.metric("jobs").points[0].value;
    (first, second)
}

#[test]
fn cumulative_totals_and_delta_changes() {
    assert_eq!(two_exports("cumulative"), (4.0, 7.0));
    assert_eq!(two_exports("delta"), (4.0, 3.0));
}
