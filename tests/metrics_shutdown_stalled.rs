//! The last metric export cannot hold shutdown past its deadline: with the collector stalled
//! (SIGSTOP) and the default 30 s `metric_export_timeout_ms`, shutdown returns within
//! `shutdown_timeout_ms` plus a small margin, and says that the metric export failed.

mod support;

use std::time::{Duration, Instant};

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

const SHUTDOWN: Duration = Duration::from_millis(1_000);
const MARGIN: Duration = Duration::from_millis(600);

#[test]
fn a_stalled_collector_does_not_hold_shutdown() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let collector = Collector::start();
        collector.pause();
        let guard = to_collector(&collector, protocol, "metrics-stalled")
            .with_setting("span_metrics", true)
            .with_shutdown_timeout(SHUTDOWN)
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        for _ in 0..100 {
            tracing::info_span!("job").in_scope(|| {});
        }
        let started = Instant::now();
        let err = guard
            .shutdown()
            .expect_err("nothing could be delivered")
            .to_string();
        let took = started.elapsed();
        assert!(
            took <= SHUTDOWN + MARGIN,
            "{protocol}: shutdown took {took:?}: {err}"
        );
        assert!(
            err.contains("metric exports: 0 delivered, 1 failed"),
            "{protocol}: {err}"
        );
        collector.resume();
    }
}
