//! [`Stats`]: what happened to every finished span, the public snapshot of the export side's
//! counters, and its one report, which the drop warning, the shutdown error and the guard's Drop
//! all print. A leaf: the error type carries the final `Stats`, and the export side fills them.

use std::fmt;

/// Counters of what happened to finished spans since `init()`.
///
/// ```
/// let stats = tracewire::Stats::default();
/// assert_eq!(stats.dropped(), 0);
/// assert_eq!(stats.to_string(), "0 spans delivered, 0 not delivered, 0 still queued");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Spans the exporter (collector or file) accepted.
    pub exported_spans: u64,
    /// Spans dropped because the queue was full (`batch_max_queue_size` spans or
    /// `batch_max_queue_bytes` bytes).
    pub dropped_queue_full: u64,
    /// Spans dropped because the file sink reached `file_max_bytes`.
    pub dropped_file_cap: u64,
    /// Spans in export requests that failed (an error answer, a refused connection).
    pub failed_spans: u64,
    /// Export requests that failed or timed out.
    pub failed_exports: u64,
    /// Spans in export requests that got no answer within `otlp_timeout_ms` (or before the
    /// shutdown deadline): not confirmed, though the collector may have received them.
    pub timed_out_spans: u64,
    /// Spans still queued when the shutdown deadline (`shutdown_timeout_ms`) passed.
    pub dropped_at_shutdown: u64,
    /// Spans dropped because the tail rule's buffer was full (`tail_max_buffered_spans` spans
    /// or `tail_max_buffered_bytes` bytes).
    pub dropped_tail_buffer: u64,
    /// Spans handed to the pipeline and not yet settled: queued or in an export in flight.
    pub queued_spans: u64,
    /// Log records the collector accepted (`logs_enabled`).
    pub exported_logs: u64,
    /// Log records lost: queue full, failed or timed-out exports, or left at shutdown.
    pub dropped_logs: u64,
    /// Metric exports (one per interval, and the last one at shutdown) the exporter accepted.
    pub exported_metric_batches: u64,
    /// Metric exports that failed or timed out: with cumulative temporality (the default) the
    /// next export carries their totals again; with delta, that interval is lost.
    pub failed_metric_batches: u64,
    /// Spans written to the disk spool (`spool_dir`) because the collector could not take them.
    pub spooled_spans: u64,
    /// Spans delivered from the spool, also ones an earlier process spooled.
    pub replayed_spans: u64,
    /// Spans the spool lost: its oldest dropped when `spool_max_bytes` was reached, records cut
    /// short by a crash or corrupt on disk, or refused by the collector on replay.
    pub dropped_spool: u64,
    /// Spans in the spool, waiting for the collector.
    pub spool_pending_spans: u64,
    /// Traces kept because a callee's `traceresponse` said it kept them (deferred sampling).
    pub traces_promoted: u64,
    /// Callees' "keep this trace" refused: over `traceresponse_max_promotions_per_second`, or
    /// arrived after the trace's local root ended unkept.
    pub promotions_refused: u64,
}

impl Stats {
    /// All spans that were lost (or not confirmed), whatever the reason.
    ///
    /// ```
    /// # let stats = tracewire::Stats::default();
    /// if stats.dropped() > 0 { eprintln!("lost {} spans", stats.dropped()); }
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_file_cap
            + self.failed_spans
            + self.timed_out_spans
            + self.dropped_at_shutdown
            + self.dropped_tail_buffer
            + self.dropped_spool
    }
}

/// `N spans delivered, M not delivered (… by cause …), Q still queued`: the same words in the
/// drop warning, the shutdown error and the guard's Drop message.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} spans delivered, {} not delivered",
            self.exported_spans,
            self.dropped()
        )?;
        let causes = [
            (self.dropped_queue_full, "queue full"),
            (self.dropped_file_cap, "file sink full"),
            (self.failed_spans, "failed"),
            (self.timed_out_spans, "timed out: may have arrived"),
            (
                self.dropped_at_shutdown,
                "left in the queue at the shutdown deadline",
            ),
            (self.dropped_tail_buffer, "tail buffer full"),
            (self.dropped_spool, "lost from the disk spool"),
        ];
        let mut first = true;
        for (n, cause) in causes.into_iter().filter(|(n, _)| *n > 0) {
            f.write_str(if first { " (" } else { ", " })?;
            first = false;
            write!(f, "{n} {cause}")?;
        }
        if !first {
            f.write_str(")")?;
        }
        write!(f, ", {} still queued", self.queued_spans)?;
        if self.spooled_spans + self.replayed_spans + self.spool_pending_spans > 0 {
            write!(
                f,
                "; disk spool: {} spooled, {} replayed, {} waiting",
                self.spooled_spans, self.replayed_spans, self.spool_pending_spans
            )?;
        }
        if self.failed_exports > 0 {
            write!(f, "; {} export requests failed", self.failed_exports)?;
        }
        if self.traces_promoted + self.promotions_refused > 0 {
            write!(
                f,
                "; traces kept on a callee's traceresponse: {} ({} refused)",
                self.traces_promoted, self.promotions_refused
            )?;
        }
        if self.exported_logs + self.dropped_logs > 0 {
            write!(
                f,
                "; log records: {} delivered, {} not delivered",
                self.exported_logs, self.dropped_logs
            )?;
        }
        if self.exported_metric_batches + self.failed_metric_batches > 0 {
            write!(
                f,
                "; metric exports: {} delivered, {} failed",
                self.exported_metric_batches, self.failed_metric_batches
            )?;
        }
        Ok(())
    }
}

/// `tracing::warn!` of lost spans with the fields every such warning carries (the total and each
/// cause, then the report), so that the drop warning and the shutdown warning name them alike;
/// `$k = $v` are the warning's own fields.
macro_rules! warn_lost {
    ($stats:expr, $report:expr, $message:literal $(, $k:ident = $v:expr)* $(,)?) => {
        tracing::warn!(
            target: "tracewire",
            dropped_total = $stats.dropped(),
            $($k = $v,)*
            queue_full = $stats.dropped_queue_full,
            file_sink_full = $stats.dropped_file_cap,
            failed = $stats.failed_spans,
            timed_out = $stats.timed_out_spans,
            report = $report,
            $message
        )
    };
}
pub(crate) use warn_lost;
