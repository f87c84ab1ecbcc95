//! The tail rule under abuse, against a real collector: one trace whose local root never ends
//! keeps adding children past `tail_max_buffered_spans`, yet every error trace that comes after
//! it arrives whole (before: 12 of 100 spans); and a root held open without being entered again
//! is as slow as its close says (before: measured to its last exit, not kept).

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

const ERROR_TRACES: usize = 20;
const SPANS_PER_TRACE: usize = 100;

#[test]
fn a_runaway_trace_cannot_starve_the_others() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::Grpc, "tail-abuse")
        .with_env([
            ("TRACEWIRE_SAMPLING_RATE", "0"),
            ("TRACEWIRE_KEEP_ERRORS", "true"),
            ("TRACEWIRE_SLOW_THRESHOLD_MS", "50"),
            ("TRACEWIRE_TAIL_MAX_BUFFERED_SPANS", "1000"),
        ])
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();

    // A root that never ends (a leaked handle, a loop span), whose children keep coming.
    let runaway = tracing::info_span!("runaway");
    for _ in 0..5_000 {
        tracing::info_span!(parent: &runaway, "spin").in_scope(|| {});
    }
    let mut error_roots = Vec::new();
    for t in 0..ERROR_TRACES {
        // More of the runaway between the error traces.
        for _ in 0..200 {
            tracing::info_span!(parent: &runaway, "spin").in_scope(|| {});
        }
        tracing::info_span!("request", t).in_scope(|| {
            error_roots.push(tracewire::propagation::current_trace_id().unwrap());
            for i in 1..SPANS_PER_TRACE {
                tracing::info_span!("step", i).in_scope(|| {
                    if i == SPANS_PER_TRACE / 2 {
                        tracing::error!("payment failed");
                    }
                });
            }
        });
    }

    // Entered once, then held open while (say) spawned work runs: slow by its close.
    let held = tracing::info_span!("held_open");
    held.in_scope(|| {});
    std::thread::sleep(Duration::from_millis(80));
    drop(held);

    let stats = guard.stats();
    assert!(
        stats.dropped_tail_buffer > 0,
        "the runaway was cut: {stats}"
    );
    // Closing it now decides it (slow: it is kept, with the children the buffer still holds).
    drop(runaway);
    let err = guard
        .shutdown()
        .expect_err("the runaway's refused spans are reported");
    let text = err.to_string();
    assert!(text.contains("tail buffer full)"), "the only loss: {text}");

    let want = ERROR_TRACES * SPANS_PER_TRACE + 1;
    let spans = collector.wait_for_spans(want, Duration::from_secs(20));
    let mut per_trace: HashMap<&str, usize> = HashMap::new();
    for s in &spans {
        *per_trace
            .entry(s["trace_id"].as_str().unwrap())
            .or_default() += 1;
    }
    for (t, id) in error_roots.iter().enumerate() {
        assert_eq!(
            per_trace.get(id.as_str()).copied().unwrap_or(0),
            SPANS_PER_TRACE,
            "error trace {t} arrived whole"
        );
    }
    assert!(
        spans.iter().any(|s| s["name"] == "held_open"),
        "a root held open 80 ms is slow (threshold 50 ms)"
    );
}
