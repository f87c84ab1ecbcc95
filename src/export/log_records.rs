//! OTLP log records from tracing events (feature `logs`): the same queue, batching, timeouts
//! and counters as spans, on the same runtime.
//!
//! opentelemetry-appender-tracing turns events into `SdkLogRecord`s. The SDK's batch processor
//! would start a thread of its own, with a queue and counters of its own, so records go through
//! tracewire's queue instead ([`Logs`] is a [`Signal`]), counted apart from spans
//! (`exported_logs`, `dropped_logs` in `Stats`). The exporter comes from the same builder as the
//! span exporter (`otlp.rs`), so the two cannot drift: both get the endpoint, `otlp_headers`,
//! TLS, timeout and compression.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::LogExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLogRecord, SdkLoggerProvider};

use super::Pipeline;
use super::counters::{Counters, Tally};
use super::queue::{Delivery, Handle, Prep, Signal};
use crate::error::{Error, ErrorKind, Result};

/// Log records as a [`Signal`]: the record with its scope, bounded like span attributes.
pub(crate) struct Logs;

/// The log exporter, and the switch that turns log records off for the process once the
/// endpoint answers that it does not take them.
pub(crate) struct LogSink {
    exporter: LogExporter,
    url: String,
    off: Arc<AtomicBool>,
}

impl Signal for Logs {
    type Item = (SdkLogRecord, InstrumentationScope);
    type Sink = LogSink;

    /// The body (the message) is cut to `attribute_value_length_limit` characters before it is
    /// queued. The SDK gives no way to change a record's attributes: those are bounded by the
    /// span limits tracing fields already have, and counted in the byte budget.
    fn limit(item: &mut Self::Item, max_len: usize) -> usize {
        use opentelemetry::logs::{AnyValue, LogRecord as _};
        // The spans' cut: never through the middle of a credential.
        if let Some(AnyValue::String(body)) = item.0.body()
            && let Some(cut) = super::prepare::cut(body.as_str(), max_len)
        {
            item.0.set_body(AnyValue::from(cut));
        }
        let value = |v: &AnyValue| match v {
            AnyValue::String(s) => s.as_str().len(),
            AnyValue::Bytes(b) => b.len(),
            _ => 16,
        };
        128 + item.0.body().map_or(0, value)
            + item
                .0
                .attributes_iter()
                .map(|(k, v)| 16 + k.as_str().len() + value(v))
                .sum::<usize>()
    }

    // Secrets were redacted before the record was made (see typed_fields.rs).
    fn prepare(_batch: &mut [Self::Item], _prep: &Prep) {}

    async fn export(
        sink: &LogSink,
        batch: Vec<Self::Item>,
        _limit: std::time::Duration,
    ) -> std::result::Result<Delivery, super::failure::ExportError> {
        let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|(r, s)| (r, s)).collect();
        let outcome = sink.exporter.export(LogBatch::new(&refs)).await;
        outcome.map(|()| Delivery::Sent).map_err(|e| {
            let error = super::failure::ExportError::from_dependency(e.to_string());
            if error.signal_not_served() && !sink.off.swap(true, Ordering::Relaxed) {
                super::otlp::warn_signal_off("logs", &sink.url, &error.to_string());
            }
            error
        })
    }

    fn shutdown(sink: &mut LogSink) {
        let _ = sink.exporter.shutdown();
    }

    fn tally(c: &Counters) -> Tally<'_> {
        Tally {
            exported: &c.exported_logs,
            failed: &c.failed_logs,
            timed_out: &c.failed_logs,
            queue_full: &c.dropped_logs_queue_full,
            sink_full: &c.failed_logs,
            at_shutdown: &c.failed_logs,
            in_flight: &c.logs_in_flight,
        }
    }
}

/// The SDK log processor: `emit` copies the record onto the bounded queue.
/// The SDK's log processor: `emit` only queues.
#[derive(Debug)]
struct LogProcessor(Handle<Logs>, Arc<AtomicBool>);

impl opentelemetry_sdk::logs::LogProcessor for LogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        // Off: the endpoint does not take log records; events stay log lines.
        if !self.1.load(Ordering::Relaxed) {
            self.0.push((record.clone(), scope.clone()));
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown(timeout)
    }
}

/// The logger provider whose records go to the same collector as the spans.
pub(crate) fn provider(
    pipeline: &Pipeline,
    config: &super::Config,
    resource: &Resource,
    warn_to: super::WarnTo,
) -> Result<Option<SdkLoggerProvider>> {
    let Some(otlp) = &config.logs_otlp else {
        // Log records need a collector: with the file sink or no export, events stay log lines.
        return Ok(None);
    };
    let Some(rt) = pipeline.runtime() else {
        return Ok(None);
    };
    let _in_runtime = rt.enter();
    let (exporter, diagnosis) =
        super::otlp::log_exporter(otlp).map_err(|e| Error::new(ErrorKind::Pipeline, e))?;
    let mut exporter = exporter;
    opentelemetry_sdk::logs::LogExporter::set_resource(&mut exporter, resource);
    let off = Arc::new(AtomicBool::new(false));
    let sink = LogSink {
        exporter,
        url: otlp.url.clone(),
        off: off.clone(),
    };
    let handle = pipeline.spawn::<Logs>(
        sink,
        &config.queue,
        Some(otlp.protocol),
        warn_to,
        super::Warns::No,
        diagnosis,
    );
    Ok(Some(
        SdkLoggerProvider::builder()
            .with_resource(resource.clone())
            .with_log_processor(LogProcessor(handle, off))
            .build(),
    ))
}
