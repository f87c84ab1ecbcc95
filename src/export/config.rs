//! What the export side is told: the typed part of the settings it needs, cut from `Settings` by
//! the stack (the one place that reads them), as opentelemetry-otlp's exporters take an
//! `ExportConfig` rather than the whole configuration.

use std::path::PathBuf;
use std::time::Duration;

use crate::settings::{Export, OtlpExport};

/// The export pipeline's settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Where spans go.
    pub(crate) spans: Export,
    /// The span client's transport (with `spans` = OTLP).
    #[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
    pub(crate) traces_otlp: Option<OtlpExport>,
    /// Log records' transport (`Some` only with `logs_enabled`): they need a collector.
    pub(crate) logs_otlp: Option<OtlpExport>,
    /// Metrics have an OTLP endpoint of their own: the pipeline runs for them even when spans
    /// go nowhere.
    pub(crate) metrics_have_endpoint: bool,
    /// `file_max_bytes`.
    pub(crate) file_max_bytes: u64,
    /// The file sink's path is the default one (no endpoint configured): a missing directory is
    /// then the machine's state, not a typo.
    pub(crate) file_is_default: bool,
    /// `spool_dir` and `spool_max_bytes`.
    #[cfg_attr(not(any(feature = "grpc", feature = "http-proto")), allow(dead_code))]
    pub(crate) spool: Option<(PathBuf, u64)>,
    /// Every signal's queue.
    pub(crate) queue: QueueConfig,
}

/// One signal's queue and export task.
#[derive(Debug, Clone)]
pub(crate) struct QueueConfig {
    /// `batch_max_queue_size`.
    pub(crate) max_items: usize,
    /// `batch_max_queue_bytes`.
    pub(crate) max_bytes: usize,
    /// `batch_max_export_batch_size`.
    pub(crate) max_batch: usize,
    /// `batch_max_concurrent_exports`.
    pub(crate) concurrency: usize,
    /// `batch_scheduled_delay_ms`.
    pub(crate) scheduled_delay: Duration,
    /// `otlp_timeout_ms`: each export request's bound.
    pub(crate) timeout: Duration,
    /// `drop_warning_interval_ms`.
    pub(crate) warn_interval: Duration,
    /// `redact_fields`, applied again before the wire.
    pub(crate) redact_fields: Vec<String>,
    /// `attribute_value_length_limit`.
    pub(crate) max_value_len: usize,
    /// Plain events go as log records instead (`logs_enabled` without `span_events_with_logs`).
    pub(crate) drop_plain_events: bool,
}
