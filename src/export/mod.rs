//! Export: a bounded queue on the caller's side, one export task on a small runtime that
//! tracewire owns, and counters for everything that did not arrive.
//!
//! The runtime is tracewire's own so that `init()` works the same from a plain `main`, a
//! multi-thread runtime and a `current_thread` runtime (whose single thread may be blocked
//! exactly when an export needs to make progress), and so that shutdown can be bounded.

mod file;
#[cfg(feature = "logs")]
pub(crate) mod logs;
pub(crate) mod tail;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::task::Poll;
use std::time::{Duration, Instant};

use opentelemetry::trace::Status;
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
#[cfg(any(feature = "grpc", feature = "http-proto"))]
use opentelemetry_sdk::trace::SpanExporter as _;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use tokio::sync::Notify;

use crate::error::{Error, ErrorKind, Result};
use crate::redact::{REDACTED, Redactor, scrub};
use crate::settings::{Export, Settings};
use file::FileSink;

/// Counters of what happened to finished spans since `init()`.
///
/// ```
/// let stats = tracewire::Stats::default();
/// assert_eq!(stats.dropped(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Spans the exporter (collector or file) accepted.
    pub exported_spans: u64,
    /// Spans dropped because the queue was full (`batch_max_queue_size`).
    pub dropped_queue_full: u64,
    /// Spans dropped because the file sink reached `file_max_bytes`.
    pub dropped_file_cap: u64,
    /// Spans in export requests that failed or timed out.
    pub failed_spans: u64,
    /// Export requests that failed or timed out.
    pub failed_exports: u64,
    /// Spans dropped because the tail rule's buffer was full (`tail_max_buffered_spans`).
    pub dropped_tail_buffer: u64,
    /// Log records the collector accepted (`logs_enabled`).
    pub exported_logs: u64,
    /// Log records lost: queue full, or in failed exports.
    pub dropped_logs: u64,
}

impl Stats {
    /// All spans that were lost, whatever the reason.
    ///
    /// ```
    /// # let stats = tracewire::Stats::default();
    /// if stats.dropped() > 0 { eprintln!("lost {} spans", stats.dropped()); }
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_file_cap
            + self.failed_spans
            + self.dropped_tail_buffer
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    exported: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_file_cap: AtomicU64,
    failed_spans: AtomicU64,
    failed_exports: AtomicU64,
    exported_logs: AtomicU64,
    failed_logs: AtomicU64,
    dropped_tail_buffer: AtomicU64,
    dropped_logs_queue_full: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    /// The most recent export failure, for the shutdown report.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            exported_spans: self.exported.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            dropped_file_cap: self.dropped_file_cap.load(Ordering::Relaxed),
            failed_spans: self.failed_spans.load(Ordering::Relaxed),
            failed_exports: self.failed_exports.load(Ordering::Relaxed),
            dropped_tail_buffer: self.dropped_tail_buffer.load(Ordering::Relaxed),
            exported_logs: self.exported_logs.load(Ordering::Relaxed),
            dropped_logs: self.failed_logs.load(Ordering::Relaxed)
                + self.dropped_logs_queue_full.load(Ordering::Relaxed),
        }
    }
}

/// Where the test kit collects finished spans.
pub(crate) type MemorySink = Arc<Mutex<Vec<SpanData>>>;

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
    /// Called on the export task, just before export.
    fn prepare(item: &mut Self::Item, prep: &Prep);
    /// `Ok(false)`: not sent, already counted as dropped by the sink.
    fn export(
        sink: &Self::Sink,
        batch: Vec<Self::Item>,
    ) -> impl Future<Output = std::result::Result<bool, String>> + Send;
    fn shutdown(sink: &mut Self::Sink);
    /// Whether several export requests may be in flight at once (network sinks: a collector's
    /// round trip, not our CPU, bounds one request at a time).
    fn concurrent(_sink: &Self::Sink) -> bool {
        false
    }
    /// (exported, failed, dropped because the queue was full)
    fn tally(c: &Counters) -> (&AtomicU64, &AtomicU64, &AtomicU64);
}

/// What `prepare` needs from the settings.
pub(crate) struct Prep {
    pub(crate) redactor: Redactor,
    pub(crate) max_len: usize,
    pub(crate) drop_plain_events: bool,
}

pub(crate) struct Spans;

impl Signal for Spans {
    type Item = SpanData;
    type Sink = SpanSink;

    fn prepare(span: &mut SpanData, prep: &Prep) {
        prepare(span, &prep.redactor, prep.max_len);
        if prep.drop_plain_events {
            // With OTLP logs on, events travel as log records; exceptions stay on the span.
            span.events.events.retain(|e| e.name == "exception");
        }
    }

    async fn export(sink: &SpanSink, batch: Vec<SpanData>) -> std::result::Result<bool, String> {
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(e) => e
                .export(batch)
                .await
                .map(|()| true)
                .map_err(|e| e.to_string()),
            SpanSink::File(f) => f.write(batch),
            SpanSink::Memory(m) => {
                m.lock().unwrap_or_else(|p| p.into_inner()).extend(batch);
                Ok(true)
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

    fn tally(c: &Counters) -> (&AtomicU64, &AtomicU64, &AtomicU64) {
        (&c.exported, &c.failed_spans, &c.dropped_queue_full)
    }

    fn concurrent(sink: &SpanSink) -> bool {
        !matches!(sink, SpanSink::File(_) | SpanSink::Memory(_))
    }
}

enum Control {
    Flush(mpsc::Sender<()>),
    Shutdown(Instant, mpsc::Sender<()>),
}

struct Shared<S: Signal> {
    queue: Mutex<Vec<S::Item>>,
    max_queue: usize,
    max_batch: usize,
    /// Export requests in flight at once, for sinks that allow it.
    concurrency: usize,
    batch_ready: Notify,
    counters: Arc<Counters>,
    prep: Prep,
    /// Where drop warnings go: the stack this pipeline serves, set once it exists.
    warn_to: Arc<OnceLock<tracing::dispatcher::WeakDispatch>>,
    warn_interval: Duration,
}

impl<S: Signal> std::fmt::Debug for Shared<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("max_queue", &self.max_queue)
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
    fn push(&self, item: S::Item) {
        let mut queue = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= self.shared.max_queue {
            drop(queue);
            S::tally(&self.shared.counters)
                .2
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        queue.push(item);
        let ready = queue.len() == self.shared.max_batch;
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
        let (tx, rx) = mpsc::channel();
        self.control
            .send(Control::Shutdown(deadline, tx))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        // The task bounds itself by `deadline`; this margin only covers a task that is stuck
        // inside a non-cooperative exporter.
        rx.recv_timeout(timeout + Duration::from_millis(200))
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

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
            // Recorded only for the tail rule (see tail.rs).
            let keep = tail
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .on_end(span, &self.0.shared.counters);
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

/// What happens to a span before it leaves the process, on the export task rather than on the
/// caller's thread: exceptions normalized, secrets redacted, long values truncated.
fn prepare(span: &mut SpanData, redactor: &Redactor, max_len: usize) {
    errors_as_exceptions(span);
    let clean = |kvs: &mut Vec<KeyValue>| {
        for kv in kvs.iter_mut() {
            if redactor.is_sensitive_cached(kv.key.as_str()) {
                kv.value = Value::from(REDACTED);
            } else {
                scrub_value(&mut kv.value);
                truncate(&mut kv.value, max_len);
            }
        }
    };
    if let Some(clean) = scrub(&span.name) {
        span.name = clean.into();
    }
    if let Status::Error { description } = &span.status
        && let Some(clean) = scrub(description)
    {
        span.status = Status::error(clean);
    }
    clean(&mut span.attributes);
    for event in span.events.events.iter_mut() {
        if let Some(clean) = scrub(&event.name) {
            event.name = clean.into();
        }
        clean(&mut event.attributes);
    }
    for link in span.links.links.iter_mut() {
        clean(&mut link.attributes);
    }
}

/// Credentials inside a string value, whatever its name (see `redact::scrub`).
fn scrub_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(clean) = scrub(s.as_str()) {
                *value = Value::from(clean);
            }
        }
        Value::Array(opentelemetry::Array::String(items)) => {
            for item in items.iter_mut() {
                if let Some(clean) = scrub(item.as_str()) {
                    *item = clean.into();
                }
            }
        }
        _ => {}
    }
}

fn truncate(value: &mut Value, max_len: usize) {
    let cut = |s: &str| -> Option<String> {
        (s.len() > max_len).then(|| s.chars().take(max_len).collect())
    };
    match value {
        Value::String(s) => {
            if let Some(t) = cut(s.as_str()) {
                *value = Value::from(t);
            }
        }
        Value::Array(opentelemetry::Array::String(items)) => {
            for item in items.iter_mut() {
                if let Some(t) = cut(item.as_str()) {
                    *item = t.into();
                }
            }
        }
        _ => {}
    }
}

/// ERROR events become `exception` events (semantic conventions for exceptions), and the span
/// status carries the message: a viewer then shows what failed without opening every event.
fn errors_as_exceptions(span: &mut SpanData) {
    let mut first_message = None;
    for event in span.events.events.iter_mut() {
        let is_error = event
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "level" && kv.value.as_str() == "ERROR");
        if !is_error {
            continue;
        }
        if event.name != "exception" {
            let message = std::mem::replace(&mut event.name, "exception".into());
            if !event
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == "exception.message")
            {
                // `error!(error = %e, "what failed")`: the error is the exception, the
                // message stays as the event's description.
                let error = event
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == "error")
                    .map(|kv| kv.value.as_str().into_owned());
                let exception = match error {
                    Some(e) => {
                        event
                            .attributes
                            .push(KeyValue::new("message", Value::from(message.into_owned())));
                        e
                    }
                    None => message.into_owned(),
                };
                event
                    .attributes
                    .push(KeyValue::new("exception.message", Value::from(exception)));
            }
        }
        if first_message.is_none() {
            first_message = event
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == "exception.message")
                .map(|kv| kv.value.as_str().into_owned());
        }
    }
    if let (Status::Error { description }, Some(msg)) = (&span.status, first_message)
        && description.is_empty()
    {
        span.status = Status::error(msg);
    }
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
        let exporter = {
            // tonic's channel and hyper's client attach to the runtime they are built in.
            let _in_runtime = runtime.enter();
            match memory {
                Some(m) => SpanSink::Memory(m),
                None => build_exporter(settings, resource, counters.clone())?,
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
        );
        let tail = settings
            .tail_rule()
            .map(|rule| Mutex::new(tail::Tail::new(rule)));
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
    ) -> Handle<S> {
        let shared = Arc::new(Shared::<S> {
            // Allocated once at its bound: a full queue during an outage does not grow the heap.
            queue: Mutex::new(Vec::with_capacity(max_queue)),
            max_queue,
            max_batch: settings.batch_max_export_batch_size.min(max_queue),
            concurrency: settings.batch_max_concurrent_exports.max(1),
            batch_ready: Notify::new(),
            counters: self.counters.clone(),
            prep: Prep {
                redactor: Redactor::new(&settings.redact_fields),
                max_len: settings.attribute_value_length_limit,
                drop_plain_events: settings.logs_enabled && !settings.span_events_with_logs,
            },
            warn_to,
            warn_interval: settings.drop_warning_interval,
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

fn build_exporter(
    settings: &Settings,
    resource: &Resource,
    counters: Arc<Counters>,
) -> Result<SpanSink> {
    let pipeline_err = |e: String| Error::new(ErrorKind::Pipeline, e);
    match &settings.export {
        Export::None => unreachable!("checked by the caller"),
        Export::File { path } => FileSink::open(path, settings.file_max_bytes, resource, counters)
            .map(SpanSink::File)
            .map_err(|e| {
                pipeline_err(format!("cannot open the file sink {}: {e}", path.display()))
            }),
        #[cfg(any(feature = "grpc", feature = "http-proto"))]
        Export::Otlp { url, protocol } => {
            let mut exporter = otlp::build(url, *protocol, settings).map_err(pipeline_err)?;
            exporter.set_resource(resource);
            Ok(SpanSink::Otlp(exporter))
        }
        #[cfg(not(any(feature = "grpc", feature = "http-proto")))]
        Export::Otlp { url, .. } => Err(pipeline_err(format!(
            "cannot export to {url}: tracewire was built without the `grpc` and `http-proto` features"
        ))),
    }
}

#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod otlp {

    use opentelemetry_otlp::{SpanExporter, WithExportConfig};

    use crate::settings::{Protocol, Settings};

    pub(super) fn build(
        url: &str,
        protocol: Protocol,
        s: &Settings,
    ) -> Result<SpanExporter, String> {
        let err = |e: opentelemetry_otlp::ExporterBuildError| {
            format!("cannot build the OTLP exporter for {url}: {e}")
        };
        match protocol {
            #[cfg(feature = "grpc")]
            Protocol::Grpc => {
                use opentelemetry_otlp::WithTonicConfig;
                let mut headers = http::HeaderMap::new();
                for (k, v) in &s.otlp_headers {
                    match (
                        http::HeaderName::try_from(k.as_str()),
                        http::HeaderValue::try_from(v.as_str()),
                    ) {
                        (Ok(name), Ok(value)) => {
                            headers.insert(name, value);
                        }
                        _ => {
                            return Err(format!(
                                "otlp_headers: `{k}` cannot be sent as gRPC metadata"
                            ));
                        }
                    }
                }
                let metadata =
                    opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
                let mut b = SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(url)
                    .with_protocol(opentelemetry_otlp::Protocol::Grpc)
                    .with_timeout(s.otlp_timeout)
                    .with_metadata(metadata);
                if s.otlp_gzip {
                    b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                b.build().map_err(err)
            }
            #[cfg(feature = "http-proto")]
            Protocol::HttpProtobuf => {
                use opentelemetry_otlp::WithHttpConfig;
                let headers: std::collections::HashMap<String, String> =
                    s.otlp_headers.iter().cloned().collect();
                let mut b = SpanExporter::builder()
                    .with_http()
                    .with_endpoint(url)
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(s.otlp_timeout)
                    .with_headers(headers);
                if s.otlp_gzip {
                    b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
                }
                b.build().map_err(err)
            }
            #[allow(unreachable_patterns)]
            other => Err(format!(
                "otlp_protocol {other} needs tracewire's `{}` cargo feature",
                if other == Protocol::Grpc {
                    "grpc"
                } else {
                    "http-proto"
                }
            )),
        }
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
            None => drain(&shared, &exporter, timeout, None).await,
            Some(Some(Control::Flush(reply))) => {
                drain(&shared, &exporter, timeout, None).await;
                let _ = reply.send(());
            }
            Some(Some(Control::Shutdown(deadline, reply))) => {
                drain(&shared, &exporter, timeout, Some(deadline)).await;
                S::shutdown(&mut exporter);
                let _ = reply.send(());
                return;
            }
            // Every sender is gone: the processor was dropped without a shutdown.
            Some(None) => {
                drain(&shared, &exporter, timeout, Some(Instant::now() + timeout)).await;
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
                failed_exports = stats.failed_exports,
                last_error = shared.counters.last_error().unwrap_or_default(),
                "spans are being dropped"
            );
        });
        self.reported = dropped;
        self.at = Some(Instant::now());
    }
}

/// Exports everything queued, up to `concurrency` batches in flight (one for the file sink);
/// with a deadline, what cannot be sent in time is counted as failed instead of holding up
/// shutdown.
async fn drain<S: Signal>(
    shared: &Shared<S>,
    exporter: &S::Sink,
    timeout: Duration,
    deadline: Option<Instant>,
) {
    type Outcome = (u64, std::result::Result<bool, String>);
    let max = if S::concurrent(exporter) {
        shared.concurrency
    } else {
        1
    };
    let mut in_flight: Vec<Pin<Box<dyn Future<Output = Outcome> + Send + '_>>> =
        Vec::with_capacity(max);
    loop {
        while in_flight.len() < max {
            let mut batch: Vec<S::Item> = {
                let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
                let n = q.len().min(shared.max_batch);
                q.drain(..n).collect()
            };
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
            in_flight.push(Box::pin(async move {
                let outcome = if limit.is_zero() {
                    Err("shutdown deadline passed".to_string())
                } else {
                    match tokio::time::timeout(limit, S::export(exporter, batch)).await {
                        Ok(r) => r,
                        Err(_) => Err(format!("export timed out after {limit:?}")),
                    }
                };
                (n, outcome)
            }));
        }
        if in_flight.is_empty() {
            return;
        }
        let (i, (n, outcome)) = std::future::poll_fn(|cx| {
            for (i, f) in in_flight.iter_mut().enumerate() {
                if let Poll::Ready(r) = f.as_mut().poll(cx) {
                    return Poll::Ready((i, r));
                }
            }
            Poll::Pending
        })
        .await;
        drop(in_flight.swap_remove(i));
        let c = &shared.counters;
        let (exported, failed, _) = S::tally(c);
        match outcome {
            Ok(true) => {
                exported.fetch_add(n, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(e) => {
                failed.fetch_add(n, Ordering::Relaxed);
                c.failed_exports.fetch_add(1, Ordering::Relaxed);
                *c.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
        }
    }
}
