//! Faults of a real collector: down when the service starts, killed mid-run and restarted.
//! The service keeps running, losses are counted, and export resumes by itself.

mod support;

use std::time::{Duration, Instant};

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

fn emit(name: &'static str, n: usize) {
    for i in 0..n {
        tracing::info_span!("work", otel.name = name, i).in_scope(|| tracing::info!("done"));
    }
}

fn count(c: &Collector, name: &str) -> usize {
    c.spans().iter().filter(|s| s["name"] == name).count()
}

/// Emits `name` spans and flushes until one arrives; returns how long that took.
fn until_delivered(guard: &tracewire::Guard, c: &Collector, name: &'static str) -> Duration {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        emit(name, 1);
        let _ = guard.flush();
        if count(c, name) > 0 {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} spans never arrived");
}

#[test]
fn collector_down_at_start_then_up_grpc_and_http() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let probe = Collector::start();
        let (g, h) = (probe.grpc_port, probe.http_port);
        drop(probe); // now nothing listens on g, h
        let mut collector = Collector::unstarted(g, h);
        let guard = to_collector(&collector, protocol, "down-at-start")
            .with_otlp_timeout(Duration::from_millis(500))
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        emit("while-down", 20);
        let _ = guard.flush();
        let stats = guard.stats();
        assert_eq!(
            stats.failed_spans, 20,
            "{protocol}: spans sent to nobody are counted: {stats:?}"
        );
        assert!(stats.failed_exports >= 1);

        collector.launch().unwrap();
        let took = until_delivered(&guard, &collector, "after-up");
        eprintln!("{protocol}: export resumed {took:?} after the collector came up");
        assert_eq!(count(&collector, "while-down"), 0);
        guard.shutdown().ok();
    }
}

#[test]
fn collector_restarted_export_resumes_within_5s() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let mut collector = Collector::start();
        let guard = to_collector(&collector, protocol, "restart")
            .with_otlp_timeout(Duration::from_millis(500))
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        until_delivered(&guard, &collector, "before-kill");

        collector.stop();
        emit("while-killed", 10);
        let _ = guard.flush();
        assert!(
            guard.stats().failed_spans >= 10,
            "{protocol}: {:?}",
            guard.stats()
        );

        collector.launch().unwrap();
        let took = until_delivered(&guard, &collector, "after-restart");
        eprintln!("{protocol}: export resumed {took:?} after the restart");
        assert!(
            took < Duration::from_secs(5),
            "{protocol}: resumed after {took:?}"
        );
        guard.shutdown().ok();
    }
}
