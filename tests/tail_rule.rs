//! The tail rule against a real collector: with 0% head sampling, traces with an error or a
//! slow local root are exported whole; the others are not; the buffer is bounded and counted.

mod support;

use std::time::Duration;

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

fn trace(root: &'static str, error: bool, sleep: Duration) {
    tracing::info_span!("root", otel.name = root).in_scope(|| {
        tracing::info_span!("child").in_scope(|| {
            if error {
                tracing::error!("payment failed");
            }
        });
        std::thread::sleep(sleep);
    });
}

#[test]
fn errors_and_slow_traces_are_kept_whatever_the_head_sampler_said() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::Grpc, "tail")
        .with_env([
            ("TRACEWIRE_SAMPLING_RATE", "0"),
            ("TRACEWIRE_KEEP_ERRORS", "true"),
            ("TRACEWIRE_SLOW_THRESHOLD_MS", "300"),
        ])
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    trace("fast_ok", false, Duration::ZERO);
    trace("fast_error", true, Duration::ZERO);
    trace("slow_ok", false, Duration::from_millis(400));
    let stats = guard.stats();
    guard.shutdown().expect("delivered");

    let spans = collector.wait_for_spans(4, Duration::from_secs(10));
    let mut roots: Vec<&str> = spans
        .iter()
        .filter(|s| s["parent_span_id"] == "")
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    roots.sort();
    assert_eq!(roots, ["fast_error", "slow_ok"], "{spans:#?}");
    assert_eq!(
        spans.len(),
        4,
        "each kept trace arrives whole (root + child)"
    );
    for s in &spans {
        assert_eq!(
            s["flags"].as_u64().unwrap() & 1,
            1,
            "exported spans are marked sampled"
        );
    }
    let err_child = spans
        .iter()
        .find(|s| s["name"] == "child" && s["status"]["code"] == "ERROR");
    assert!(err_child.is_some(), "{spans:#?}");
    assert_eq!(stats.dropped(), 0);
}

#[test]
fn the_buffer_is_bounded_and_overflow_is_counted() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::HttpProtobuf, "tail-cap")
        .with_env([
            ("TRACEWIRE_SAMPLING_RATE", "0"),
            ("TRACEWIRE_KEEP_ERRORS", "true"),
            ("TRACEWIRE_TAIL_MAX_BUFFERED_SPANS", "2"),
        ])
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    tracing::info_span!("big").in_scope(|| {
        for _ in 0..5 {
            tracing::info_span!("child").in_scope(|| {});
        }
        tracing::error!("failed");
    });
    let stats = guard.stats();
    let _ = guard.shutdown();
    assert_eq!(stats.dropped_tail_buffer, 3, "{stats:?}");
    let spans = collector.wait_for_spans(3, Duration::from_secs(10));
    assert_eq!(spans.len(), 3, "the root and the two children that fit");
}
