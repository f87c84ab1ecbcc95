//! Metrics survive a collector restart, as spans do: with cumulative temporality (the default)
//! the export after the restart carries every measurement, those made while the collector was
//! gone included; the failed exports are counted meanwhile.

mod support;

use std::time::{Duration, Instant};

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

fn calls(collector: &Collector, service: &str) -> f64 {
    collector
        .metric_points()
        .iter()
        .filter(|p| {
            p["resource"]["service.name"] == service && p["name"] == "traces.span.metrics.calls"
        })
        .map(|p| p["value"].as_f64().unwrap())
        .fold(0.0, f64::max)
}

fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn cumulative_totals_arrive_whole_after_a_restart() {
    let mut collector = Collector::start();
    let service = "metrics-restart";
    let guard = to_collector(&collector, Protocol::Grpc, service)
        .with_setting("span_metrics", true)
        .with_setting("metric_export_interval_ms", Duration::from_millis(200))
        .with_setting("metric_export_timeout_ms", Duration::from_millis(1000))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let work = |n| {
        for _ in 0..n {
            tracing::info_span!("job").in_scope(|| {});
        }
    };
    work(10);
    wait("the first export", || calls(&collector, service) >= 10.0);

    collector.stop();
    work(10);
    wait("a failed export while the collector is gone", || {
        guard.stats().failed_metric_batches > 0
    });

    collector.launch().unwrap();
    work(10);
    let _ = guard.shutdown();
    wait("the totals after the restart", || {
        calls(&collector, service) >= 30.0
    });
    assert_eq!(calls(&collector, service), 30.0, "nothing counted twice");
}
