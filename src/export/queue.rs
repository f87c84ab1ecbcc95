//! The bounded queue between the callers' threads and the export task, and the handle callers
//! push through.
//!
//! One lock guards the queue, and every change of an item's state (queued, in flight, exported,
//! failed, dropped) is counted under it, so that a [`Stats`](super::Stats) snapshot always adds
//! up. The queue is bounded twice, by items and by estimated bytes, and allocated once at its
//! bound: a long outage fills it, never grows it.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use tokio::sync::Notify;

use super::Diagnosis;
use super::counters::{Cause, Counters, Tally};
use crate::lock::LockExt as _;
use crate::redact::Redactor;
use crate::stats::Stats;

/// A kind of telemetry the pipeline carries: spans, and log records with the `logs` feature.
/// Queueing, batching, timeouts and counting are the same for both; this is what differs.
pub(crate) trait Signal: Send + Sync + 'static {
    type Item: Send + 'static;
    type Sink: Send + Sync + 'static;
    /// Called on the caller's thread before the item is queued: bounds its strings and size,
    /// and returns the bytes it holds, for the queue's byte budget (an estimate that errs high).
    fn limit(item: &mut Self::Item, max_len: usize) -> usize;
    /// Called on the export task, just before export, with the whole batch.
    fn prepare(batch: &mut [Self::Item], prep: &Prep);
    /// Exports `batch`; `limit` is how long the caller waits for it.
    fn export(
        sink: &Self::Sink,
        batch: Vec<Self::Item>,
        limit: Duration,
    ) -> impl Future<Output = std::result::Result<Delivery, super::failure::ExportError>> + Send;
    /// How long the export task may sleep between two drains (the scheduled delay, shorter
    /// while a disk spool is taking what the collector cannot, to keep little in memory).
    fn wake_every(_sink: &Self::Sink, delay: Duration) -> Duration {
        delay
    }
    /// Whether [`spill`](Signal::spill) can take batches (a disk spool).
    fn spills(_sink: &Self::Sink) -> bool {
        false
    }
    /// Sets a batch aside without exporting it (to the disk spool), when the queue fills while
    /// every export slot waits on the collector.
    fn spill(
        _sink: &Self::Sink,
        _batch: Vec<Self::Item>,
    ) -> std::result::Result<Delivery, super::failure::ExportError> {
        unreachable!("only called when spills() says so")
    }
    /// Called on the export task's ticks when no shutdown is under way: work that may wait
    /// (replaying the disk spool), for up to `budget`; `true` when more is waiting (the task
    /// comes back at once instead of sleeping).
    fn idle(_sink: &Self::Sink, _budget: Duration) -> impl Future<Output = bool> + Send {
        std::future::ready(false)
    }
    fn shutdown(sink: &mut Self::Sink);
    /// Whether several export requests may be in flight at once (network sinks: a collector's
    /// round trip, not our CPU, bounds one request at a time).
    fn concurrent(_sink: &Self::Sink) -> bool {
        false
    }
    /// Where this signal's items are counted.
    fn tally(c: &Counters) -> Tally<'_>;
}

/// What became of an export request that did not fail.
#[derive(Debug)]
pub(crate) enum Delivery {
    Sent,
    /// Not sent: the file sink reached `file_max_bytes`.
    SinkFull,
    /// Accepted but for `rejected` items, with the collector's reason (OTLP partial success).
    #[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
    Partial {
        rejected: u64,
        message: String,
    },
    /// Not sent now: written to the disk spool, to be sent when the collector answers.
    #[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
    Spooled {
        reason: String,
    },
}

/// What `limit` and `prepare` need from the settings.
pub(crate) struct Prep {
    pub(crate) redactor: Redactor,
    pub(crate) max_len: usize,
    pub(crate) drop_plain_events: bool,
    /// The OTLP protocol in use, to say what a failed export suggests (wrong protocol?).
    pub(crate) protocol: Option<crate::settings::Protocol>,
}

/// Export requests carry at most this many bytes (by [`prepare::limit`]'s estimate) besides the
/// span count bound: with [`prepare::SPAN_MAX_BYTES`] per span, every request stays under the
/// 4 MiB a gRPC server accepts by default.
const BATCH_MAX_BYTES: usize = 2 << 20;

pub(super) enum Control {
    Flush(mpsc::Sender<()>),
    Shutdown(mpsc::Sender<()>),
}

/// The bounded queue: at most `max_queue` items and `max_bytes` bytes. Sizes are kept beside
/// the items rather than with them, so that an item is moved into the queue once.
pub(super) struct Queue<T> {
    pub(super) items: std::collections::VecDeque<T>,
    pub(super) sizes: std::collections::VecDeque<usize>,
    pub(super) bytes: usize,
}

pub(super) struct Shared<S: Signal> {
    pub(super) queue: Mutex<Queue<S::Item>>,
    pub(super) max_queue: usize,
    pub(super) max_bytes: usize,
    pub(super) max_batch: usize,
    /// Export requests in flight at once, for sinks that allow it.
    pub(super) concurrency: usize,
    pub(super) batch_ready: Notify,
    /// Set by `shutdown`: the export task finishes by then, whatever it is doing.
    pub(super) deadline: Mutex<Option<Instant>>,
    pub(super) deadline_set: Notify,
    pub(super) counters: Arc<Counters>,
    pub(super) prep: Prep,
    /// Where drop warnings go: the stack this pipeline serves, set once it exists.
    pub(super) warn_to: super::WarnTo,
    pub(super) warn_interval: Duration,
    /// Says more about a failed export than the exporter does.
    pub(super) diagnosis: Diagnosis,
}

impl<S: Signal> Shared<S> {
    pub(super) fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock_or_recover()
    }

    /// Up to `max_batch` items and [`BATCH_MAX_BYTES`] bytes (at least one item), counted as in
    /// flight.
    pub(super) fn take_batch(&self) -> Vec<S::Item> {
        let mut q = self.queue.lock_or_recover();
        let (mut n, mut bytes) = (0, 0);
        for &size in q.sizes.iter() {
            if n == self.max_batch || (n > 0 && bytes + size > BATCH_MAX_BYTES) {
                break;
            }
            n += 1;
            bytes += size;
        }
        q.sizes.drain(..n);
        q.bytes -= bytes;
        // Moved once, straight into the batch (popping one by one moved each span twice).
        let batch: Vec<S::Item> = q.items.drain(..n).collect();
        S::tally(&self.counters)
            .in_flight
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch
    }

    /// Whether the queue holds half of what it may (by count or bytes).
    pub(super) fn half_full(&self) -> bool {
        let q = self.queue.lock_or_recover();
        q.items.len() * 2 >= self.max_queue || q.bytes * 2 >= self.max_bytes
    }

    /// Settles `n` items that were in flight, under the queue's lock (see `push`).
    pub(super) fn settle(&self, n: u64, outcome: std::result::Result<Delivery, Failure>) {
        let _q = self.queue.lock_or_recover();
        let tally = S::tally(&self.counters);
        let c = &self.counters;
        match outcome {
            Ok(Delivery::Sent) => {
                tally.exported.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Delivery::SinkFull) => {
                tally.sink_full.fetch_add(n, Ordering::Relaxed);
            }
            // Counted as spooled by the spool itself, when it wrote them.
            Ok(Delivery::Spooled { reason }) => {
                c.set_cause(Cause::Spooled, reason);
            }
            Ok(Delivery::Partial { rejected, message }) => {
                let rejected = rejected.min(n);
                tally.exported.fetch_add(n - rejected, Ordering::Relaxed);
                tally.failed.fetch_add(rejected, Ordering::Relaxed);
                if rejected > 0 {
                    c.failed_exports.fetch_add(1, Ordering::Relaxed);
                }
                c.set_cause(
                    Cause::Failed,
                    format!(
                        "the collector rejected {rejected} of {n}: {}",
                        if message.is_empty() {
                            "no reason given"
                        } else {
                            &message
                        }
                    ),
                );
            }
            Err(Failure::Failed(e)) => {
                tally.failed.fetch_add(n, Ordering::Relaxed);
                c.failed_exports.fetch_add(1, Ordering::Relaxed);
                c.set_cause(Cause::Failed, with_hint(&e, self.prep.protocol));
            }
            Err(Failure::TimedOut(e)) => {
                tally.timed_out.fetch_add(n, Ordering::Relaxed);
                c.failed_exports.fetch_add(1, Ordering::Relaxed);
                c.set_cause(Cause::TimedOut, e);
            }
        }
        tally.in_flight.fetch_sub(n, Ordering::Relaxed);
    }

    /// Queued and in flight, with every counter, read under the queue's lock: they add up.
    pub(super) fn snapshot(&self) -> Stats {
        let q = self.queue.lock_or_recover();
        let mut stats = self.counters.raw_snapshot();
        stats.queued_spans += q.items.len() as u64;
        stats
    }
}

impl<S: Signal> std::fmt::Debug for Shared<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("max_queue", &self.max_queue)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// The caller's side of a pipeline: push onto the bounded queue, ask the task to flush or stop.
pub(crate) struct Handle<S: Signal> {
    pub(super) shared: Arc<Shared<S>>,
    pub(super) control: tokio::sync::mpsc::UnboundedSender<Control>,
}

impl<S: Signal> std::fmt::Debug for Handle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("shared", &self.shared)
            .finish()
    }
}

impl<S: Signal> Handle<S> {
    /// Bounds `item`, then queues it, or counts it as dropped when the queue is full by count
    /// or by bytes. Inlined: a span is ~300 bytes, and each call boundary would copy it again.
    #[inline(always)]
    pub(super) fn push(&self, mut item: S::Item) {
        let size = S::limit(&mut item, self.shared.prep.max_len);
        let tally = S::tally(&self.shared.counters);
        let mut queue = self.shared.queue.lock_or_recover();
        if queue.items.len() >= self.shared.max_queue || queue.bytes + size > self.shared.max_bytes
        {
            // Counted under the queue's lock, as every change of a span's state is, so that a
            // snapshot (taken under it too) always adds up.
            tally.queue_full.fetch_add(1, Ordering::Relaxed);
            return;
        }
        queue.bytes += size;
        queue.items.push_back(item);
        queue.sizes.push_back(size);
        let ready = queue.items.len() == self.shared.max_batch;
        drop(queue);
        if ready {
            self.shared.batch_ready.notify_one();
        }
    }

    pub(super) fn flush(&self) -> OTelSdkResult {
        let (tx, rx) = mpsc::channel();
        self.control
            .send(Control::Flush(tx))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        rx.recv().map_err(|_| OTelSdkError::AlreadyShutdown)
    }

    pub(super) fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        // Seen by the export task even in the middle of a drain: it stops by the deadline.
        *self.shared.deadline.lock_or_recover() = Some(deadline);
        self.shared.deadline_set.notify_one();
        let (tx, rx) = mpsc::channel();
        self.control
            .send(Control::Shutdown(tx))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        // The task bounds itself by `deadline`; this margin only covers a task that is stuck
        // inside a non-cooperative exporter (a blocking call in its shutdown).
        rx.recv_timeout(timeout + SHUTDOWN_MARGIN)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

/// How long past `shutdown_timeout_ms` shutdown may take at most (measured: the export task
/// answers within a few milliseconds of the deadline; see README "Failure behaviour").
pub(crate) const SHUTDOWN_MARGIN: Duration = Duration::from_millis(200);

/// Why an export did not deliver: an answer that said no, or no answer in time.
pub(super) enum Failure {
    Failed(super::failure::ExportError),
    TimedOut(String),
}

/// An export error, with what it suggests when it means the wrong protocol for the port.
fn with_hint(
    error: &super::failure::ExportError,
    protocol: Option<crate::settings::Protocol>,
) -> String {
    match protocol.and_then(|p| error.protocol_hint(p)) {
        Some(hint) => format!("{error} ({hint})"),
        None => error.to_string(),
    }
}
