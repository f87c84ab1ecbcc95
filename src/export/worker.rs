//! The export task: waits for a full batch, the scheduled delay or a control message, then
//! drains the queue with up to `batch_max_concurrent_exports` requests in flight, each bounded by
//! the request timeout and, once shutdown begins, by its deadline (seen even mid-drain).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::queue::{Control, Delivery, Failure, Shared, Signal};
use crate::lock::LockExt as _;

/// The export task of one signal: runs until shutdown (or until every handle is gone), then
/// shuts the sink down. `warn`: this task logs the pipeline's drop warnings (one task per
/// pipeline does, so that a warning covers every signal once).
pub(super) async fn export_loop<S: Signal>(
    shared: Arc<Shared<S>>,
    mut exporter: S::Sink,
    delay: Duration,
    timeout: Duration,
    mut control: tokio::sync::mpsc::UnboundedReceiver<Control>,
    warn: bool,
) {
    let mut warned = DropWarning::default();
    // More work waits (the spool's backlog): come back at once rather than after the delay.
    let mut more = false;
    loop {
        if warn {
            warned.maybe_warn(&shared);
        }
        let msg = tokio::select! {
            _ = shared.batch_ready.notified() => None,
            _ = tokio::time::sleep(if more { Duration::ZERO } else { S::wake_every(&exporter, delay) }) => None,
            msg = control.recv() => Some(msg),
        };
        let warning = warn.then_some(&mut warned);
        match msg {
            None => {
                drain(&shared, &exporter, timeout, warning).await;
                more = false;
                if shared.deadline().is_none() {
                    // Half the delay at most: new batches wait behind it.
                    more = S::idle(&exporter, delay / 2).await;
                }
            }
            Some(Some(Control::Flush(reply))) => {
                drain(&shared, &exporter, timeout, warning).await;
                let _ = reply.send(());
            }
            Some(Some(Control::Shutdown(reply))) => {
                drain(&shared, &exporter, timeout, warning).await;
                S::shutdown(&mut exporter);
                let _ = reply.send(());
                return;
            }
            // Every sender is gone: the processor was dropped without a shutdown.
            Some(None) => {
                *shared.deadline.lock_or_recover() = Some(Instant::now() + timeout);
                drain(&shared, &exporter, timeout, warning).await;
                S::shutdown(&mut exporter);
                return;
            }
        }
    }
}

/// "Logged as a warning at most once per interval while they grow." (README, Failure behaviour)
#[derive(Default)]
struct DropWarning {
    /// Spans dropped as of the last warning.
    reported: u64,
    /// Spans spooled to disk as of the last warning.
    spooled: u64,
    at: Option<Instant>,
}

impl DropWarning {
    /// Warns, through the stack this pipeline serves, when more spans were dropped since the
    /// last warning and the interval has passed. The warning's own line cannot be dropped by
    /// the queue it reports on: it is a log line, not a span.
    fn maybe_warn<S: Signal>(&mut self, shared: &Shared<S>) {
        let stats = shared.counters.snapshot();
        let dropped = stats.dropped();
        let spooling = stats.spooled_spans > self.spooled;
        if (dropped <= self.reported && !spooling)
            || self.at.is_some_and(|t| t.elapsed() < shared.warn_interval)
        {
            return;
        }
        let Some(dispatch) = shared.warn_to.get().and_then(|w| w.upgrade()) else {
            return;
        };
        tracing::dispatcher::with_default(&dispatch, || {
            if dropped > self.reported {
                crate::stats::warn_lost!(
                    stats,
                    shared.counters.report(),
                    "spans are being dropped",
                    dropped_since_last_warning = dropped - self.reported,
                    failed_exports = stats.failed_exports,
                );
            } else {
                tracing::warn!(
                    target: "tracewire",
                    spooled_total = stats.spooled_spans,
                    spooled_since_last_warning = stats.spooled_spans - self.spooled,
                    waiting_in_spool = stats.spool_pending_spans,
                    report = shared.counters.report(),
                    "the collector cannot take spans: they wait in the disk spool"
                );
            }
        });
        self.reported = dropped;
        self.spooled = stats.spooled_spans;
        self.at = Some(Instant::now());
    }
}

/// How many items a request carried, and what became of them.
type Outcome = (u64, std::result::Result<Delivery, Failure>);

/// Exports everything queued, up to `concurrency` batches in flight (one for the file sink).
/// Once a shutdown deadline is set (also while this runs), each request is bounded by it; at the
/// deadline, requests in flight are abandoned (counted as timed out: the collector may have
/// them) and what is still queued is counted as dropped at shutdown.
///
/// `warning`: this task's drop warning, checked as requests finish and on its interval while
/// they hang: during an outage the queue never empties, so a drain can last as long as it does.
async fn drain<S: Signal>(
    shared: &Shared<S>,
    exporter: &S::Sink,
    timeout: Duration,
    mut warning: Option<&mut DropWarning>,
) {
    let max = if S::concurrent(exporter) {
        shared.concurrency
    } else {
        1
    };
    let mut in_flight: Vec<Pin<Box<dyn Future<Output = Outcome> + Send + '_>>> =
        Vec::with_capacity(max);
    let mut sizes: Vec<u64> = Vec::with_capacity(max);
    loop {
        if let Some(w) = warning.as_deref_mut() {
            w.maybe_warn(shared);
        }
        let deadline = shared.deadline();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            abandon(shared, &sizes);
            return;
        }
        while in_flight.len() < max {
            let mut batch = shared.take_batch();
            if batch.is_empty() {
                break;
            }
            S::prepare(&mut batch, &shared.prep);
            let n = batch.len() as u64;
            let limit = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(timeout),
                None => timeout,
            };
            sizes.push(n);
            in_flight.push(Box::pin(export_batch::<S>(
                exporter,
                batch,
                limit,
                &shared.diagnosis,
            )));
        }
        if in_flight.is_empty() {
            return;
        }
        if in_flight.len() >= max {
            spill_while_waiting(shared, exporter);
        }
        let done = std::future::poll_fn(|cx| {
            for (i, f) in in_flight.iter_mut().enumerate() {
                if let Poll::Ready(r) = f.as_mut().poll(cx) {
                    return Poll::Ready(Some((i, r)));
                }
            }
            Poll::Pending
        });
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                // Wakes when a shutdown sets the deadline in the middle of this drain.
                None => shared.deadline_set.notified().await,
            }
            None
        };
        // A hanging collector must not hold the warning back: wake on its interval.
        let next_warning = async {
            match warning {
                Some(_) => tokio::time::sleep(shared.warn_interval).await,
                None => std::future::pending().await,
            }
            None
        };
        // A full batch while every slot waits: time to look at the queue again (above).
        let batch_ready = async {
            if S::spills(exporter) {
                shared.batch_ready.notified().await;
            } else {
                std::future::pending::<()>().await;
            }
            None
        };
        let finished = tokio::select! {
            r = done => r,
            r = until_deadline => r,
            r = next_warning => r,
            r = batch_ready => r,
        };
        let Some((i, (n, outcome))) = finished else {
            continue;
        };
        drop(in_flight.swap_remove(i));
        sizes.swap_remove(i);
        shared.settle(n, outcome);
    }
}

/// Every export slot waits on the collector: with a disk spool, batches go to disk while the
/// queue is half full rather than overflow it.
fn spill_while_waiting<S: Signal>(shared: &Shared<S>, exporter: &S::Sink) {
    while S::spills(exporter) && shared.half_full() {
        let mut batch = shared.take_batch();
        if batch.is_empty() {
            break;
        }
        S::prepare(&mut batch, &shared.prep);
        let n = batch.len() as u64;
        let outcome = S::spill(exporter, batch).map_err(Failure::Failed);
        shared.settle(n, outcome);
    }
}

/// One export request bounded by `limit`; a failure is explained (the diagnosis may ask the
/// endpoint what it is) and sorted into "said no" and "did not answer".
async fn export_batch<S: Signal>(
    exporter: &S::Sink,
    batch: Vec<S::Item>,
    limit: Duration,
    diagnosis: &super::Diagnosis,
) -> Outcome {
    let n = batch.len() as u64;
    let started = Instant::now();
    let outcome = match tokio::time::timeout(limit, S::export(exporter, batch, limit)).await {
        Ok(Ok(delivery)) => Ok(delivery),
        Ok(Err(e)) => {
            let left = limit.saturating_sub(started.elapsed());
            let e = match diagnosis.explain(&e, left).await {
                Some(why) => e.with_reason(&why),
                None => e,
            };
            if e.is_timeout() {
                // No answer, not a no.
                Err(Failure::TimedOut(format!(
                    "{e} (the collector may still have received it)"
                )))
            } else {
                Err(Failure::Failed(e))
            }
        }
        Err(_) => Err(Failure::TimedOut(format!(
            "export timed out after {limit:?} (the collector may still have received it)"
        ))),
    };
    (n, outcome)
}

/// At the shutdown deadline: requests still in flight are timed out, the queue is dropped, each
/// counted.
fn abandon<S: Signal>(shared: &Shared<S>, in_flight: &[u64]) {
    let mut q = shared.queue.lock_or_recover();
    let tally = S::tally(&shared.counters);
    let flying: u64 = in_flight.iter().sum();
    if flying > 0 {
        tally.timed_out.fetch_add(flying, Ordering::Relaxed);
        tally.in_flight.fetch_sub(flying, Ordering::Relaxed);
        shared
            .counters
            .failed_exports
            .fetch_add(in_flight.len() as u64, Ordering::Relaxed);
        shared.counters.add_cause(
            super::counters::Cause::TimedOut,
            "export still in flight at the shutdown deadline (the collector may have received it)"
                .to_string(),
        );
    }
    tally
        .at_shutdown
        .fetch_add(q.items.len() as u64, Ordering::Relaxed);
    q.items.clear();
    q.sizes.clear();
    q.bytes = 0;
}
