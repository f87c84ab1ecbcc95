//! The builder: settings in code, and the finishers that install tracewire's stack
//! (`init`, `set_default`) or hand it over (`layer`).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::{Layer, Registry};

use super::guard::Guard;
use super::layers::{
    BoxedLayer, already_initialized, build, build_parts, filtered, set_process_state,
};
use crate::error::{Error, ErrorKind, Result};
use crate::layers::json_lines::LogWriter;
use crate::settings::{FileChoice, LogFormat, Protocol, Raw, Settings};

mod setters;

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Reads `settings.toml` and the environment, installs the global subscriber stack and returns
/// the [`Guard`] that flushes it.
///
/// Unlike tracing-subscriber's `init()`, this returns a `Result`: a typo in `settings.toml` is the
/// caller's to report, not a panic. A second call returns an error of kind
/// [`ErrorKind::AlreadyInitialized`] and leaves the first stack working.
///
/// ```no_run
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _guard = tracewire::init()?;
///     tracing::info!(answer = 42, "ready");
///     Ok(())
/// }
/// ```
pub fn init() -> Result<Guard> {
    builder().init()
}

/// A [`Builder`] with nothing set in code: settings come from the file and the environment.
///
/// ```
/// let settings = tracewire::builder()
///     .without_settings_file()
///     .with_env([("OTEL_SERVICE_NAME", "checkout")])
///     .with_sampling_rate(0.25)
///     .settings()?;
/// assert_eq!(settings.service_name, "checkout");
/// assert_eq!(settings.sampling_rate, 0.25);
/// # Ok::<(), tracewire::Error>(())
/// ```
pub fn builder() -> Builder {
    Builder::default()
}

/// Sets values in code (the highest precedence) and installs the stack.
///
/// Each `with_*` method sets one `[observability]` key, named in its documentation
/// (`with_service_name` sets `service_name_override`).
#[derive(Default)]
#[must_use = "a builder does nothing until `init()`, `set_default()` or `settings()` is called"]
pub struct Builder {
    code: Vec<(&'static str, Raw)>,
    env: Option<HashMap<String, String>>,
    file: FileChoice,
    writer: LogWriter,
    memory: Option<crate::stack::Memory>,
    /// The user's layers, installed beside tracewire's by `init()` / `set_default()`.
    extra: Vec<BoxedLayer>,
    /// A sampler, processors, propagators, detectors, an id generator of the user's.
    plugins: super::plugins::Plugins,
    /// A key `with_setting` did not know: reported by `settings()`.
    unknown: Option<Error>,
}

/// What was set, with secrets left out: header values (API keys) in code, the values of
/// injected environment variables, and settings text.
impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code: Vec<String> = self
            .code
            .iter()
            .map(|(k, v)| match (k, v) {
                (&"otlp_headers", Raw::Map(m)) => {
                    let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
                    format!("otlp_headers = {names:?} (values redacted)")
                }
                _ => format!("{k} = {v}"),
            })
            .collect();
        let env: Option<Vec<&String>> = self.env.as_ref().map(|e| e.keys().collect());
        let file = match &self.file {
            FileChoice::Text(t) => format!("Text({} bytes)", t.len()),
            other => format!("{other:?}"),
        };
        f.debug_struct("Builder")
            .field("code", &code)
            .field("env_names", &env)
            .field("file", &file)
            .field("writer", &self.writer)
            .field("extra_layers", &self.extra.len())
            .field("plugins", &self.plugins)
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $fn:ident, $key:literal, $t:ty, |$v:ident| $raw:expr) => {
        $(#[$doc])*
        pub fn $fn(mut self, $v: $t) -> Self {
            self.code.push(($key, $raw));
            self
        }
    };
}

impl Builder {
    setter!(
        /// `enabled`: the master switch.
        ///
        /// ```
        /// let s = tracewire::builder().without_settings_file().with_enabled(false).settings()?;
        /// assert!(!s.enabled);
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_enabled, "enabled", bool, |v| Raw::Bool(v));
    setter!(
        /// `tracing_enabled`: span export on/off.
        ///
        /// ```
        /// let s = tracewire::builder().without_settings_file().with_tracing_enabled(false).settings()?;
        /// assert!(!s.tracing_enabled);
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_tracing_enabled, "tracing_enabled", bool, |v| Raw::Bool(v));
    setter!(
        /// `otlp_endpoint`: `http://host:port[/path]` or `file:PATH`.
        ///
        /// ```
        /// let s = tracewire::builder().without_settings_file()
        ///     .with_otlp_endpoint("http://localhost:4317").settings()?;
        /// assert!(matches!(s.export, tracewire::settings::Export::Otlp { protocol: tracewire::settings::Protocol::Grpc, .. }));
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_otlp_endpoint, "otlp_endpoint", impl Into<String>, |v| Raw::Str(v.into()));
    setter!(
        /// `otlp_protocol`.
        ///
        /// ```
        /// use tracewire::settings::Protocol;
        /// let s = tracewire::builder().without_settings_file()
        ///     .with_otlp_endpoint("http://localhost:9999")
        ///     .with_otlp_protocol(Protocol::Grpc).settings()?;
        /// assert!(matches!(s.export, tracewire::settings::Export::Otlp { protocol: Protocol::Grpc, .. }));
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_otlp_protocol, "otlp_protocol", Protocol, |v| Raw::Str(v.to_string()));
    setter!(
        /// `otlp_timeout_ms`: the timeout of one export request.
        ///
        /// ```
        /// # use std::time::Duration;
        /// let s = tracewire::builder().without_settings_file()
        ///     .with_otlp_timeout(Duration::from_secs(2)).settings()?;
        /// assert_eq!(s.otlp_timeout, Duration::from_secs(2));
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_otlp_timeout, "otlp_timeout_ms", Duration, |v| Raw::Int(v.as_millis().min(i64::MAX as u128) as i64));
    setter!(
        /// `sampling_rate`: `0.0..=1.0`, parent-based.
        ///
        /// ```
        /// let err = tracewire::builder().without_settings_file().with_sampling_rate(2.0).settings().unwrap_err();
        /// assert!(err.to_string().contains("0.0 to 1.0"));
        /// ```
        with_sampling_rate, "sampling_rate", f64, |v| Raw::Float(v));
    setter!(
        /// `service_name_override`: `service.name` of every span.
        ///
        /// ```
        /// let s = tracewire::builder().without_settings_file().with_service_name("checkout").settings()?;
        /// assert_eq!(s.service_name, "checkout");
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_service_name, "service_name_override", impl Into<String>, |v| Raw::Str(v.into()));
    setter!(
        /// `service_version`: `service.version`, typically `env!("CARGO_PKG_VERSION")`.
        ///
        /// ```
        /// let s = tracewire::builder().without_settings_file()
        ///     .with_service_version(env!("CARGO_PKG_VERSION")).settings()?;
        /// assert!(s.service_version.is_some());
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_service_version, "service_version", impl Into<String>, |v| Raw::Str(v.into()));
    setter!(
        /// `log_level`: env-filter directives.
        ///
        /// ```
        /// let s = tracewire::builder().without_settings_file().with_log_level("warn,my_app=debug").settings()?;
        /// assert_eq!(s.log_level, "warn,my_app=debug");
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_log_level, "log_level", impl Into<String>, |v| Raw::Str(v.into()));
    setter!(
        /// `log_format`.
        ///
        /// ```
        /// use tracewire::settings::LogFormat;
        /// let s = tracewire::builder().without_settings_file().with_log_format(LogFormat::Compact).settings()?;
        /// assert_eq!(s.log_format, LogFormat::Compact);
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_log_format, "log_format", LogFormat, |v| Raw::Str(v.name().into()));
    setter!(
        /// `shutdown_timeout_ms`: bound on flush + shutdown.
        ///
        /// ```
        /// # use std::time::Duration;
        /// let s = tracewire::builder().without_settings_file()
        ///     .with_shutdown_timeout(Duration::from_millis(500)).settings()?;
        /// assert_eq!(s.shutdown_timeout, Duration::from_millis(500));
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_shutdown_timeout, "shutdown_timeout_ms", Duration, |v| Raw::Int(v.as_millis().min(i64::MAX as u128) as i64));
    setter!(
        /// `batch_scheduled_delay_ms`: how long a finished span may wait before it is sent.
        ///
        /// ```
        /// # use std::time::Duration;
        /// let s = tracewire::builder().without_settings_file()
        ///     .with_batch_scheduled_delay(Duration::from_millis(100)).settings()?;
        /// assert_eq!(s.batch_scheduled_delay, Duration::from_millis(100));
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_batch_scheduled_delay, "batch_scheduled_delay_ms", Duration, |v| Raw::Int(v.as_millis().min(i64::MAX as u128) as i64));

    /// Adds one `otlp_headers` entry (sent with every export request, never printed).
    ///
    /// ```
    /// let s = tracewire::builder().without_settings_file()
    ///     .with_otlp_header("authorization", "Bearer t0ken").settings()?;
    /// assert_eq!(s.otlp_headers, vec![("authorization".to_string(), "Bearer t0ken".to_string())]);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.code
            .push(("otlp_headers", Raw::Map(vec![(name.into(), value.into())])));
        self
    }

    /// Adds one resource attribute.
    ///
    /// ```
    /// let s = tracewire::builder().without_settings_file()
    ///     .with_resource_attribute("team", "payments").settings()?;
    /// assert!(s.resource_attributes.contains(&("team".to_string(), "payments".to_string())));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.code.push((
            "resource_attributes",
            Raw::Map(vec![(key.into(), value.into())]),
        ));
        self
    }

    /// Reads this settings file instead of `settings.toml`; it must exist.
    ///
    /// ```
    /// let err = tracewire::builder().with_settings_file("/no/such/settings.toml").settings().unwrap_err();
    /// assert!(err.to_string().contains("/no/such/settings.toml"));
    /// ```
    pub fn with_settings_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = FileChoice::Path(path.into());
        self
    }

    /// Reads settings from this TOML text instead of a file (embedded defaults, tests).
    ///
    /// ```
    /// let s = tracewire::builder()
    ///     .with_settings_toml("[observability]\nsampling_rate = 0.5\n")
    ///     .with_env::<[(&str, &str); 0], _, _>([])
    ///     .settings()?;
    /// assert_eq!(s.sampling_rate, 0.5);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_settings_toml(mut self, text: impl Into<String>) -> Self {
        self.file = FileChoice::Text(text.into());
        self
    }

    /// Reads no settings file at all (not even `settings.toml`).
    ///
    /// ```
    /// let s = tracewire::builder().without_settings_file().with_env::<[(&str, &str); 0], _, _>([]).settings()?;
    /// assert_eq!(s.sampling_rate, 1.0);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn without_settings_file(mut self) -> Self {
        self.file = FileChoice::None;
        self
    }

    /// Uses these variables instead of the process environment (tests, embedding): the
    /// environment is then not read at all.
    ///
    /// ```
    /// let s = tracewire::builder().without_settings_file()
    ///     .with_env([("TRACEWIRE_SAMPLING_RATE", "0.5")]).settings()?;
    /// assert_eq!(s.sampling_rate, 0.5);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Writes log lines to `writer` instead of stdout.
    ///
    /// ```
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// tracing::info!("goes nowhere");
    /// drop(guard);
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_log_writer<W: Write + Send + 'static>(mut self, writer: W) -> Self {
        self.writer = LogWriter::Custom(Arc::new(Mutex::new(Box::new(writer))));
        self
    }

    /// Resolves the effective settings without installing anything.
    ///
    /// ```
    /// let s = tracewire::builder().without_settings_file().with_env([("RUST_LOG", "debug")]).settings()?;
    /// assert_eq!(s.log_level, "debug");
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn settings(&self) -> Result<Settings> {
        if let Some(e) = &self.unknown {
            return Err(e.clone());
        }
        let process_env;
        let env = match &self.env {
            Some(e) => e,
            None => {
                process_env = crate::settings::process_env();
                &process_env
            }
        };
        Settings::resolve(env, &self.file, &self.code)
    }

    /// Installs the stack as the global default. See [`init`].
    ///
    /// ```no_run
    /// let _guard = tracewire::builder().with_service_name("checkout").init()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn init(self) -> Result<Guard> {
        if INSTALLED.load(Ordering::SeqCst) {
            return Err(already_initialized());
        }
        let settings = self.settings()?;
        let (dispatch, mut inner) = build(&settings, self.writer, None, self.extra, self.plugins)?;
        if INSTALLED.swap(true, Ordering::SeqCst) {
            inner.abandon();
            return Err(already_initialized());
        }
        if tracing::dispatcher::set_global_default(dispatch).is_err() {
            inner.abandon();
            return Err(Error::new(
                ErrorKind::AlreadyInitialized,
                "another global tracing subscriber is already installed; tracewire::init() must be the only one",
            ));
        }
        set_process_state(&settings, &inner);
        Ok(Guard { inner: Some(inner) })
    }

    /// tracewire's layers as one [`Layer`], for a subscriber of your own: put it on
    /// `tracing_subscriber::registry()` beside your layers (tokio-console, Sentry, your own).
    /// It carries its own filter (`log_level`), which decides for it only. What `init()` sets
    /// process-wide (the OpenTelemetry tracer provider and propagator) is set here too: call
    /// it once per process, as `init()`.
    ///
    /// The one constraint: a [`Registry`] underneath (tracewire finds its data on the
    /// registry's spans). The `log` crate's bridge (`log_bridge`) is left to your subscriber's
    /// `init()`, which installs it with tracing-subscriber's `tracing-log` feature.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt as _;
    /// let (layer, guard) = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_log_writer(std::io::sink())
    ///     .layer()?;
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(layer)
    ///     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink));
    /// tracing::subscriber::with_default(subscriber, || {
    ///     tracing::info_span!("work").in_scope(|| assert!(tracewire::propagation::current_trace_id().is_some()));
    /// });
    /// guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn layer(self) -> Result<(BoxedLayer, Guard)> {
        let settings = self.settings()?;
        let (parts, inner) = build_parts(&settings, self.writer, self.memory, self.plugins)?;
        set_process_state(&settings, &inner);
        Ok((filtered(parts), Guard { inner: Some(inner) }))
    }

    /// Sets any `[observability]` key in code (the highest precedence), by its name in
    /// `settings.toml`, with the same checks and error messages as the file and the
    /// environment. An unknown key is an error of [`settings`](Self::settings) / `init()`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = tracewire::builder().without_settings_file()
    ///     .with_setting("sampler", "parentbased_always_on")
    ///     .with_setting("keep_errors", true)
    ///     .with_setting("slow_threshold_ms", Duration::from_millis(500))
    ///     .with_setting("exclude_paths", vec!["/health", "/metrics/*"])
    ///     .settings()?;
    /// assert!(s.keep_errors);
    /// assert_eq!(s.exclude_paths, ["/health", "/metrics/*"]);
    /// assert_eq!(s.source("sampler"), Some(&tracewire::settings::Source::Code));
    ///
    /// let err = tracewire::builder().without_settings_file()
    ///     .with_setting("samplng_rate", 0.5).settings().unwrap_err();
    /// assert!(err.to_string().contains("did you mean `sampling_rate`?"));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_setting(
        mut self,
        key: &str,
        value: impl Into<crate::settings::SettingValue>,
    ) -> Self {
        match crate::settings::known_key(key) {
            Ok(name) => self.code.push((name, value.into().0)),
            Err(e) => {
                self.unknown.get_or_insert(e);
            }
        }
        self
    }

    /// Adds one of your layers beside tracewire's in the stack `init()` or `set_default()`
    /// installs (tracewire's then get their own filter, so that `log_level` does not decide for
    /// yours). A layer with a filter of its own: `my_layer.with_filter(...)`.
    ///
    /// ```
    /// use tracing_subscriber::Layer as _;
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_log_writer(std::io::sink())
    ///     .with_layer(tracing_subscriber::fmt::layer().with_writer(std::io::sink)
    ///         .with_filter(tracing_subscriber::filter::LevelFilter::WARN))
    ///     .set_default()?;
    /// tracing::warn!("seen by both");
    /// guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Registry> + Send + Sync + 'static,
    {
        self.extra.push(Box::new(layer));
        self
    }

    /// Decides sampling with a sampler of your own instead of `sampler` / `sampling_rate`: drop
    /// health checks by name or attribute, ask a remote sampling service. It is asked for every
    /// span with the span's parent context, name, kind and the attributes known when the span is
    /// created (tracewire's head-sampling shortcut stands aside, so an unsampled span costs what
    /// a sampled one costs to create); a valid parent does not short-cut it. The tail rule still
    /// applies on top (what it drops is recorded for the rule). A trace a caller left undecided
    /// (B3 without a sampling state, X-Ray `Sampled=?`) is decided by `sampling_rate`.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
    ///
    /// /// Drops `health` spans, samples the rest.
    /// #[derive(Debug, Clone)]
    /// struct NoHealthChecks;
    ///
    /// impl ShouldSample for NoHealthChecks {
    ///     fn should_sample(&self, parent: Option<&opentelemetry::Context>, trace_id: opentelemetry::trace::TraceId,
    ///         name: &str, kind: &opentelemetry::trace::SpanKind, attributes: &[opentelemetry::KeyValue],
    ///         links: &[opentelemetry::trace::Link]) -> SamplingResult {
    ///         if name == "health" {
    ///             return SamplingResult { decision: SamplingDecision::Drop, attributes: vec![],
    ///                 trace_state: Default::default() };
    ///         }
    ///         Sampler::AlwaysOn.should_sample(parent, trace_id, name, kind, attributes, links)
    ///     }
    /// }
    ///
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_sampler(NoHealthChecks)
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// # guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_sampler(
        mut self,
        sampler: impl opentelemetry_sdk::trace::ShouldSample + 'static,
    ) -> Self {
        self.plugins.sampler = Some(Box::new(sampler));
        self
    }

    /// Adds a span processor of your own beside tracewire's export pipeline. It gets a copy of
    /// every span that ends recorded (`on_end`), sampled or recorded only for the tail rule,
    /// before tracewire's queue takes it, `set_resource` with the stack's resource, and
    /// `force_flush` / `shutdown` from the guard. `on_start` is called only for spans made
    /// through the OpenTelemetry API: spans of `tracing` are written once, when they end.
    /// tracewire's [`Stats`](crate::Stats) do not count what your processor does.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::{SpanData, SpanProcessor};
    ///
    /// #[derive(Debug)]
    /// struct CountSlow;
    ///
    /// impl SpanProcessor for CountSlow {
    ///     fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    ///     fn on_end(&self, span: SpanData) { let _ = span.end_time; }
    ///     fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult { Ok(()) }
    ///     fn shutdown_with_timeout(&self, _: std::time::Duration) -> opentelemetry_sdk::error::OTelSdkResult { Ok(()) }
    /// }
    ///
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_span_processor(CountSlow)
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// # guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_span_processor(
        mut self,
        processor: impl opentelemetry_sdk::trace::SpanProcessor + 'static,
    ) -> Self {
        self.plugins.processors.push(Box::new(processor));
        self
    }

    /// Sends spans to an exporter of your own as well (a second backend, a vendor exporter),
    /// through the OpenTelemetry SDK's batch processor with its defaults: a thread of its own,
    /// its own queue and limits, not counted in tracewire's [`Stats`](crate::Stats). It sees
    /// what [`with_span_processor`](Self::with_span_processor) sees, at the end of each span.
    ///
    /// ```
    /// use opentelemetry_sdk::trace::{SpanData, SpanExporter};
    ///
    /// #[derive(Debug)]
    /// struct Discard;
    ///
    /// impl SpanExporter for Discard {
    ///     async fn export(&self, _batch: Vec<SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_span_exporter(Discard)
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// # guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_span_exporter(
        self,
        exporter: impl opentelemetry_sdk::trace::SpanExporter + 'static,
    ) -> Self {
        self.with_span_processor(
            opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter).build(),
        )
    }

    /// Adds a propagator of your own after the formats `propagators` names, on every path
    /// tracewire propagates (HTTP server and client, gRPC, messaging, `propagation::inject` /
    /// `extract`): it writes its headers after theirs, and a parent it extracts wins, as in
    /// OpenTelemetry's composite propagator. (Its `fields()` are not asked: tracewire's carriers
    /// are read by name.)
    ///
    /// ```
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new())
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// # guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_propagator(
        mut self,
        propagator: impl opentelemetry::propagation::TextMapPropagator + Send + Sync + 'static,
    ) -> Self {
        self.plugins
            .propagators
            .push(std::sync::Arc::new(propagator));
        self
    }

    /// Adds a resource detector of your own (a cloud's metadata, a build id), run once when the
    /// stack is built: its attributes go over tracewire's detectors and under
    /// `resource_attributes` / `OTEL_RESOURCE_ATTRIBUTES`.
    ///
    /// ```
    /// #[derive(Debug)]
    /// struct Region;
    ///
    /// impl opentelemetry_sdk::resource::ResourceDetector for Region {
    ///     fn detect(&self) -> opentelemetry_sdk::Resource {
    ///         opentelemetry_sdk::Resource::builder_empty()
    ///             .with_attribute(opentelemetry::KeyValue::new("cloud.region", "eu-west-1"))
    ///             .build()
    ///     }
    /// }
    ///
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_resource_detector(Region)
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// # guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_resource_detector(
        mut self,
        detector: impl opentelemetry_sdk::resource::ResourceDetector + 'static,
    ) -> Self {
        self.plugins.detectors.push(Box::new(detector));
        self
    }

    /// Makes trace and span ids with a generator of your own (AWS X-Ray's time-prefixed trace
    /// ids, say), for spans of `tracing` and of the OpenTelemetry API alike. New traces then do
    /// not claim W3C Level 2's random flag, and the head-sampling shortcut stands aside (it makes
    /// ids of its own), so an unsampled span costs what a sampled one costs to create.
    ///
    /// ```
    /// #[derive(Debug)]
    /// struct Sequential(std::sync::atomic::AtomicU64);
    ///
    /// impl opentelemetry_sdk::trace::IdGenerator for Sequential {
    ///     fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
    ///         opentelemetry::trace::TraceId::from(u128::from(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1))
    ///     }
    ///     fn new_span_id(&self) -> opentelemetry::trace::SpanId {
    ///         opentelemetry::trace::SpanId::from(self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1)
    ///     }
    /// }
    ///
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_id_generator(Sequential(Default::default()))
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// # guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_id_generator(
        mut self,
        generator: impl opentelemetry_sdk::trace::IdGenerator + 'static,
    ) -> Self {
        self.plugins.ids = Some(std::sync::Arc::new(generator));
        self
    }

    /// Installs the stack for the current thread only, until the guard is dropped: what tests
    /// use, since a global subscriber can be set once per process. Global OpenTelemetry state
    /// (propagator, tracer provider) is left alone.
    ///
    /// ```
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// tracing::info_span!("work").in_scope(|| assert!(tracewire::propagation::current_trace_id().is_some()));
    /// guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn set_default(self) -> Result<Guard> {
        let (dispatch, mut guard) = self.build_stack()?;
        if let Some(inner) = guard.inner.as_mut() {
            inner.scope = Some(tracing::dispatcher::set_default(&dispatch));
        }
        Ok(guard)
    }

    /// The stack, installed nowhere: for the test kit, which installs it per thread or future.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn build_stack(self) -> Result<(tracing::Dispatch, Guard)> {
        let settings = self.settings()?;
        let (dispatch, inner) = build(
            &settings,
            self.writer,
            self.memory,
            self.extra,
            self.plugins,
        )?;
        Ok((dispatch, Guard { inner: Some(inner) }))
    }

    /// Exports into this in-memory sink instead of the configured target.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn with_memory_sink(mut self, sink: crate::stack::Memory) -> Self {
        self.memory = Some(sink);
        self
    }
}
