//! Export: a bounded queue on the caller's side, one export task on a small runtime that
//! tracewire owns, and counters for everything that did not arrive.
//!
//! The runtime is tracewire's own so that `init()` works the same from a plain `main`, a
//! multi-thread runtime and a `current_thread` runtime (whose single thread may be blocked
//! exactly when an export needs to make progress), and so that shutdown can be bounded.

mod config;
mod counters;
mod diagnosis;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod encode;
mod failure;
mod file;
#[cfg(feature = "http-proto")]
mod http_client;
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) mod line_file;
#[cfg(feature = "logs")]
pub(crate) mod log_records;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
pub(crate) mod otlp;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod otlp_response;
mod prepare;
mod processor;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod proxy;
mod queue;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod retry;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod span_client;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod spool;
#[cfg(any(feature = "grpc", feature = "http-proto"))]
mod spooling;
pub(crate) mod tail;
mod worker;

use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry_sdk::Resource;
use tokio::sync::Notify;

use crate::error::{Error, ErrorKind, Result};
use crate::redact::Redactor;
use crate::settings::Export;
pub(crate) use config::{Config, QueueConfig};
use file::FileSink;
pub(crate) use processor::{BatchProcessor, MemorySink, SharedProcessor};

pub(crate) use counters::Counters;
#[cfg(all(feature = "metrics", any(feature = "grpc", feature = "http-proto")))]
pub(crate) use failure::ExportError;
use processor::{SpanSink, Spans};
use queue::{Handle, Prep, Signal};
use queue::{Queue, Shared};
use worker::export_loop;

pub(crate) use diagnosis::Diagnosis;

/// Where the export side's warnings go: the stack a pipeline serves, set once the stack exists
/// (weak: a strong one would keep the stack alive from its own pipeline).
pub(crate) type WarnTo = Arc<OnceLock<tracing::dispatcher::WeakDispatch>>;

/// The layer that tells the export side which stack it serves, once the stack exists: its
/// drop warnings are logged through it.
pub(crate) struct DropWarnings(pub(crate) WarnTo);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for DropWarnings {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

/// The export side, owned by the [`Guard`](crate::Guard).
#[derive(Debug)]
pub(crate) struct Pipeline {
    /// One worker thread, `tracewire-export`; `None` once stopped.
    runtime: Option<tokio::runtime::Runtime>,
    /// Every signal's counters, read by the guard's report and `Guard::stats`.
    pub(crate) counters: Arc<Counters>,
}

impl Pipeline {
    /// Builds the runtime, and the exporter and processor for `config.spans` (`None` when
    /// spans go nowhere but metrics or log records have an endpoint of their own). `None` when
    /// there is nothing to export to.
    pub(crate) fn build(
        config: &Config,
        tail_rule: Option<crate::sampling::TailRule>,
        resource: &Resource,
        warn_to: WarnTo,
        memory: Option<MemorySink>,
    ) -> Result<Option<(Pipeline, Option<BatchProcessor>)>> {
        let spans = config.spans != Export::None || memory.is_some();
        let others = config.metrics_have_endpoint || config.logs_otlp.is_some();
        if !spans && !others {
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
        if !spans {
            return Ok(Some((
                Pipeline {
                    runtime: Some(runtime),
                    counters,
                },
                None,
            )));
        }
        let built = {
            // tonic's channel and hyper's client attach to the runtime they are built in.
            let _in_runtime = runtime.enter();
            match memory {
                Some(m) => Ok((SpanSink::Memory(m), Diagnosis::default())),
                None => build_exporter(config, resource, &counters),
            }
        };
        let (exporter, transport) = match built {
            Ok(built) => built,
            Err(e) => {
                // Never a plain drop: dropping a runtime inside the caller's async context
                // (`#[tokio::main]`) panics, which would turn this error into a crash.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let pipeline = Pipeline {
            runtime: Some(runtime),
            counters,
        };
        let handle = pipeline.spawn::<Spans>(
            exporter,
            &config.queue,
            protocol_of(&config.spans),
            warn_to,
            Warns::Yes,
            transport,
        );
        let shared = Arc::downgrade(&handle.shared);
        let _ = pipeline
            .counters
            .consistent
            .set(Box::new(move || shared.upgrade().map(|s| s.snapshot())));
        let tail = tail_rule.map(|rule| Mutex::new(tail::Tail::new(rule)));
        Ok(Some((
            pipeline,
            Some(BatchProcessor {
                queue: handle,
                tail,
            }),
        )))
    }

    /// Starts the export task of one signal on this pipeline's runtime, with the queue
    /// `config` describes; `protocol`: the OTLP protocol its errors are explained for;
    /// `warns`: whether this task logs the pipeline's drop warnings.
    pub(crate) fn spawn<S: Signal>(
        &self,
        sink: S::Sink,
        config: &QueueConfig,
        protocol: Option<crate::settings::Protocol>,
        warn_to: WarnTo,
        warns: Warns,
        diagnosis: Diagnosis,
    ) -> Handle<S> {
        let max_queue = config.max_items;
        let shared = Arc::new(Shared::<S> {
            // Allocated once at its bound: a full queue during an outage does not grow the heap.
            queue: Mutex::new(Queue {
                items: std::collections::VecDeque::with_capacity(max_queue),
                sizes: std::collections::VecDeque::with_capacity(max_queue),
                bytes: 0,
            }),
            max_queue,
            max_bytes: config.max_bytes,
            max_batch: config.max_batch.min(max_queue),
            concurrency: config.concurrency.max(1),
            batch_ready: Notify::new(),
            deadline: Mutex::new(None),
            deadline_set: Notify::new(),
            counters: self.counters.clone(),
            prep: Prep {
                redactor: Redactor::new(&config.redact_fields),
                max_len: config.max_value_len,
                drop_plain_events: config.drop_plain_events,
                protocol,
            },
            warn_to,
            warn_interval: config.warn_interval,
            diagnosis,
        });
        let (control, rx) = tokio::sync::mpsc::unbounded_channel();
        if let Some(rt) = &self.runtime {
            rt.spawn(export_loop(
                shared.clone(),
                sink,
                config.scheduled_delay,
                config.timeout,
                rx,
                warns == Warns::Yes,
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

/// Whether a signal's export task logs the pipeline's drop warnings (the span task does; the
/// others' losses show in the same report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Warns {
    Yes,
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    No,
}

/// The OTLP protocol of a span export, for the hints its errors get.
fn protocol_of(export: &Export) -> Option<crate::settings::Protocol> {
    match export {
        Export::Otlp { protocol, .. } => Some(*protocol),
        _ => None,
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
fn build_exporter(
    config: &Config,
    resource: &Resource,
    counters: &Arc<Counters>,
) -> Result<(SpanSink, Diagnosis)> {
    let _ = counters;
    let pipeline_err = |e: String| Error::new(ErrorKind::Pipeline, e);
    match &config.spans {
        Export::None => unreachable!("checked by the caller"),
        Export::File { path } => match FileSink::open(path, config.file_max_bytes, resource) {
            Ok(f) => Ok((SpanSink::File(f), Diagnosis::default())),
            // A directory that does not exist in a path someone wrote is a typo in the
            // configuration: refused at start.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !config.file_is_default => Err(
                pipeline_err(format!("cannot open the file sink {}: {e}", path.display())),
            ),
            // A read-only or full disk is the machine's state, not the configuration: the
            // service starts, and what the sink cannot keep is counted as failed.
            Err(e) => {
                let why = format!("cannot open the file sink {}: {e}", path.display());
                eprintln!(
                    "tracewire: warning: {why}; spans are counted as failed instead (set otlp_endpoint, or OTEL_TRACES_EXPORTER=none)"
                );
                Ok((
                    SpanSink::File(FileSink::unavailable(path, why)),
                    Diagnosis::default(),
                ))
            }
        },
        #[cfg(any(feature = "grpc", feature = "http-proto"))]
        Export::Otlp { .. } => {
            let otlp = config.traces_otlp.as_ref().expect("an OTLP export");
            let (mut client, diagnosis) =
                otlp::span_client(otlp, config.queue.concurrency, resource)
                    .map_err(pipeline_err)?;
            if let Some((dir, max_bytes)) = &config.spool {
                // A disk that cannot hold the spool is the machine's state: the service starts,
                // without it, and says so.
                match spool::Spool::open(dir, *max_bytes, counters.clone()) {
                    Ok(s) => client = client.with_spool(spooling::Spooling::new(s)),
                    Err(e) => eprintln!(
                        "tracewire: warning: {e}; the disk spool is off: spans the collector cannot take are dropped and counted"
                    ),
                }
            }
            Ok((SpanSink::Otlp(client), diagnosis))
        }
        #[cfg(not(any(feature = "grpc", feature = "http-proto")))]
        Export::Otlp { url, .. } => Err(pipeline_err(format!(
            "cannot export to {url}: tracewire was built without the `grpc` and `http-proto` features"
        ))),
    }
}
