use std::fmt;

/// A `Result` whose error is tracewire's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, for callers that branch on it.
///
/// ```
/// let err = tracewire::builder().with_sampling_rate(1.5).settings().unwrap_err();
/// assert_eq!(err.kind(), tracewire::ErrorKind::Config);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A setting has a value that is not allowed, a key is unknown, or a settings file could not be read.
    Config,
    /// `init()` was already called in this process: the first stack stays installed.
    AlreadyInitialized,
    /// The export pipeline could not be built (runtime, exporter, file sink).
    Pipeline,
    /// A remote parent could not be attached to a span (it was already entered, or no
    /// OpenTelemetry layer is installed).
    Propagation,
    /// Flushing or shutting down did not complete within `shutdown_timeout_ms`, or an export failed.
    Shutdown,
}

/// tracewire's error: a kind and a message meant for the person who reads it.
///
/// The message of a [`ErrorKind::Config`] error names the key or environment variable,
/// the value found and what is allowed.
///
/// ```
/// let err = tracewire::builder().with_sampling_rate(1.5).settings().unwrap_err();
/// assert!(err.to_string().contains("sampling_rate"));
/// assert!(err.to_string().contains("1.5"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    stats: Option<Box<crate::Stats>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            stats: None,
        }
    }

    /// A shutdown error with the final counts.
    pub(crate) fn with_stats(mut self, stats: crate::Stats) -> Self {
        self.stats = Some(Box::new(stats));
        self
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// The kind of this error.
    ///
    /// ```
    /// # let err = tracewire::builder().with_sampling_rate(-1.0).settings().unwrap_err();
    /// if err.kind() == tracewire::ErrorKind::Config { /* fix settings.toml */ }
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The final counts, on an error of [`Guard::shutdown`](crate::Guard::shutdown) (kind
    /// [`ErrorKind::Shutdown`]): what was delivered and what was lost, by cause, without parsing
    /// the message. `None` on other errors.
    ///
    /// ```
    /// # let guard = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
    /// #     .with_log_writer(std::io::sink()).set_default()?;
    /// let stats = match guard.shutdown() {
    ///     Ok(stats) => stats,
    ///     Err(e) => e.stats().unwrap_or_default(),
    /// };
    /// assert_eq!(stats.dropped(), 0);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn stats(&self) -> Option<crate::Stats> {
        self.stats.as_deref().copied()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `main() -> Result<(), Box<dyn Error>>` prints Debug: keep it as readable as Display.
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}
