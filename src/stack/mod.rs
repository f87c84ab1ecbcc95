//! The stack tracewire installs, one job per file: [`builder`] (settings in code and the
//! finishers), [`layers`] (the subscriber stack and what the process holds once), [`sdk`] (span
//! limits and the sampler for the OpenTelemetry SDK), [`resource`] and its [`detectors`],
//! [`guard`] (flush, report, shutdown).

mod builder;
mod configs;
mod detectors;
mod guard;
mod layers;
mod plugins;
mod resource;
mod sdk;

pub use builder::{Builder, builder, init};
pub use guard::Guard;

/// Where the test kit collects what the stack would export: spans (the export pipeline's
/// memory sink) and metrics. Here, where both are assembled, so that `export` needs nothing of
/// `metrics`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    pub(crate) spans: crate::export::MemorySink,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: crate::metrics::MetricsMemory,
}
