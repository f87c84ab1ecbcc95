//! Memory is bounded in bytes, not spans: with the real collector stalled (SIGSTOP), 600 spans
//! each carrying a 256 KiB attribute, and a tail rule buffering 2,000 spans of 32 KiB, leave
//! the process's resident memory within a few tens of MiB of where it started; what does not fit
//! is counted. (Before: 3 → 1,128 MiB and 958 MiB.) Alone in its file: RSS is per process.

mod support;

use support::{Collector, rss_bytes, to_collector};
use tracewire::settings::Protocol;

const MIB: u64 = 1 << 20;

#[test]
fn queue_and_tail_buffer_hold_bytes_not_spans() {
    let collector = Collector::start();
    collector.pause();
    let big = "v".repeat(256 << 10);

    let before = rss_bytes();
    let guard = to_collector(&collector, Protocol::Grpc, "mem")
        .with_env([("TRACEWIRE_BATCH_MAX_QUEUE_BYTES", "2097152")])
        .with_shutdown_timeout(std::time::Duration::from_millis(300))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    for _ in 0..600 {
        tracing::info_span!("big", value = big.as_str()).in_scope(|| {});
    }
    let stats = guard.stats();
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        stats.dropped_queue_full > 0,
        "the byte budget was reached: {stats}"
    );
    assert_eq!(
        stats.exported_spans + stats.dropped() + stats.queued_spans,
        600,
        "{stats}"
    );
    assert!(grown < 48 * MIB, "queue: RSS grew {} MiB", grown / MIB);
    let _ = guard.shutdown();

    let before = rss_bytes();
    let guard = to_collector(&collector, Protocol::Grpc, "mem-tail")
        .with_env([
            ("TRACEWIRE_SAMPLING_RATE", "0"),
            ("TRACEWIRE_KEEP_ERRORS", "true"),
            ("TRACEWIRE_TAIL_MAX_BUFFERED_BYTES", "2097152"),
        ])
        .with_shutdown_timeout(std::time::Duration::from_millis(300))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let value = &big[..32 << 10];
    // One root held open (not sampled at rate 0): its 2,000 children wait in the tail buffer.
    let root = tracing::info_span!("root");
    root.in_scope(|| {
        for _ in 0..2_000 {
            tracing::info_span!("child", value).in_scope(|| {});
        }
    });
    let stats = guard.stats();
    let grown = rss_bytes().saturating_sub(before);
    assert!(
        stats.dropped_tail_buffer > 0,
        "the tail byte budget was reached: {stats}"
    );
    assert!(
        grown < 64 * MIB,
        "tail buffer: RSS grew {} MiB",
        grown / MIB
    );
    drop(root);
    let _ = guard.shutdown();
}
