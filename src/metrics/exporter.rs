//! Where collected metrics go: the OTLP metric exporter (driven on tracewire's runtime), the
//! metrics file beside the file sink, or the test kit's memory. Every export is bounded and
//! counted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use crate::error::{Error, ErrorKind, Result};
use crate::export::Counters;
use crate::export::line_file::LineFile;
use crate::lock::LockExt as _;

/// Where the test kit collects metric exports (as OTLP requests, the shape a collector gets).
pub(crate) type MetricsMemory = Arc<Mutex<Vec<ExportMetricsServiceRequest>>>;

/// The shutdown deadline, set by the guard.
pub(super) type Deadline = Arc<Mutex<Option<Instant>>>;

// One per stack, built once: boxing the exporter would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub(super) enum Sink {
    #[cfg(any(feature = "grpc", feature = "http-proto"))]
    Otlp(opentelemetry_otlp::MetricExporter),
    File(MetricsFile),
    Memory(MetricsMemory),
}

impl Sink {
    /// The sink for metrics: their OTLP endpoint, else the metrics file beside the span file;
    /// `None` when there is neither.
    pub(super) fn for_export(config: &super::Config) -> Result<Option<Sink>> {
        let err = |e: String| Error::new(ErrorKind::Pipeline, e);
        if let Some(otlp) = &config.otlp {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            {
                let temporality = super::sdk_temporality(config.temporality);
                let (exporter, _) =
                    crate::export::otlp::metric_exporter(otlp, temporality).map_err(err)?;
                return Ok(Some(Sink::Otlp(exporter)));
            }
            #[cfg(not(any(feature = "grpc", feature = "http-proto")))]
            return Err(err(format!(
                "cannot export metrics to {}: tracewire was built without the `grpc` and `http-proto` features",
                otlp.url
            )));
        }
        match &config.file {
            Some((path, max_bytes)) => Ok(Some(Sink::File(MetricsFile::open(
                &super::metrics_file(path),
                *max_bytes,
            )))),
            None => Ok(None),
        }
    }
}

/// OTLP/JSON lines, one `ExportMetricsServiceRequest` per export, capped like the span file.
/// Created at the first export with data points: a service without metrics leaves no file.
pub(super) struct MetricsFile(LineFile);

impl MetricsFile {
    fn open(path: &std::path::Path, cap: u64) -> MetricsFile {
        MetricsFile(LineFile::at_first_line(path, cap))
    }

    fn write(&self, request: &ExportMetricsServiceRequest) -> OTelSdkResult {
        let mut line = serde_json::to_vec(request)
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        line.push(b'\n');
        match self.0.append(&line) {
            Ok(true) => Ok(()),
            Ok(false) => Err(OTelSdkError::InternalFailure(
                "the metrics file reached file_max_bytes".into(),
            )),
            Err(e) => Err(OTelSdkError::InternalFailure(e)),
        }
    }
}

/// The exporter the SDK's periodic reader calls, on the reader's own thread.
// Without an OTLP transport only the file and memory sinks exist, which need no runtime.
#[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
pub(super) struct MetricSink {
    sink: Sink,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
    deadline: Deadline,
    counters: Arc<Counters>,
    temporality: Temporality,
    /// The OTLP endpoint, for the warning.
    url: Option<String>,
    /// Set once the endpoint answered that it does not take metrics: nothing more is sent.
    off: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for MetricSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricSink")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl MetricSink {
    pub(super) fn new(
        sink: Sink,
        url: Option<String>,
        runtime: tokio::runtime::Handle,
        timeout: Duration,
        deadline: Deadline,
        counters: Arc<Counters>,
        temporality: Temporality,
    ) -> MetricSink {
        MetricSink {
            sink,
            url,
            runtime,
            timeout,
            deadline,
            counters,
            temporality,
            off: Default::default(),
        }
    }

    /// The export timeout, or less once the shutdown deadline is near.
    #[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
    fn limit(&self) -> Duration {
        match *self.deadline.lock_or_recover() {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .min(self.timeout),
            None => self.timeout,
        }
    }

    fn send(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let request = || ExportMetricsServiceRequest::from(metrics);
        match &self.sink {
            #[cfg(any(feature = "grpc", feature = "http-proto"))]
            Sink::Otlp(e) => {
                let limit = self.limit();
                // Polled here, on the reader's thread, with tracewire's runtime driving the
                // connection; the exporter's own crates (tonic, hyper, h2) must not log into the
                // stack they serve, as on the export runtime's threads.
                let none = tracing::Dispatch::none();
                tracing::dispatcher::with_default(&none, || {
                    self.runtime
                        .block_on(async { tokio::time::timeout(limit, e.export(metrics)).await })
                })
                .unwrap_or(Err(OTelSdkError::Timeout(limit)))
            }
            Sink::File(f) => {
                let request = request();
                if request
                    .resource_metrics
                    .iter()
                    .all(|r| r.scope_metrics.is_empty())
                {
                    return Ok(());
                }
                f.write(&request)
            }
            Sink::Memory(m) => {
                m.lock_or_recover().push(request());
                Ok(())
            }
        }
    }
}

impl PushMetricExporter for MetricSink {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        use std::sync::atomic::Ordering::Relaxed;
        if self.off.load(Relaxed) {
            return Ok(());
        }
        let outcome = self.send(metrics);
        match &outcome {
            Ok(()) => self.counters.exported_metric_batches.fetch_add(1, Relaxed),
            Err(e) => {
                let text = e.to_string();
                // A trace-only backend: one warning and one failed export, not one every interval.
                #[cfg(any(feature = "grpc", feature = "http-proto"))]
                if let (Sink::Otlp(_), Some(url)) = (&self.sink, &self.url)
                    && crate::export::ExportError::from_dependency(text.clone()).signal_not_served()
                    && !self.off.swap(true, Relaxed)
                {
                    crate::export::otlp::warn_signal_off("metrics", url, &text);
                }
                self.counters
                    .set_last_error(format!("metric export failed: {text}"));
                self.counters.failed_metric_batches.fetch_add(1, Relaxed)
            }
        };
        outcome
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        #[cfg(any(feature = "grpc", feature = "http-proto"))]
        if let Sink::Otlp(e) = &self.sink {
            let _ = e.shutdown();
        }
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}
