//! Nothing is lost silently: while spans are dropped, a warning is logged at most once per
//! interval, counters are readable from the guard, and shutdown reports the total.

mod support;

use std::time::{Duration, Instant};

use support::Captured;

#[test]
fn dropped_spans_are_counted_and_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("TRACEWIRE_FILE_MAX_BYTES", "10"),
            ("TRACEWIRE_DROP_WARNING_INTERVAL_MS", "100"),
        ])
        .with_batch_scheduled_delay(Duration::from_millis(20))
        .with_otlp_endpoint(format!("file:{}", dir.path().join("s.jsonl").display()))
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let warnings = || {
        logs.json_lines()
            .into_iter()
            .filter(|l| l["level"] == "WARN" && l["message"] == "spans are being dropped")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while warnings() < 2 && Instant::now() < deadline {
        tracing::info_span!("lost").in_scope(|| {});
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed_ms = 10_000
        - deadline
            .saturating_duration_since(Instant::now())
            .as_millis();
    let n = warnings();
    assert!(n >= 2, "warned while dropping continued: {n}");
    assert!(
        n as u128 <= elapsed_ms / 100 + 1,
        "at most once per interval: {n} in {elapsed_ms} ms"
    );
    let stats = guard.stats();
    assert!(stats.dropped_file_cap > 0);
    let err = guard.shutdown().expect_err("shutdown reports the loss");
    assert!(err.to_string().contains("not delivered"), "{err}");
    assert!(
        logs.json_lines()
            .iter()
            .any(|l| l["message"] == "spans were not delivered")
    );
}

/// A collector that accepts connections and never answers, under steady load: the warning
/// comes on its interval while the outage lasts (not first at shutdown), and names the cause.
#[test]
fn the_warning_comes_during_a_stall_not_at_shutdown() {
    let stalled = support::FaultyEndpoint::start(support::Fault::Stall);
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("TRACEWIRE_DROP_WARNING_INTERVAL_MS", "300"),
            ("TRACEWIRE_BATCH_MAX_QUEUE_SIZE", "64"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ])
        .with_otlp_endpoint(format!("http://127.0.0.1:{}", stalled.port))
        .with_otlp_protocol(tracewire::settings::Protocol::HttpProtobuf)
        .with_otlp_timeout(Duration::from_secs(20))
        .with_batch_scheduled_delay(Duration::from_millis(20))
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let warning = || {
        logs.json_lines()
            .into_iter()
            .find(|l| l["level"] == "WARN" && l["message"] == "spans are being dropped")
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    while warning().is_none() && Instant::now() < deadline {
        tracing::info_span!("during the stall").in_scope(|| {});
        std::thread::sleep(Duration::from_millis(5));
    }
    let seen = warning();
    let took = started.elapsed();
    drop(guard);
    let w = seen.unwrap_or_else(|| panic!("no warning during {took:?} of a 20 s stall"));
    assert!(w["queue_full"].as_u64().unwrap_or(0) > 0, "{w}");
}
