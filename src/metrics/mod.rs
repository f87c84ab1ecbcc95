//! Metrics (feature `metrics`): the semantic-convention histograms of the HTTP and messaging
//! integrations, RED metrics per span name (`span_metrics`), the users' own instruments through
//! the global meter provider, all exported by OTLP (or to a file beside the spans).
//!
//! Every measurement comes from a tracing span as it closes ([`MetricsLayer`]), whether or not
//! its trace was sampled: the head-sampling gate only keeps unsampled spans from the
//! OpenTelemetry layer, never from this one. So at `sampling_rate = 0.01` the request count and
//! its latency distribution are exact, where a backend deriving metrics from the 1% of spans it
//! receives can only estimate them.
//!
//! The SDK's `PeriodicReader` collects on its own thread; the export itself runs on tracewire's
//! runtime through [`exporter::MetricSink`], bounded by `metric_export_timeout_ms` and, at
//! shutdown, by the guard's deadline, and counted in `Stats`. The SDK in use (0.33) records no
//! exemplars (its data points always carry none), so a histogram bucket does not yet lead to a
//! trace.

mod exporter;
mod from_events;
mod from_spans;

use std::time::Instant;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{
    Instrument, PeriodicReader, SdkMeterProvider, Stream, Temporality,
};

pub(crate) use exporter::MetricsMemory;
pub(crate) use from_spans::MetricsLayer;

use crate::error::{Error, ErrorKind, Result};
use crate::export::Pipeline;
use crate::lock::LockExt as _;
use crate::settings::{MetricsTemporality, OtlpExport};

/// The SDK's temporality for the setting.
pub(crate) fn sdk_temporality(t: MetricsTemporality) -> Temporality {
    match t {
        MetricsTemporality::Delta => Temporality::Delta,
        MetricsTemporality::LowMemory => Temporality::LowMemory,
        _ => Temporality::Cumulative,
    }
}

/// The metrics side of a stack, owned by the guard.
#[derive(Debug, Clone)]
pub(crate) struct Meters {
    pub(crate) provider: SdkMeterProvider,
    /// Set at shutdown: the last export finishes by then.
    deadline: exporter::Deadline,
}

impl Meters {
    /// Exports the last interval and stops, by `deadline` (the reader itself waits at most 5 s).
    pub(crate) fn shutdown(&self, deadline: Instant) -> Result<()> {
        *self.deadline.lock_or_recover() = Some(deadline);
        self.provider.shutdown().map_err(|e| {
            Error::new(
                ErrorKind::Shutdown,
                format!("metrics: the last export did not complete ({e})"),
            )
        })
    }

    /// Collects and exports now (the test kit's `Capture::metrics`, `Guard::flush`).
    pub(crate) fn flush(&self) -> Result<()> {
        self.provider
            .force_flush()
            .map_err(|e| Error::new(ErrorKind::Pipeline, format!("metrics flush: {e}")))
    }
}

/// Names of the histograms and counters tracewire records.
pub(crate) mod names {
    pub(crate) const HTTP_SERVER: &str = "http.server.request.duration";
    pub(crate) const HTTP_CLIENT: &str = "http.client.request.duration";
    pub(crate) const RPC_SERVER: &str = "rpc.server.call.duration";
    pub(crate) const RPC_CLIENT: &str = "rpc.client.call.duration";
    pub(crate) const MESSAGING_PROCESS: &str = "messaging.process.duration";
    pub(crate) const MESSAGING_CLIENT: &str = "messaging.client.operation.duration";
    pub(crate) const DB_CLIENT: &str = "db.client.operation.duration";
    pub(crate) const HTTP_SERVER_ACTIVE: &str = "http.server.active_requests";
    pub(crate) const SPAN_CALLS: &str = "traces.span.metrics.calls";
    pub(crate) const SPAN_DURATION: &str = "traces.span.metrics.duration";
}

/// What the metrics side is told: the typed part of the settings it needs, cut from `Settings`
/// by the stack.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// `metrics_enabled`.
    pub(crate) enabled: bool,
    /// Metrics' own OTLP transport; without one, the metrics file beside `file`.
    pub(crate) otlp: Option<OtlpExport>,
    /// The span file and `file_max_bytes`, when spans go to a file.
    pub(crate) file: Option<(std::path::PathBuf, u64)>,
    /// `metric_export_interval_ms`.
    pub(crate) interval: std::time::Duration,
    /// `metric_export_timeout_ms`.
    pub(crate) timeout: std::time::Duration,
    /// `metrics_temporality`.
    pub(crate) temporality: MetricsTemporality,
    /// `span_metrics`.
    pub(crate) span_metrics: bool,
    /// `span_metrics_max_series`.
    pub(crate) span_metrics_max_series: usize,
}

/// The meter provider exporting where the spans go, and the layer that records from spans.
/// `None` when metrics are off or there is nowhere to export.
pub(crate) fn build(
    config: &Config,
    resource: &Resource,
    pipeline: &Pipeline,
    memory: Option<MetricsMemory>,
) -> Result<Option<(Meters, MetricsLayer)>> {
    if !config.enabled {
        return Ok(None);
    }
    let Some(rt) = pipeline.runtime() else {
        return Ok(None);
    };
    let runtime = rt.handle().clone();
    // tonic's channel is made (lazily connected) on the runtime that will drive it.
    let _on_runtime = rt.enter();
    let deadline = exporter::Deadline::default();
    let sink = match memory {
        Some(m) => exporter::Sink::Memory(m),
        None => match exporter::Sink::for_export(config)? {
            Some(sink) => sink,
            None => return Ok(None),
        },
    };
    let exporter = exporter::MetricSink::new(
        sink,
        config.otlp.as_ref().map(|o| o.url.clone()),
        runtime,
        config.timeout,
        deadline.clone(),
        pipeline.counters.clone(),
        sdk_temporality(config.temporality),
    );
    let reader = PeriodicReader::builder(exporter)
        .with_interval(config.interval)
        .build();
    let max_series = config.span_metrics_max_series;
    // Span metrics get their own cap: span names are the user's, and 10,000 of them must not
    // become 10,000 series (the rest is counted in one `otel.metric.overflow` series).
    let cap = move |i: &Instrument| {
        i.name()
            .starts_with("traces.span.metrics.")
            .then(|| {
                Stream::builder()
                    .with_cardinality_limit(max_series)
                    .build()
                    .ok()
            })
            .flatten()
    };
    let provider = SdkMeterProvider::builder()
        .with_resource(resource.clone())
        .with_reader(reader)
        .with_view(cap)
        .build();
    let meter = provider.meter("tracewire");
    let layer = MetricsLayer::new(&meter, config.span_metrics);
    Ok(Some((Meters { provider, deadline }, layer)))
}

/// Where the metrics of a file sink go: `tracewire-spans.jsonl` → `tracewire-metrics.jsonl`,
/// any other `x.jsonl` → `x-metrics.jsonl`, beside it.
pub(crate) fn metrics_file(spans: &std::path::Path) -> std::path::PathBuf {
    let name = spans
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let metrics = if name.contains("spans") {
        name.replacen("spans", "metrics", 1)
    } else {
        match name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}-metrics.{ext}"),
            None => format!("{name}-metrics"),
        }
    };
    spans.with_file_name(metrics)
}

/// The semantic conventions' bucket boundaries for request and operation durations, seconds.
pub(crate) const DURATION_BUCKETS_S: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The database conventions' bucket boundaries for `db.client.operation.duration`, seconds.
pub(crate) const DB_DURATION_BUCKETS_S: &[f64] =
    &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

/// The collector's span-metrics connector's default boundaries, milliseconds: dashboards built
/// for it read these series as they are.
pub(crate) const SPAN_BUCKETS_MS: &[f64] = &[
    2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1000.0, 1400.0, 2000.0, 5000.0,
    10_000.0, 15_000.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_file_sits_beside_the_spans() {
        let p = |s: &str| metrics_file(std::path::Path::new(s));
        assert_eq!(
            p("tracewire-spans.jsonl"),
            std::path::PathBuf::from("tracewire-metrics.jsonl")
        );
        assert_eq!(
            p("/tmp/out/x.jsonl"),
            std::path::PathBuf::from("/tmp/out/x-metrics.jsonl")
        );
        assert_eq!(p("trace"), std::path::PathBuf::from("trace-metrics"));
    }
}
