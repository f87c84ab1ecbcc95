//! Export: a bounded queue on the caller's side, one export task on a small runtime that
//! tracewire owns, and counters for everything that did not arrive.
//!
//! The runtime is tracewire's own so that `init()` works the same from a plain `main`, a
//! multi-thread runtime and a `current_thread` runtime (whose single thread may be blocked
//! exactly when an export needs to make progress), and so that shutdown can be bounded.

mod file;
#[cfg(feature = "http-proto")]
mod http_client;
#[cfg(feature = "logs")]
pub(crate) mod log_records;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod otlp;
mod prepare;
mod stats;
pub(crate) mod tail;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::task::Poll;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
#[cfg(any(feature = "grpc", feature = "http-proto"))]
use opentelemetry_sdk::trace::SpanExporter as _;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use tokio::sync::Notify;

use crate::error::{Error, ErrorKind, Result};
use crate::redact::Redactor;
use crate::settings::{Export, Settings};
use file::FileSink;
pub(crate) use stats::Counters;
pub use stats::Stats;
use stats::Tally;

/// Where the test kit collects finished spans.
pub(crate) type MemorySink = Arc<Mutex<Vec<SpanData>>>;

// One per pipeline, built once: boxing the exporter would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum SpanSink {
    #[cfg(any(feature = "grpc", feature = "http-proto"))]
    Otlp(opentelemetry_otlp::SpanExporter),
    File(FileSink),
    Memory(MemorySink),
}

/// A kind of telemetry the pipeline carries: spans, and log records with the `logs` feature.
/// Queueing, batching, timeouts and counting are the same for both; this is what differs.
pub(crate) trait Signal: Send + Sync + 'static {
    type Item: Send + 'static;
    type Sink: Send + Sync + 'static;
    /// Called on the caller's thread before the item is queued: bounds its strings and size,
    /// and returns the bytes it holds, for the queue's byte budget (an estimate that errs high).
    fn limit(item: &mut Self::Item, max_len: usize) -> usize;
    /// Called on the export task, just before export.
    fn prepare(item: &mut Self::Item, prep: &Prep);
    fn export(
        sink: &Self::Sink,
        batch: Vec<Self::Item>,
    ) -> impl Future<Output = std::result::Result<Delivery, String>> + Send;
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
pub(crate) enum Delivery {
    Sent,
    /// Not sent: the file sink reached `file_max_bytes`.
    SinkFull,
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

pub(crate) struct Spans;

impl Signal for Spans {
    type Item = SpanData;
    type Sink = SpanSink;

    fn limit(span: &mut SpanData, max_len: usize) -> usize {
        prepare::limit(span, max_len)
    }

    fn prepare(span: &mut SpanData, prep: &Prep) {
        prepare::prepare(span, &prep.redactor);
        if prep.drop_plain_events {
            // With OTLP logs on, events travel as log records; exceptions stay on the span.
            span.events.events.retain(|e| e.name == "exception");
        }
    }

    async fn export(
        sink: &SpanSink,
        batch: Vec<SpanData>,
    ) -> std::result::Result<Delivery, String> {
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(e) => e
                .export(batch)
                .await
                .map(|()| Delivery::Sent)
                .map_err(|e| e.to_string()),
            SpanSink::File(f) => f.write(batch).map(|written| {
                if written {
                    Delivery::Sent
                } else {
                    Delivery::SinkFull
                }
            }),
            SpanSink::Memory(m) => {
                m.lock().unwrap_or_else(|p| p.into_inner()).extend(batch);
                Ok(Delivery::Sent)
            }
        }
    }

    fn shutdown(sink: &mut SpanSink) {
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(e) => {
                let _ = e.shutdown();
            }
            SpanSink::File(f) => f.close(),
            SpanSink::Memory(_) => {}
        }
    }

    fn tally(c: &Counters) -> Tally<'_> {
        Tally {
            exported: &c.exported,
            failed: &c.failed_spans,
            timed_out: &c.timed_out_spans,
            queue_full: &c.dropped_queue_full,
            sink_full: &c.dropped_file_cap,
            at_shutdown: &c.dropped_at_shutdown,
            in_flight: &c.in_flight,
        }
    }

    fn concurrent(sink: &SpanSink) -> bool {
        !matches!(sink, SpanSink::File(_) | SpanSink::Memory(_))
    }
}

enum Control {
    Flush(mpsc::Sender<()>),
    Shutdown(mpsc::Sender<()>),
}

/// The bounded queue: at most `max_queue` items and `max_bytes` bytes. Sizes are kept beside
/// the items rather than with them, so that an item is moved into the queue once.
struct Queue<T> {
    items: std::collections::VecDeque<T>,
    sizes: std::collections::VecDeque<usize>,
    bytes: usize,
}

struct Shared<S: Signal> {
    queue: Mutex<Queue<S::Item>>,
    max_queue: usize,
    max_bytes: usize,
    max_batch: usize,
    /// Export requests in flight at once, for sinks that allow it.
    concurrency: usize,
    batch_ready: Notify,
    /// Set by `shutdown`: the export task finishes by then, whatever it is doing.
    deadline: Mutex<Option<Instant>>,
    deadline_set: Notify,
    counters: Arc<Counters>,
    prep: Prep,
    /// Where drop warnings go: the stack this pipeline serves, set once it exists.
    warn_to: Arc<OnceLock<tracing::dispatcher::WeakDispatch>>,
    warn_interval: Duration,
    /// Says more about a failed export than the exporter does.
    diagnosis: Diagnosis,
}

#[cfg(any(feature = "grpc", feature = "http-proto"))]
pub(crate) use otlp::Diagnosis;

/// Nothing to ask without an OTLP exporter.
#[cfg(not(any(feature = "grpc", feature = "http-proto")))]
#[derive(Debug, Clone, Default)]
pub(crate) struct Diagnosis;

#[cfg(not(any(feature = "grpc", feature = "http-proto")))]
impl Diagnosis {
    async fn explain(&self, _error: &str, _within: Duration) -> Option<String> {
        None
    }
}

impl<S: Signal> Shared<S> {
    fn deadline(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Up to `max_batch` items and [`BATCH_MAX_BYTES`] bytes (at least one item), counted as in
    /// flight.
    fn take_batch(&self) -> Vec<S::Item> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = Vec::with_capacity(q.items.len().min(self.max_batch));
        let mut bytes = 0;
        while batch.len() < self.max_batch {
            let size = match q.sizes.front() {
                Some(&size) if batch.is_empty() || bytes + size <= BATCH_MAX_BYTES => size,
                _ => break,
            };
            q.sizes.pop_front();
            let item = q.items.pop_front().expect("one size per item");
            q.bytes -= size;
            bytes += size;
            batch.push(item);
        }
        S::tally(&self.counters)
            .in_flight
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch
    }

    /// Settles `n` items that were in flight, under the queue's lock (see `push`).
    fn settle(&self, n: u64, outcome: std::result::Result<Delivery, Failure>) {
        let _q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let tally = S::tally(&self.counters);
        let c = &self.counters;
        match outcome {
            Ok(Delivery::Sent) => {
                tally.exported.fetch_add(n, Ordering::Relaxed);
            }
            Ok(Delivery::SinkFull) => {
                tally.sink_full.fetch_add(n, Ordering::Relaxed);
            }
            Err(Failure::Failed(e)) => {
                tally.failed.fetch_add(n, Ordering::Relaxed);
                c.failed_exports.fetch_add(1, Ordering::Relaxed);
                c.set_last_error(with_hint(e, self.prep.protocol));
            }
            Err(Failure::TimedOut(e)) => {
                tally.timed_out.fetch_add(n, Ordering::Relaxed);
                c.failed_exports.fetch_add(1, Ordering::Relaxed);
                c.set_last_error(e);
            }
        }
        tally.in_flight.fetch_sub(n, Ordering::Relaxed);
    }

    /// Queued and in flight, with every counter, read under the queue's lock: they add up.
    fn snapshot(&self) -> Stats {
        let q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
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
    shared: Arc<Shared<S>>,
    control: tokio::sync::mpsc::UnboundedSender<Control>,
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
    fn push(&self, mut item: S::Item) {
        let size = S::limit(&mut item, self.shared.prep.max_len);
        let tally = S::tally(&self.shared.counters);
        let mut queue = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
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

    fn flush(&self) -> OTelSdkResult {
        let (tx, rx) = mpsc::channel();
        self.control
            .send(Control::Flush(tx))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        rx.recv().map_err(|_| OTelSdkError::AlreadyShutdown)
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        // Seen by the export task even in the middle of a drain: it stops by the deadline.
        *self
            .shared
            .deadline
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(deadline);
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

/// The SDK span processor: `on_end` only pushes onto a bounded queue; everything else
/// happens on the export task.
#[derive(Debug)]
pub(crate) struct BatchProcessor(Handle<Spans>, Option<Mutex<tail::Tail>>);

impl BatchProcessor {
    /// After shutdown nothing is exported any more; new spans are not recorded.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.0.control.is_closed()
    }
}

/// The processor shared by the SDK provider (spans made through the OpenTelemetry API) and
/// tracewire's tracer (spans made through `tracing`).
#[derive(Debug)]
pub(crate) struct SharedProcessor(pub(crate) Arc<BatchProcessor>);

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if span.span_context.is_sampled() {
            self.0.push(span);
        } else if let Some(tail) = &self.1 {
            // Recorded only for the tail rule (see tail.rs), bounded before it is held.
            let mut span = span;
            let size = prepare::limit(&mut span, self.0.shared.prep.max_len);
            let closed = std::time::SystemTime::now();
            let keep = tail.lock().unwrap_or_else(|p| p.into_inner()).on_end(
                span,
                size,
                closed,
                &self.0.shared.counters,
            );
            for span in keep {
                self.0.push(span);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown(timeout)
    }
}

/// An export error, with what it suggests when it looks like the wrong protocol for the port.
fn with_hint(error: String, protocol: Option<crate::settings::Protocol>) -> String {
    #[cfg(any(feature = "grpc", feature = "http-proto"))]
    if let Some(hint) = protocol.and_then(|p| otlp::protocol_hint(p, &error)) {
        return format!("{error} ({hint})");
    }
    let _ = protocol;
    error
}

/// The export side, owned by the [`Guard`](crate::Guard).
#[derive(Debug)]
pub(crate) struct Pipeline {
    runtime: Option<tokio::runtime::Runtime>,
    pub(crate) counters: Arc<Counters>,
}

impl Pipeline {
    /// Builds the runtime, the exporter and the processor for `settings.export`.
    /// `None` when there is nothing to export to.
    pub(crate) fn build(
        settings: &Settings,
        tail_rule: Option<tail::Rule>,
        resource: &Resource,
        warn_to: Arc<OnceLock<tracing::dispatcher::WeakDispatch>>,
        memory: Option<MemorySink>,
    ) -> Result<Option<(Pipeline, BatchProcessor)>> {
        if settings.export == Export::None && memory.is_none() {
            return Ok(None);
        }
        let counters = Arc::new(Counters::default());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .thread_name("tracewire-export")
            .enable_all()
            .on_thread_start(silence_this_thread)
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Pipeline,
                    format!("cannot start tracewire's export runtime: {e}"),
                )
            })?;
        let (exporter, transport) = {
            // tonic's channel and hyper's client attach to the runtime they are built in.
            let _in_runtime = runtime.enter();
            match memory {
                Some(m) => (SpanSink::Memory(m), Diagnosis::default()),
                None => build_exporter(settings, resource)?,
            }
        };
        let pipeline = Pipeline {
            runtime: Some(runtime),
            counters,
        };
        let handle = pipeline.spawn::<Spans>(
            exporter,
            settings,
            warn_to,
            settings.batch_max_queue_size,
            true,
            transport,
        );
        let shared = Arc::downgrade(&handle.shared);
        let _ = pipeline
            .counters
            .consistent
            .set(Box::new(move || shared.upgrade().map(|s| s.snapshot())));
        let tail = tail_rule.map(|rule| Mutex::new(tail::Tail::new(rule)));
        Ok(Some((pipeline, BatchProcessor(handle, tail))))
    }

    /// Starts the export task of one signal on this pipeline's runtime.
    pub(crate) fn spawn<S: Signal>(
        &self,
        sink: S::Sink,
        settings: &Settings,
        warn_to: Arc<OnceLock<tracing::dispatcher::WeakDispatch>>,
        max_queue: usize,
        warn: bool,
        diagnosis: Diagnosis,
    ) -> Handle<S> {
        let shared = Arc::new(Shared::<S> {
            // Allocated once at its bound: a full queue during an outage does not grow the heap.
            queue: Mutex::new(Queue {
                items: std::collections::VecDeque::with_capacity(max_queue),
                sizes: std::collections::VecDeque::with_capacity(max_queue),
                bytes: 0,
            }),
            max_queue,
            max_bytes: settings.batch_max_queue_bytes,
            max_batch: settings.batch_max_export_batch_size.min(max_queue),
            concurrency: settings.batch_max_concurrent_exports.max(1),
            batch_ready: Notify::new(),
            deadline: Mutex::new(None),
            deadline_set: Notify::new(),
            counters: self.counters.clone(),
            prep: Prep {
                redactor: Redactor::new(&settings.redact_fields),
                max_len: settings.attribute_value_length_limit,
                drop_plain_events: settings.logs_enabled && !settings.span_events_with_logs,
                protocol: match &settings.export {
                    Export::Otlp { protocol, .. } => Some(*protocol),
                    _ => None,
                },
            },
            warn_to,
            warn_interval: settings.drop_warning_interval,
            diagnosis,
        });
        let (control, rx) = tokio::sync::mpsc::unbounded_channel();
        if let Some(rt) = &self.runtime {
            rt.spawn(export_loop(
                shared.clone(),
                sink,
                settings.batch_scheduled_delay,
                settings.otlp_timeout,
                rx,
                warn,
            ));
        }
        Handle { shared, control }
    }

    /// The runtime, for building exporters that attach to it.
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    pub(crate) fn runtime(&self) -> Option<&tokio::runtime::Runtime> {
        self.runtime.as_ref()
    }

    /// Stops the runtime without waiting: the export task has already been told to finish.
    pub(crate) fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // Never `drop(rt)`: dropping a runtime inside the user's async context panics.
            rt.shutdown_background();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The exporter's own crates (hyper, h2, tonic, tower) must never feed spans or logs back into
/// the pipeline they serve: every thread of the export runtime gets a no-op subscriber.
fn silence_this_thread() {
    let guard = tracing::dispatcher::set_default(&tracing::Dispatch::none());
    // The runtime's threads live as long as the runtime: keep the no-op default for the thread's life.
    std::mem::forget(guard);
}

/// The sink, and where its HTTP client keeps the last transport error (OTLP/HTTP).
fn build_exporter(settings: &Settings, resource: &Resource) -> Result<(SpanSink, Diagnosis)> {
    let pipeline_err = |e: String| Error::new(ErrorKind::Pipeline, e);
    match &settings.export {
        Export::None => unreachable!("checked by the caller"),
        Export::File { path } => FileSink::open(path, settings.file_max_bytes, resource)
            .map(|f| (SpanSink::File(f), Diagnosis::default()))
            .map_err(|e| {
                pipeline_err(format!("cannot open the file sink {}: {e}", path.display()))
            }),
        #[cfg(any(feature = "grpc", feature = "http-proto"))]
        Export::Otlp { url, protocol } => {
            let (mut exporter, transport) =
                otlp::span_exporter(url, *protocol, settings).map_err(pipeline_err)?;
            exporter.set_resource(resource);
            Ok((SpanSink::Otlp(exporter), transport))
        }
        #[cfg(not(any(feature = "grpc", feature = "http-proto")))]
        Export::Otlp { url, .. } => Err(pipeline_err(format!(
            "cannot export to {url}: tracewire was built without the `grpc` and `http-proto` features"
        ))),
    }
}

async fn export_loop<S: Signal>(
    shared: Arc<Shared<S>>,
    mut exporter: S::Sink,
    delay: Duration,
    timeout: Duration,
    mut control: tokio::sync::mpsc::UnboundedReceiver<Control>,
    warn: bool,
) {
    let mut warned = DropWarning::default();
    loop {
        if warn {
            warned.maybe_warn(&shared);
        }
        let msg = tokio::select! {
            _ = shared.batch_ready.notified() => None,
            _ = tokio::time::sleep(delay) => None,
            msg = control.recv() => Some(msg),
        };
        match msg {
            None => drain(&shared, &exporter, timeout).await,
            Some(Some(Control::Flush(reply))) => {
                drain(&shared, &exporter, timeout).await;
                let _ = reply.send(());
            }
            Some(Some(Control::Shutdown(reply))) => {
                drain(&shared, &exporter, timeout).await;
                S::shutdown(&mut exporter);
                let _ = reply.send(());
                return;
            }
            // Every sender is gone: the processor was dropped without a shutdown.
            Some(None) => {
                *shared.deadline.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(Instant::now() + timeout);
                drain(&shared, &exporter, timeout).await;
                S::shutdown(&mut exporter);
                return;
            }
        }
    }
}

/// "Logged as a warning at most once per interval while they grow."
#[derive(Default)]
struct DropWarning {
    reported: u64,
    at: Option<Instant>,
}

impl DropWarning {
    fn maybe_warn<S: Signal>(&mut self, shared: &Shared<S>) {
        let stats = shared.counters.snapshot();
        let dropped = stats.dropped();
        if dropped <= self.reported || self.at.is_some_and(|t| t.elapsed() < shared.warn_interval) {
            return;
        }
        let Some(dispatch) = shared.warn_to.get().and_then(|w| w.upgrade()) else {
            return;
        };
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::warn!(
                target: "tracewire",
                dropped_total = dropped,
                dropped_since_last_warning = dropped - self.reported,
                queue_full = stats.dropped_queue_full,
                file_sink_full = stats.dropped_file_cap,
                failed = stats.failed_spans,
                timed_out = stats.timed_out_spans,
                failed_exports = stats.failed_exports,
                report = shared.counters.report(),
                "spans are being dropped"
            );
        });
        self.reported = dropped;
        self.at = Some(Instant::now());
    }
}

type Outcome = (u64, std::result::Result<Delivery, Failure>);

/// Why an export did not deliver: an answer that said no, or no answer in time.
enum Failure {
    Failed(String),
    TimedOut(String),
}

/// Exports everything queued, up to `concurrency` batches in flight (one for the file sink).
/// Once a shutdown deadline is set (also while this runs), each request is bounded by it; at the
/// deadline, requests in flight are abandoned (counted as timed out: the collector may have
/// them) and what is still queued is counted as dropped at shutdown.
async fn drain<S: Signal>(shared: &Shared<S>, exporter: &S::Sink, timeout: Duration) {
    let max = if S::concurrent(exporter) {
        shared.concurrency
    } else {
        1
    };
    let mut in_flight: Vec<Pin<Box<dyn Future<Output = Outcome> + Send + '_>>> =
        Vec::with_capacity(max);
    let mut sizes: Vec<u64> = Vec::with_capacity(max);
    loop {
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
            for item in batch.iter_mut() {
                S::prepare(item, &shared.prep);
            }
            let n = batch.len() as u64;
            let limit = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(timeout),
                None => timeout,
            };
            sizes.push(n);
            let diagnosis = &shared.diagnosis;
            in_flight.push(Box::pin(async move {
                let started = Instant::now();
                let outcome = match tokio::time::timeout(limit, S::export(exporter, batch)).await
                {
                    Ok(Ok(delivery)) => Ok(delivery),
                    Ok(Err(e)) => {
                        let left = limit.saturating_sub(started.elapsed());
                        let e = match diagnosis.explain(&e, left).await {
                            Some(why) => format!("{e}: {why}"),
                            None => e,
                        };
                        // The exporter's own timeout, or the client's: no answer, not a no.
                        let lower = e.to_ascii_lowercase();
                        if ["no answer within", "deadline", "timed out", "timeout expired"]
                            .iter()
                            .any(|t| lower.contains(t))
                        {
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
            }));
        }
        if in_flight.is_empty() {
            return;
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
        let finished = tokio::select! {
            r = done => r,
            r = until_deadline => r,
        };
        let Some((i, (n, outcome))) = finished else {
            continue;
        };
        drop(in_flight.swap_remove(i));
        sizes.swap_remove(i);
        shared.settle(n, outcome);
    }
}

/// At the shutdown deadline: requests still in flight are timed out, the queue is dropped, each
/// counted.
fn abandon<S: Signal>(shared: &Shared<S>, in_flight: &[u64]) {
    let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    let tally = S::tally(&shared.counters);
    let flying: u64 = in_flight.iter().sum();
    if flying > 0 {
        tally.timed_out.fetch_add(flying, Ordering::Relaxed);
        tally.in_flight.fetch_sub(flying, Ordering::Relaxed);
        shared
            .counters
            .failed_exports
            .fetch_add(in_flight.len() as u64, Ordering::Relaxed);
        shared.counters.set_last_error(
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
