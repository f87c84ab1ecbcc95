//! Exact accounting and a bounded shutdown with a real collector that is stalled (SIGSTOP) or
//! gone: shutdown returns within `shutdown_timeout_ms` plus a small margin even while exports
//! wait on a 10 s `otlp_timeout_ms`; every span created is delivered, counted by cause, or
//! still queued, and the shutdown error carries those totals; a request that got no answer is
//! counted as timed out (it may have arrived), not as failed.

mod support;

use std::time::{Duration, Instant};

use support::{Collector, report_totals, to_collector};
use tracewire::settings::Protocol;

const SPANS: u64 = 20_000;
const SHUTDOWN: Duration = Duration::from_millis(1_000);
/// What shutdown may take beyond its timeout: the export task's reply and the runtime's stop.
const MARGIN: Duration = Duration::from_millis(600);

fn produce_then_shutdown(builder: tracewire::Builder) -> (Duration, String) {
    let guard = builder
        .with_shutdown_timeout(SHUTDOWN)
        .with_otlp_timeout(Duration::from_secs(10))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    for i in 0..SPANS {
        tracing::info_span!("work", i).in_scope(|| {});
    }
    let stats = guard.stats();
    assert_eq!(
        stats.exported_spans + stats.dropped() + stats.queued_spans,
        SPANS,
        "accounted while running: {stats}"
    );
    let started = Instant::now();
    let err = guard
        .shutdown()
        .expect_err("nothing could be delivered")
        .to_string();
    (started.elapsed(), err)
}

#[test]
fn stalled_collector_shutdown_is_bounded_and_exact() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let collector = Collector::start();
        collector.pause();
        let (took, err) = produce_then_shutdown(to_collector(&collector, protocol, "acct"));
        assert!(
            took <= SHUTDOWN + MARGIN,
            "{protocol}: shutdown took {took:?}: {err}"
        );
        let (delivered, lost, queued) = report_totals(&err);
        assert_eq!(queued, 0, "{protocol}: {err}");
        assert_eq!(
            delivered + lost,
            SPANS,
            "{protocol}: every span accounted for: {err}"
        );
        assert!(
            err.contains("timed out: may have arrived"),
            "{protocol}: {err}"
        );
        assert!(
            !err.contains(" failed,") && !err.contains(" failed)"),
            "{protocol}: nothing answered no: {err}"
        );
        // Let the collector go on: what it then receives was counted as timed out, never as
        // delivered or failed.
        collector.resume();
        let timed_out: u64 = err
            .split(['(', ','])
            .find_map(|p| p.trim().strip_suffix(" timed out: may have arrived"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{protocol}: {err}"));
        let arrived = collector.wait_for_spans(1, Duration::from_secs(1)).len() as u64;
        assert!(
            arrived <= timed_out,
            "{protocol}: {arrived} arrived, {timed_out} timed out"
        );
    }
}

#[test]
fn unreachable_collector_shutdown_is_bounded_and_exact() {
    let mut collector = Collector::start();
    collector.stop();
    let (took, err) = produce_then_shutdown(to_collector(&collector, Protocol::Grpc, "acct"));
    assert!(took <= SHUTDOWN + MARGIN, "shutdown took {took:?}: {err}");
    let (delivered, lost, queued) = report_totals(&err);
    assert_eq!((delivered, queued), (0, 0), "{err}");
    assert_eq!(lost, SPANS, "{err}");
}
