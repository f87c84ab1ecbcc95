//! With `spool_dir`, a collector outage loses no span: the real collector (rotel) is killed,
//! then stalled (SIGSTOP), while spans keep coming; they go to the disk spool (the queue keeps
//! draining, nothing is dropped), and when the collector is back every span arrives, each
//! counted once in `Stats` (spooled, then replayed). Over gRPC and OTLP/HTTP. Without the spool
//! the same outage drops spans, which is what the spool is for.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

fn wait(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Distinct span ids of `service` at the collector, and how many arrived in all.
fn arrived(collector: &Collector, service: &str) -> (usize, usize) {
    let spans = collector.spans();
    let ours: Vec<_> = spans
        .iter()
        .filter(|s| s["resource"]["service.name"] == service)
        .collect();
    let ids: HashSet<&str> = ours.iter().filter_map(|s| s["span_id"].as_str()).collect();
    (ids.len(), ours.len())
}

/// `n` spans at about `per_second`.
fn produce(n: usize, per_second: u64) {
    let pause = Duration::from_micros(1_000_000 / per_second);
    for i in 0..n {
        tracing::info_span!("work", i).in_scope(|| {});
        std::thread::sleep(pause);
    }
}

fn outage(protocol: Protocol) {
    let mut collector = Collector::start();
    let spool = tempfile::tempdir().unwrap();
    let service = format!("spool-{protocol}");
    let logs = support::Captured::default();
    let guard = to_collector(&collector, protocol, &service)
        .with_setting("spool_dir", spool.path().to_str().unwrap())
        .with_setting("otlp_timeout_ms", Duration::from_millis(1000))
        .with_setting("batch_scheduled_delay_ms", Duration::from_millis(100))
        // A small queue: without the spool this outage would overflow it.
        .with_setting("batch_max_queue_size", 256)
        .with_setting("metrics_enabled", false)
        .with_setting("drop_warning_interval_ms", Duration::from_millis(500))
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    produce(100, 2000);
    wait("the first spans", 15, || {
        arrived(&collector, &service).0 >= 100
    });

    // Killed: connections refused.
    collector.stop();
    produce(2000, 1000);
    wait("everything spooled", 20, || guard.stats().queued_spans == 0);
    let during = guard.stats();
    assert_eq!(during.dropped(), 0, "{during}");
    assert!(during.spooled_spans >= 1500, "{during}");
    assert!(
        std::fs::read_dir(spool.path()).unwrap().count() > 1,
        "segments on disk"
    );
    // Said while it happens, with the reason.
    let warning = logs
        .json_lines()
        .into_iter()
        .find(|l| l["message"] == "the collector cannot take spans: they wait in the disk spool")
        .expect("a warning during the outage");
    assert!(warning["spooled_total"].as_u64() > Some(0), "{warning}");
    let report = warning["report"].as_str().unwrap();
    assert!(report.contains("spooled because: "), "{report}");

    // Back: the spool is replayed, oldest first.
    collector.launch().unwrap();
    wait("the spooled spans", 30, || {
        arrived(&collector, &service).0 >= 2100
    });

    // Stalled: the connection is open, nothing answers.
    collector.pause();
    produce(1000, 1000);
    wait("the stalled outage spooled", 30, || {
        guard.stats().queued_spans == 0
    });
    collector.resume();
    wait("every span", 30, || arrived(&collector, &service).0 >= 3100);

    let stats = guard.shutdown().expect("nothing lost");
    let (unique, total) = arrived(&collector, &service);
    assert_eq!(unique, 3100);
    assert_eq!(stats.dropped(), 0, "{stats}");
    assert_eq!(stats.replayed_spans, stats.spooled_spans, "{stats}");
    assert_eq!(stats.spool_pending_spans, 0, "{stats}");
    assert_eq!(
        stats.exported_spans + stats.spooled_spans,
        3100,
        "each span settled once: {stats}"
    );
    // At least once: a request whose answer was lost in the stall may come twice.
    assert!(
        total - unique <= 2 * 512,
        "duplicates bounded: {}",
        total - unique
    );
    let left: Vec<_> = std::fs::read_dir(spool.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "twspool"))
        .collect();
    assert!(left.is_empty(), "delivered segments are deleted: {left:?}");
}

#[test]
fn a_collector_outage_loses_nothing_over_grpc() {
    outage(Protocol::Grpc);
}

#[test]
fn a_collector_outage_loses_nothing_over_http() {
    outage(Protocol::HttpProtobuf);
}

#[test]
fn without_the_spool_the_same_outage_drops_spans() {
    let mut collector = Collector::start();
    let guard = to_collector(&collector, Protocol::Grpc, "no-spool")
        .with_setting("otlp_timeout_ms", Duration::from_millis(1000))
        .with_setting("batch_scheduled_delay_ms", Duration::from_millis(100))
        .with_setting("batch_max_queue_size", 256)
        .with_setting("metrics_enabled", false)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    collector.stop();
    produce(2000, 1000);
    collector.launch().unwrap();
    let stats = guard
        .shutdown()
        .unwrap_or_else(|e| e.stats().unwrap_or_default());
    assert!(stats.dropped() > 0, "{stats}");
    assert_eq!(stats.spooled_spans, 0);
}
