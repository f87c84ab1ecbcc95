//! The settings cut into what each stage receives: the one place outside `settings/` that reads
//! `Settings`' fields. Every other module takes its own typed part (`export::Config`,
//! `metrics::Config`, `sampling::Plan`, the `traceresponse` answers, the boundary), so that a
//! change in how a setting is represented reaches one stage through one function here
//! (`scripts/module-deps.py` keeps other modules from naming `Settings`).

use crate::settings::{Settings, Source, key_name};

/// The export pipeline's part.
pub(super) fn export(s: &Settings) -> crate::export::Config {
    crate::export::Config {
        spans: s.export.clone(),
        traces_otlp: s.traces_otlp(),
        logs_otlp: s.logs_otlp.clone().filter(|_| s.logs_enabled),
        metrics_have_endpoint: s.metrics_enabled && s.metrics_otlp.is_some(),
        file_max_bytes: s.file_max_bytes,
        file_is_default: matches!(s.source(key_name!("otlp_endpoint")), Some(Source::Default)),
        spool: s.spool_dir.clone().map(|dir| (dir, s.spool_max_bytes)),
        queue: crate::export::QueueConfig {
            max_items: s.batch_max_queue_size,
            max_bytes: s.batch_max_queue_bytes,
            max_batch: s.batch_max_export_batch_size,
            concurrency: s.batch_max_concurrent_exports,
            scheduled_delay: s.batch_scheduled_delay,
            timeout: s.otlp_timeout,
            warn_interval: s.drop_warning_interval,
            redact_fields: s.redact_fields.clone(),
            max_value_len: s.attribute_value_length_limit,
            drop_plain_events: s.logs_enabled && !s.span_events_with_logs,
        },
    }
}

/// The metrics side's part.
#[cfg(feature = "metrics")]
pub(super) fn metrics(s: &Settings) -> crate::metrics::Config {
    crate::metrics::Config {
        enabled: s.metrics_enabled,
        otlp: s.metrics_otlp.clone(),
        file: match &s.export {
            crate::settings::Export::File { path } => Some((path.clone(), s.file_max_bytes)),
            _ => None,
        },
        interval: s.metric_export_interval,
        timeout: s.metric_export_timeout,
        temporality: s.metrics_temporality,
        span_metrics: s.span_metrics,
        span_metrics_max_series: s.span_metrics_max_series,
    }
}

/// Every sampling decision of the stack.
pub(super) fn plan(s: &Settings) -> crate::sampling::Plan {
    let tail = crate::sampling::TailRule::new(
        s.keep_errors,
        s.slow_threshold,
        s.tail_max_buffered_spans,
        s.tail_max_buffered_bytes,
    );
    crate::sampling::Plan::new(s.sampler, s.sampling_rate, tail)
}

/// What the stack answers with `traceresponse`; `processor`: the tail rule's buffer, if any.
pub(super) fn traceresponse(
    s: &Settings,
    processor: Option<std::sync::Arc<crate::export::BatchProcessor>>,
) -> crate::propagation::TraceResponse {
    crate::propagation::TraceResponse::new(
        s.traceresponse,
        s.traceresponse_max_promotions_per_second,
        s.keep_errors,
        s.slow_threshold,
        processor,
    )
}

/// What the stack does at the service's boundary: propagation formats (a caller's deferred
/// decision made at this service's root rate), `plugged` propagators, excluded paths,
/// `traceresponse`, and whether RPC spans carry the previous names too (`rpc/dup`).
pub(super) fn boundary(
    s: &Settings,
    plugged: std::sync::Arc<
        [std::sync::Arc<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>],
    >,
    traceresponse: Option<std::sync::Arc<crate::propagation::TraceResponse>>,
) -> crate::propagation::Boundary {
    crate::propagation::Boundary {
        formats: crate::propagation::Formats::new(&s.propagators, plan(s).defer_rate()),
        plugged,
        exclude_paths: s.exclude_paths.clone().into(),
        rpc_dup: s.semconv_stability_opt_in.iter().any(|d| d == "rpc/dup"),
        traceresponse,
    }
}
