//! The guard: keeps the pipeline alive, reports what was not delivered, and shuts down
//! within `shutdown_timeout_ms`.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::error::{Error, ErrorKind, Result};
use crate::export::{Counters, Pipeline};
use crate::stats::Stats;

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) provider: Option<SdkTracerProvider>,
    #[cfg(feature = "logs")]
    pub(super) logger: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    #[cfg(feature = "metrics")]
    pub(super) meters: Option<crate::metrics::Meters>,
    pub(super) pipeline: Option<Pipeline>,
    pub(super) counters: Option<Arc<Counters>>,
    pub(super) timeout: Duration,
    pub(super) scope: Option<tracing::dispatcher::DefaultGuard>,
}

impl Inner {
    pub(super) fn stats(&self) -> Stats {
        self.counters
            .as_ref()
            .map(|c| c.snapshot())
            .unwrap_or_default()
    }

    /// Flushes, shuts the exporters down and stops the export runtime, all within `timeout`:
    /// one deadline for every signal, so that their shutdowns do not add up.
    pub(super) fn shutdown(&mut self) -> Result<Stats> {
        let deadline = std::time::Instant::now() + self.timeout;
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        #[cfg(feature = "logs")]
        if let Some(logger) = self.logger.take() {
            let _ = logger.shutdown_with_timeout(left());
        }
        let mut late = None;
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown_with_timeout(left())
        {
            late = Some(e.to_string());
        }
        // The last interval, on the runtime the spans used (still running until `stop`).
        #[cfg(feature = "metrics")]
        if let Some(meters) = self.meters.take()
            && let Err(e) = meters.shutdown(deadline)
            && late.is_none()
        {
            late = Some(e.to_string());
        }
        if let Some(mut p) = self.pipeline.take() {
            p.stop();
        }
        let stats = self.stats();
        let report = self
            .counters
            .as_ref()
            .map(|c| c.report())
            .unwrap_or_else(|| stats.to_string());
        if stats.dropped() > 0 {
            crate::stats::warn_lost!(
                stats,
                report.as_str(),
                "spans were not delivered",
                at_shutdown = stats.dropped_at_shutdown,
                exported = stats.exported_spans,
            );
        }
        // Leave the scoped subscriber last, so that what shutdown reports is still seen.
        self.scope.take();
        if let Some(e) = late {
            Err(Error::new(
                ErrorKind::Shutdown,
                format!(
                    "tracewire: shutdown did not complete within {:?} ({e}): {report}",
                    self.timeout
                ),
            )
            .with_stats(stats))
        } else if stats.dropped() > 0 || stats.dropped_logs > 0 {
            Err(Error::new(
                ErrorKind::Shutdown,
                format!("tracewire: not everything was delivered: {report}"),
            )
            .with_stats(stats))
        } else {
            Ok(stats)
        }
    }

    /// Undo a stack that was built but could not be installed.
    pub(super) fn abandon(&mut self) {
        self.timeout = Duration::ZERO;
        let _ = self.shutdown();
    }
}

/// Keeps the pipeline alive; dropping it flushes and shuts down, bounded by `shutdown_timeout_ms`.
///
/// ```
/// let guard = tracewire::builder().without_settings_file()
///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
///     .with_log_writer(std::io::sink())
///     .set_default()?;
/// assert_eq!(guard.stats().dropped(), 0);
/// guard.shutdown()?;
/// # Ok::<(), tracewire::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard at once shuts tracing down: keep it alive for the program's life (`let _guard = ...`)"]
pub struct Guard {
    pub(super) inner: Option<Inner>,
}

impl Guard {
    /// Counters of exported and dropped spans so far.
    ///
    /// ```
    /// # let guard = tracewire::builder().without_settings_file().with_env([("OTEL_SDK_DISABLED", "true")])
    /// #     .with_log_writer(std::io::sink()).set_default()?;
    /// let stats = guard.stats();
    /// println!("{} exported, {} dropped", stats.exported_spans, stats.dropped());
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.inner.as_ref().map(Inner::stats).unwrap_or_default()
    }

    /// A meter of this stack's meter provider (feature `metrics`) for instruments of your own:
    /// the same resource, export and shutdown as tracewire's metrics. `None` when metrics are
    /// off. (`init()` also installs the provider globally, for `opentelemetry::global::meter`.)
    ///
    /// ```
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_EXPORTER_OTLP_ENDPOINT", "file:/dev/null")])
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// let orders = guard.meter("checkout").unwrap().u64_counter("orders").build();
    /// orders.add(1, &[]);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    #[cfg(feature = "metrics")]
    pub fn meter(&self, name: &'static str) -> Option<opentelemetry::metrics::Meter> {
        use opentelemetry::metrics::MeterProvider as _;
        let meters = self.inner.as_ref()?.meters.as_ref()?;
        Some(meters.provider.meter(name))
    }

    /// Exports every finished span (and, with metrics, the measurements so far) now and waits
    /// for it.
    ///
    /// ```
    /// # let guard = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
    /// #     .with_log_writer(std::io::sink()).set_default()?;
    /// guard.flush()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn flush(&self) -> Result<()> {
        #[cfg(feature = "logs")]
        if let Some(logger) = self.inner.as_ref().and_then(|i| i.logger.as_ref()) {
            let _ = logger.force_flush();
        }
        #[cfg(feature = "metrics")]
        if let Some(meters) = self.inner.as_ref().and_then(|i| i.meters.as_ref()) {
            meters.flush()?;
        }
        match self.inner.as_ref().and_then(|i| i.provider.as_ref()) {
            Some(p) => p.force_flush().map_err(|e| {
                Error::new(ErrorKind::Shutdown, format!("tracewire: flush failed: {e}"))
            }),
            None => Ok(()),
        }
    }

    /// Flushes and shuts down, within `shutdown_timeout_ms`, and gives the final counts. An
    /// error says what was not delivered and carries the same counts ([`Error::stats`]); the
    /// pipeline is stopped either way.
    ///
    /// ```
    /// # let guard = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
    /// #     .with_log_writer(std::io::sink()).set_default()?;
    /// let stats = guard.shutdown()?;
    /// assert_eq!(stats.dropped(), 0);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn shutdown(mut self) -> Result<Stats> {
        match self.inner.take() {
            Some(mut inner) => inner.shutdown(),
            None => Ok(Stats::default()),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut inner) = self.inner.take()
            && let Err(e) = inner.shutdown()
        {
            // Drop cannot return the error: never lose spans silently.
            eprintln!("{e}");
        }
    }
}
