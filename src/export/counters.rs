//! What happened to every finished span: the counters the export side keeps, read as
//! [`Stats`], and the report with each loss's cause.
//!
//! The accounting is exact: at any moment, the sampled spans handed to the pipeline equal
//! `exported + dropped() + queued`, each loss with its cause; with the disk spool,
//! `exported + (dropped() − dropped_spool) + queued + spooled`, and on the spool's side what was
//! spooled (here or by an earlier process) is `replayed + dropped_spool + waiting`. A request that got no answer in
//! time is counted apart from one that failed: the collector may still have received it.

use crate::lock::LockExt as _;
use std::fmt;

use crate::stats::Stats;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The live counters behind [`Stats`], shared by the processor, the export task and the guard.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) exported: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_file_cap: AtomicU64,
    pub(crate) failed_spans: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
    pub(crate) timed_out_spans: AtomicU64,
    pub(crate) dropped_at_shutdown: AtomicU64,
    pub(crate) dropped_tail_buffer: AtomicU64,
    /// Spans taken from the queue into an export request not yet settled.
    pub(crate) in_flight: AtomicU64,
    pub(crate) exported_logs: AtomicU64,
    pub(crate) failed_logs: AtomicU64,
    pub(crate) dropped_logs_queue_full: AtomicU64,
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    pub(crate) logs_in_flight: AtomicU64,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) exported_metric_batches: AtomicU64,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) failed_metric_batches: AtomicU64,
    pub(crate) spooled: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) dropped_spool: AtomicU64,
    pub(crate) spool_pending: AtomicU64,
    pub(crate) traces_promoted: AtomicU64,
    pub(crate) promotions_refused: AtomicU64,
    /// Reads every counter with the span queue's length under the queue's lock (set once the
    /// span pipeline exists), so that a snapshot always adds up.
    pub(crate) consistent: std::sync::OnceLock<ConsistentSnapshot>,
    pub(crate) last_error: Mutex<Option<String>>,
    /// The latest reason of each loss category, for the report.
    causes: Mutex<Causes>,
}

/// The latest reason behind each way spans went undelivered.
#[derive(Default)]
struct Causes {
    failed: Option<String>,
    timed_out: Option<String>,
    spooled: Option<String>,
}

/// A category of undelivered spans, for [`Counters::set_cause`].
#[derive(Clone, Copy)]
pub(crate) enum Cause {
    Failed,
    TimedOut,
    Spooled,
}

/// Reads the counters under the span queue's lock; `None` once the pipeline is gone.
pub(crate) type ConsistentSnapshot = Box<dyn Fn() -> Option<Stats> + Send + Sync>;

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counters")
            .field("stats", &self.raw_snapshot())
            .finish_non_exhaustive()
    }
}

/// Which counters one signal (spans, log records) settles its items in.
pub(crate) struct Tally<'a> {
    pub(crate) exported: &'a AtomicU64,
    pub(crate) failed: &'a AtomicU64,
    pub(crate) timed_out: &'a AtomicU64,
    pub(crate) queue_full: &'a AtomicU64,
    pub(crate) sink_full: &'a AtomicU64,
    pub(crate) at_shutdown: &'a AtomicU64,
    pub(crate) in_flight: &'a AtomicU64,
}

impl Counters {
    /// The most recent export failure, for the shutdown report.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock_or_recover().clone()
    }

    pub(crate) fn set_last_error(&self, e: String) {
        *self.last_error.lock_or_recover() = Some(e);
    }

    /// Records why spans went undelivered in `cause`'s way (and as the last export error).
    pub(crate) fn set_cause(&self, cause: Cause, e: String) {
        self.cause(cause, e, true);
    }

    /// As [`set_cause`](Self::set_cause), but a reason already known is kept: "still in flight
    /// at the shutdown deadline" says less than the timeout that came before it.
    pub(crate) fn add_cause(&self, cause: Cause, e: String) {
        self.cause(cause, e, false);
    }

    fn cause(&self, cause: Cause, e: String, replace: bool) {
        {
            let mut c = self.causes.lock_or_recover();
            let slot = match cause {
                Cause::Failed => &mut c.failed,
                Cause::TimedOut => &mut c.timed_out,
                Cause::Spooled => &mut c.spooled,
            };
            if replace || slot.is_none() {
                *slot = Some(e.clone());
            }
        }
        self.set_last_error(e);
    }

    /// Every counter, consistently (see [`Counters::consistent`]).
    pub(crate) fn snapshot(&self) -> Stats {
        self.consistent
            .get()
            .and_then(|f| f())
            .unwrap_or_else(|| self.raw_snapshot())
    }

    /// The counters as they are; `queued_spans` holds only the spans in flight.
    pub(crate) fn raw_snapshot(&self) -> Stats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            exported_spans: get(&self.exported),
            dropped_queue_full: get(&self.dropped_queue_full),
            dropped_file_cap: get(&self.dropped_file_cap),
            failed_spans: get(&self.failed_spans),
            failed_exports: get(&self.failed_exports),
            timed_out_spans: get(&self.timed_out_spans),
            dropped_at_shutdown: get(&self.dropped_at_shutdown),
            dropped_tail_buffer: get(&self.dropped_tail_buffer),
            queued_spans: get(&self.in_flight),
            exported_logs: get(&self.exported_logs),
            dropped_logs: get(&self.failed_logs) + get(&self.dropped_logs_queue_full),
            exported_metric_batches: get(&self.exported_metric_batches),
            failed_metric_batches: get(&self.failed_metric_batches),
            spooled_spans: get(&self.spooled),
            replayed_spans: get(&self.replayed),
            dropped_spool: get(&self.dropped_spool),
            spool_pending_spans: get(&self.spool_pending),
            traces_promoted: get(&self.traces_promoted),
            promotions_refused: get(&self.promotions_refused),
        }
    }

    /// The full report: counts by cause, the latest reason of each way spans went
    /// undelivered, and the last export error when none of those says it.
    pub(crate) fn report(&self) -> String {
        let stats = self.snapshot();
        let mut text = stats.to_string();
        let mut said = Vec::new();
        {
            let c = self.causes.lock_or_recover();
            for (n, label, why) in [
                (stats.failed_spans, "failed", &c.failed),
                (stats.timed_out_spans, "timed out", &c.timed_out),
                (stats.spooled_spans, "spooled", &c.spooled),
            ] {
                if let (true, Some(why)) = (n > 0, why) {
                    text.push_str(&format!("; {label} because: {why}"));
                    said.push(why.clone());
                }
            }
        }
        if let Some(e) = self.last_error().filter(|e| !said.contains(e)) {
            text.push_str("; last export error: ");
            text.push_str(&e);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_why_for_each_kind_of_loss() {
        let c = Counters::default();
        c.failed_spans.store(5, Ordering::Relaxed);
        c.timed_out_spans.store(7, Ordering::Relaxed);
        c.set_cause(Cause::Failed, "HTTP export failed: 503".into());
        c.set_cause(Cause::TimedOut, "no answer within 10s".into());
        c.add_cause(
            Cause::TimedOut,
            "export still in flight at the shutdown deadline".into(),
        );
        let r = c.report();
        assert!(r.contains("failed because: HTTP export failed: 503"), "{r}");
        assert!(r.contains("timed out because: no answer within 10s"), "{r}");
        assert!(
            r.ends_with("last export error: export still in flight at the shutdown deadline"),
            "{r}"
        );
    }

    #[test]
    fn the_report_names_every_cause_that_happened() {
        let s = Stats {
            exported_spans: 10,
            dropped_queue_full: 2,
            timed_out_spans: 3,
            dropped_at_shutdown: 4,
            failed_exports: 1,
            queued_spans: 0,
            ..Stats::default()
        };
        assert_eq!(s.dropped(), 9);
        assert_eq!(
            s.to_string(),
            "10 spans delivered, 9 not delivered (2 queue full, 3 timed out: may have arrived, \
             4 left in the queue at the shutdown deadline), 0 still queued; 1 export requests failed"
        );
    }
}
