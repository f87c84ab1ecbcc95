//! The span processor: what the SDK and tracewire's tracer call when a span ends, and the
//! sinks spans go to. `on_end` bounds the span and queues it (or hands it to the tail rule's
//! buffer when it was only recorded); nothing else happens on the caller's thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::counters::{Counters, Tally};
use super::failure::{ExportError, Kind};
use super::file::FileSink;
use super::queue::{Delivery, Handle, Prep, Signal};
use super::{prepare, tail};
use crate::lock::LockExt as _;

/// Where the test kit collects finished spans.
pub(crate) type MemorySink = Arc<Mutex<Vec<SpanData>>>;

/// Where a pipeline's spans go: an OTLP exporter, the file sink, or the test kit's memory.
// One per pipeline, built once: boxing the exporter would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub(super) enum SpanSink {
    #[cfg(any(feature = "grpc", feature = "http-proto"))]
    Otlp(super::span_client::SpanClient),
    File(FileSink),
    Memory(MemorySink),
}

/// Spans as a [`Signal`]: bounded by `prepare::limit`, made ready by `prepare::prepare`.
pub(super) struct Spans;

impl Signal for Spans {
    type Item = SpanData;
    type Sink = SpanSink;

    fn limit(span: &mut SpanData, max_len: usize) -> usize {
        prepare::limit(span, max_len)
    }

    fn prepare(batch: &mut [SpanData], prep: &Prep) {
        let mut keys = prepare::KeyMemo::default();
        for span in batch {
            prepare::prepare(span, &prep.redactor, prep.drop_plain_events, &mut keys);
        }
    }

    async fn export(
        sink: &SpanSink,
        batch: Vec<SpanData>,
        limit: Duration,
    ) -> std::result::Result<Delivery, ExportError> {
        let _ = limit;
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(c) => c.export(&batch, limit).await,
            SpanSink::File(f) => f
                .write(batch)
                .map(|written| {
                    if written {
                        Delivery::Sent
                    } else {
                        Delivery::SinkFull
                    }
                })
                .map_err(|e| ExportError::new(Kind::Local, e)),
            SpanSink::Memory(m) => {
                m.lock_or_recover().extend(batch);
                Ok(Delivery::Sent)
            }
        }
    }

    fn wake_every(sink: &SpanSink, delay: Duration) -> Duration {
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(c) => c.wake_every(delay),
            _ => delay,
        }
    }

    fn spills(sink: &SpanSink) -> bool {
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(c) => c.spills(),
            _ => false,
        }
    }

    fn spill(sink: &SpanSink, batch: Vec<SpanData>) -> std::result::Result<Delivery, ExportError> {
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(c) => c
                .spill(&batch)
                .unwrap_or_else(|| Err(ExportError::new(Kind::Local, "no disk spool"))),
            _ => {
                drop(batch);
                Err(ExportError::new(Kind::Local, "no disk spool"))
            }
        }
    }

    async fn idle(sink: &SpanSink, budget: Duration) -> bool {
        let _ = (sink, budget);
        #[cfg(any(feature = "grpc", feature = "http-proto"))]
        if let SpanSink::Otlp(c) = sink {
            return c.replay(budget).await;
        }
        false
    }

    fn shutdown(sink: &mut SpanSink) {
        match sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            SpanSink::Otlp(_) => {}
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

/// The SDK span processor: `on_end` only pushes onto a bounded queue; everything else
/// happens on the export task.
#[derive(Debug)]
pub(crate) struct BatchProcessor {
    pub(super) queue: Handle<Spans>,
    /// The tail rule's buffer, for spans only recorded (`None` without the rule).
    pub(super) tail: Option<Mutex<tail::Tail>>,
}

impl BatchProcessor {
    /// After shutdown nothing is exported any more; new spans are not recorded.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.queue.control.is_closed()
    }

    /// A callee kept `trace_id`: see [`tail::Tail::promote`]; `None` without the tail rule
    /// (an unsampled trace's spans were not recorded: nothing to keep).
    pub(crate) fn promote(
        &self,
        trace_id: opentelemetry::trace::TraceId,
        allow: impl FnOnce() -> bool,
    ) -> Option<tail::Promotion> {
        let tail = self.tail.as_ref()?;
        Some(tail.lock_or_recover().promote(trace_id, allow))
    }

    /// Whether the tail rule keeps `trace_id` as things stand.
    pub(crate) fn keeps(&self, trace_id: opentelemetry::trace::TraceId) -> bool {
        self.tail
            .as_ref()
            .is_some_and(|t| t.lock_or_recover().keeps(trace_id))
    }

    /// The counters, for what promotions come to.
    pub(crate) fn counters(&self) -> &Counters {
        &self.queue.shared.counters
    }
}

/// A processor shared by the SDK provider (spans made through the OpenTelemetry API) and
/// tracewire's tracer (spans made through `tracing`): tracewire's own, or one of the user's
/// (`SharedProcessor<dyn SpanProcessor>`).
#[derive(Debug)]
pub(crate) struct SharedProcessor<P: ?Sized>(pub(crate) Arc<P>);

impl<P: ?Sized> Clone for SharedProcessor<P> {
    fn clone(&self) -> Self {
        SharedProcessor(self.0.clone())
    }
}

impl<P: SpanProcessor + ?Sized> SpanProcessor for SharedProcessor<P> {
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
            self.queue.push(span);
        } else if let Some(tail) = &self.tail {
            // Recorded only for the tail rule (see tail.rs), bounded before it is held.
            let mut span = span;
            let size = prepare::limit(&mut span, self.queue.shared.prep.max_len);
            let closed = std::time::SystemTime::now();
            let keep =
                tail.lock_or_recover()
                    .on_end(span, size, closed, &self.queue.shared.counters);
            for span in keep {
                self.queue.push(span);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.queue.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.shutdown(timeout)
    }
}
