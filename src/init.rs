//! The builder, the subscriber stack it installs, and the guard that flushes it.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::{KeyValue, global};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanLimits};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::error::{Error, ErrorKind, Result};
use crate::export::{Counters, Pipeline, Stats};
use crate::logs::{JsonLayer, LogWriter};
use crate::settings::{
    Export, FileChoice, LogFormat, Protocol, Raw, SamplerKind, Settings, Source,
};

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The opentelemetry_sdk version pinned in Cargo.toml, reported as `telemetry.sdk.version`.
const OTEL_SDK_VERSION: &str = "0.33.1";

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
    memory: Option<crate::export::MemorySink>,
    /// The user's layers, installed beside tracewire's by `init()` / `set_default()`.
    extra: Vec<BoxedLayer>,
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
        /// assert!(matches!(s.export, tracewire::Export::Otlp { protocol: tracewire::Protocol::Grpc, .. }));
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_otlp_endpoint, "otlp_endpoint", impl Into<String>, |v| Raw::Str(v.into()));
    setter!(
        /// `otlp_protocol`.
        ///
        /// ```
        /// use tracewire::Protocol;
        /// let s = tracewire::builder().without_settings_file()
        ///     .with_otlp_endpoint("http://localhost:9999")
        ///     .with_otlp_protocol(Protocol::Grpc).settings()?;
        /// assert!(matches!(s.export, tracewire::Export::Otlp { protocol: Protocol::Grpc, .. }));
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
        /// use tracewire::LogFormat;
        /// let s = tracewire::builder().without_settings_file().with_log_format(LogFormat::Compact).settings()?;
        /// assert_eq!(s.log_format, LogFormat::Compact);
        /// # Ok::<(), tracewire::Error>(())
        /// ```
        with_log_format, "log_format", LogFormat, |v| Raw::Str(match v {
            LogFormat::Pretty => "pretty",
            LogFormat::Compact => "compact",
            _ => "json",
        }.into()));
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
                process_env = std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                    .collect();
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
        let (dispatch, mut inner) = build(&settings, self.writer, None, self.extra)?;
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
    ///     tracing::info_span!("work").in_scope(|| assert!(tracewire::current_trace_id().is_some()));
    /// });
    /// guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn layer(self) -> Result<(BoxedLayer, Guard)> {
        let settings = self.settings()?;
        let (parts, inner) = build_parts(&settings, self.writer, self.memory)?;
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
    /// assert_eq!(s.source("sampler"), Some(&tracewire::Source::Code));
    ///
    /// let err = tracewire::builder().without_settings_file()
    ///     .with_setting("samplng_rate", 0.5).settings().unwrap_err();
    /// assert!(err.to_string().contains("did you mean `sampling_rate`?"));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_setting(mut self, key: &str, value: impl Into<crate::SettingValue>) -> Self {
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

    /// Installs the stack for the current thread only, until the guard is dropped: what tests
    /// use, since a global subscriber can be set once per process. Global OpenTelemetry state
    /// (propagator, tracer provider) is left alone.
    ///
    /// ```
    /// let guard = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_TRACES_EXPORTER", "none")])
    ///     .with_log_writer(std::io::sink())
    ///     .set_default()?;
    /// tracing::info_span!("work").in_scope(|| assert!(tracewire::current_trace_id().is_some()));
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
        let (dispatch, inner) = build(&settings, self.writer, self.memory, self.extra)?;
        Ok((dispatch, Guard { inner: Some(inner) }))
    }

    /// Exports into this in-memory sink instead of the configured target.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn with_memory_sink(mut self, sink: crate::export::MemorySink) -> Self {
        self.memory = Some(sink);
        self
    }
}

/// What the process has once: the OpenTelemetry tracer provider and propagator, and the
/// one-line notice of the default file sink.
fn set_process_state(settings: &Settings, inner: &Inner) {
    if let Some(provider) = &inner.provider {
        global::set_tracer_provider(provider.clone());
    }
    global::set_text_map_propagator(crate::propagation::W3cPropagator::default());
    announce_default_sink(settings);
}

fn already_initialized() -> Error {
    Error::new(
        ErrorKind::AlreadyInitialized,
        "tracewire is already initialized in this process; the first stack stays installed",
    )
}

fn announce_default_sink(settings: &Settings) {
    if let (Export::File { path }, Some(Source::Default)) =
        (&settings.export, settings.source("otlp_endpoint"))
    {
        eprintln!(
            "tracewire: no OTLP endpoint configured; spans go to {} (set otlp_endpoint in settings.toml or OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector)",
            path.display()
        );
    }
}

fn span_limits(settings: &Settings) -> SpanLimits {
    SpanLimits {
        max_attributes_per_span: settings.span_attribute_count_limit,
        max_events_per_span: settings.span_event_count_limit,
        max_links_per_span: settings.span_link_count_limit,
        max_attributes_per_event: settings.event_attribute_count_limit,
        max_attributes_per_link: settings.link_attribute_count_limit,
    }
}

/// The configured sampler; with the tail rule, what it drops is recorded for the rule.
fn head_sampler(settings: &Settings) -> Box<dyn opentelemetry_sdk::trace::ShouldSample> {
    Box::new(crate::sampling::HeadSampler {
        inner: sampler(settings),
        record_dropped: settings.tail_rule().is_some(),
    })
}

fn sampler(settings: &Settings) -> Sampler {
    let ratio = || Sampler::TraceIdRatioBased(settings.sampling_rate);
    match settings.sampler {
        SamplerKind::AlwaysOn => Sampler::AlwaysOn,
        SamplerKind::AlwaysOff => Sampler::AlwaysOff,
        SamplerKind::TraceIdRatio => ratio(),
        SamplerKind::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerKind::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        _ => Sampler::ParentBased(Box::new(ratio())),
    }
}

/// `service.name`, `service.version`, `deployment.environment.name`, `host.name`, `process.pid`,
/// `telemetry.sdk.*`, then the user's attributes; `service.name` from settings wins over one in
/// `OTEL_RESOURCE_ATTRIBUTES` only when it was set explicitly, as the spec orders.
pub(crate) fn resource(settings: &Settings) -> Resource {
    let mut attrs = vec![
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", OTEL_SDK_VERSION),
        KeyValue::new("telemetry.distro.name", "tracewire"),
        KeyValue::new("telemetry.distro.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("process.pid", i64::from(std::process::id())),
    ];
    if let Some(host) = host_name() {
        attrs.push(KeyValue::new("host.name", host));
    }
    if let Some(v) = &settings.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    if let Some(e) = &settings.environment {
        attrs.push(KeyValue::new("deployment.environment.name", e.clone()));
    }
    let explicit_name = !matches!(
        settings.source("service_name_override"),
        Some(Source::Default)
    );
    let mut has_name = false;
    for (k, v) in &settings.resource_attributes {
        if k == "service.name" {
            if explicit_name {
                continue;
            }
            has_name = true;
        }
        attrs.push(KeyValue::new(k.clone(), v.clone()));
    }
    if !has_name {
        attrs.push(KeyValue::new("service.name", settings.service_name.clone()));
    }
    Resource::builder_empty().with_attributes(attrs).build()
}

fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
}

type Stack = tracing::Dispatch;

/// Makes the `log` crate's records tracing events, once per process: a dependency that logs
/// through `log` then shows in the log lines and on the current span like any event. The `log`
/// crate has one logger per process: when the application installed another one first, that
/// one stays (`log_bridge = false` says so explicitly).
fn install_log_bridge() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_log::LogTracer::init();
    });
}

/// The span targets of tracewire's integrations (HTTP server and client, messaging).
const INTEGRATION_TARGETS: &[&str] = &["tracewire::http", "tracewire::messaging"];

/// `log_level` is about the user's logs: `RUST_LOG="warn,my_app=info"` must not silently drop
/// the SERVER, CLIENT, PRODUCER and CONSUMER spans tracewire's integrations make (INFO, targets
/// `tracewire::http`, `tracewire::messaging`), which would break every trace at the first hop.
/// They stay enabled unless a directive names a `tracewire` target (`tracewire=off`, say).
fn with_integration_spans(log_level: &str) -> String {
    let names_tracewire = log_level
        .split(',')
        .any(|d| d.trim().starts_with("tracewire"));
    if names_tracewire {
        return log_level.to_string();
    }
    let mut directives = log_level.to_string();
    for t in INTEGRATION_TARGETS {
        if !directives.trim().is_empty() {
            directives.push(',');
        }
        directives.push_str(t);
        directives.push_str("=info");
    }
    directives
}

/// tracewire's layers, ready to sit on a [`Registry`], boxed: what `init()` installs, and what
/// [`Builder::layer`] hands over.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync + 'static>;

/// The filter, the OpenTelemetry layer, the log-record bridge and the log line layer.
struct Parts {
    filter: EnvFilter,
    otel: Option<crate::otel_layer::OtelLayer<Registry>>,
    #[cfg(feature = "logs")]
    log_records: Option<
        crate::otel_layer::Rewrite<
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge<
                opentelemetry_sdk::logs::SdkLoggerProvider,
                opentelemetry_sdk::logs::SdkLogger,
            >,
        >,
    >,
    lines: BoxedLayer,
    info: StackInfo,
}

/// What travels with the stack instead of living in process globals: which propagation formats
/// are active and which HTTP paths are not traced, found from the current dispatcher (so
/// `set_default()`, the test kit and a `TraceLayer` built before the stack all honour them);
/// and, once the layer is part of a dispatcher, where the export task's drop warnings go.
pub(crate) struct StackInfo {
    warn_to: Arc<std::sync::OnceLock<tracing::dispatcher::WeakDispatch>>,
    /// `propagation`'s format bits.
    pub(crate) propagators: u8,
    #[cfg_attr(not(feature = "http-server"), allow(dead_code))]
    pub(crate) exclude_paths: Arc<[String]>,
}

impl<S: tracing::Subscriber> Layer<S> for StackInfo {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.warn_to.set(subscriber.downgrade());
    }
}

/// `f` of the current stack's [`StackInfo`], `None` outside a tracewire stack.
pub(crate) fn with_stack_info<R>(f: impl FnOnce(&StackInfo) -> R) -> Option<R> {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<StackInfo>()
            .and_then(|s| f.take().map(|f| f(s)))
    })
}

/// `init()`'s stack: one filter in front of every layer (the cheapest form), and the user's
/// extra layers, if any, beside tracewire's behind their own filters.
fn build(
    settings: &Settings,
    writer: LogWriter,
    memory: Option<crate::export::MemorySink>,
    extra: Vec<BoxedLayer>,
) -> Result<(Stack, Inner)> {
    if settings.log_bridge {
        install_log_bridge();
    }
    let (parts, inner) = build_parts(settings, writer, memory)?;
    if extra.is_empty() {
        use tracing_subscriber::Layer as _;
        // The filter is the stack's only filter here: global, as cheap as filtering gets.
        #[cfg(feature = "logs")]
        let all = parts
            .filter
            .and_then(parts.otel)
            .and_then(parts.log_records)
            .and_then(parts.lines)
            .and_then(parts.info);
        #[cfg(not(feature = "logs"))]
        let all = parts
            .filter
            .and_then(parts.otel)
            .and_then(parts.lines)
            .and_then(parts.info);
        return Ok((tracing::Dispatch::new(Registry::default().with(all)), inner));
    }
    let mut layers = vec![filtered(parts)];
    layers.extend(extra);
    Ok((
        tracing::Dispatch::new(Registry::default().with(layers)),
        inner,
    ))
}

/// tracewire's layers as one, behind their own filter (`log_level`): beside other layers, the
/// filter must not decide for them.
fn filtered(parts: Parts) -> BoxedLayer {
    use tracing_subscriber::Layer as _;
    // `Layer::and_then`, not `Option::and_then`: the OpenTelemetry layer may be absent.
    #[cfg(feature = "logs")]
    let inner = Layer::and_then(parts.otel, parts.log_records)
        .and_then(parts.lines)
        .and_then(parts.info);
    #[cfg(not(feature = "logs"))]
    let inner = Layer::and_then(parts.otel, parts.lines).and_then(parts.info);
    Box::new(inner.with_filter(parts.filter))
}

fn build_parts(
    settings: &Settings,
    writer: LogWriter,
    memory: Option<crate::export::MemorySink>,
) -> Result<(Parts, Inner)> {
    let filter = EnvFilter::builder()
        .parse(with_integration_spans(&settings.log_level))
        .map_err(|e| {
            Error::config(format!(
                "invalid setting log_level = {:?}: {e}",
                settings.log_level
            ))
        })?;

    let mut inner = Inner {
        provider: None,
        #[cfg(feature = "logs")]
        logger: None,
        pipeline: None,
        counters: None,
        timeout: settings.shutdown_timeout,
        scope: None,
    };
    let warn_to: Arc<std::sync::OnceLock<tracing::dispatcher::WeakDispatch>> = Arc::default();
    let otel_layer = if settings.enabled && settings.tracing_enabled {
        let resource = resource(settings);
        let mut provider = SdkTracerProvider::builder()
            .with_span_limits(span_limits(settings))
            .with_sampler(head_sampler(settings))
            .with_resource(resource.clone());
        let mut shared_processor = None;
        if let Some((pipeline, processor)) =
            Pipeline::build(settings, &resource, warn_to.clone(), memory)?
        {
            let processor = Arc::new(processor);
            shared_processor = Some(processor.clone());
            inner.counters = Some(pipeline.counters.clone());
            #[cfg(feature = "logs")]
            if settings.logs_enabled {
                inner.logger =
                    crate::export::logs::provider(&pipeline, settings, &resource, warn_to.clone())?;
            }
            inner.pipeline = Some(pipeline);
            provider = provider.with_span_processor(crate::export::SharedProcessor(processor));
        }
        let provider = provider.build();
        let tracer = crate::tracer::Tracer::new(
            head_sampler(settings),
            matches!(
                settings.sampler,
                SamplerKind::ParentBasedAlwaysOn
                    | SamplerKind::ParentBasedAlwaysOff
                    | SamplerKind::ParentBasedTraceIdRatio
            ),
            settings.tail_rule().is_none()
                && match settings.sampler {
                    SamplerKind::AlwaysOn | SamplerKind::ParentBasedAlwaysOn => true,
                    SamplerKind::ParentBasedTraceIdRatio => settings.sampling_rate >= 1.0,
                    _ => false,
                },
            span_limits(settings),
            shared_processor,
        );
        inner.provider = Some(provider);
        Some(crate::otel_layer::OtelLayer::otel(
            tracer,
            crate::redact::Redactor::new(&settings.redact_fields),
            settings.span_source_attributes,
            crate::sampling::Gate::new(
                settings.sampler,
                settings.sampling_rate,
                settings.tail_rule().is_some(),
            ),
        ))
    } else {
        None
    };

    #[cfg(feature = "logs")]
    let log_records = inner.logger.as_ref().map(|lp| {
        crate::otel_layer::Rewrite::new(
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(lp),
            crate::redact::Redactor::new(&settings.redact_fields),
        )
    });

    let log_layer = match settings.log_format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .pretty()
            .with_writer(writer)
            .boxed(),
        LogFormat::Compact => tracing_subscriber::fmt::layer()
            .compact()
            .with_writer(writer)
            .boxed(),
        _ => JsonLayer::new(
            writer,
            crate::redact::Redactor::new(&settings.redact_fields),
        )
        .boxed(),
    };
    Ok((
        Parts {
            filter,
            otel: otel_layer,
            #[cfg(feature = "logs")]
            log_records,
            lines: log_layer,
            info: StackInfo {
                warn_to,
                propagators: crate::propagation::format_bits(&settings.propagators),
                exclude_paths: settings.exclude_paths.clone().into(),
            },
        },
        inner,
    ))
}

#[derive(Debug)]
struct Inner {
    provider: Option<SdkTracerProvider>,
    #[cfg(feature = "logs")]
    logger: Option<opentelemetry_sdk::logs::SdkLoggerProvider>,
    pipeline: Option<Pipeline>,
    counters: Option<Arc<Counters>>,
    timeout: Duration,
    scope: Option<tracing::dispatcher::DefaultGuard>,
}

impl Inner {
    fn stats(&self) -> Stats {
        self.counters
            .as_ref()
            .map(|c| c.snapshot())
            .unwrap_or_default()
    }

    /// Flushes, shuts the exporter down and stops the export runtime, all within `timeout`.
    fn shutdown(&mut self) -> Result<()> {
        let mut outcome = Ok(());
        #[cfg(feature = "logs")]
        if let Some(logger) = self.logger.take() {
            let _ = logger.shutdown_with_timeout(self.timeout);
        }
        let mut late = None;
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown_with_timeout(self.timeout)
        {
            late = Some(e);
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
            tracing::warn!(
                target: "tracewire",
                dropped_total = stats.dropped(),
                queue_full = stats.dropped_queue_full,
                file_sink_full = stats.dropped_file_cap,
                failed = stats.failed_spans,
                timed_out = stats.timed_out_spans,
                at_shutdown = stats.dropped_at_shutdown,
                exported = stats.exported_spans,
                report = report.as_str(),
                "spans were not delivered"
            );
        }
        // Leave the scoped subscriber last, so that what shutdown reports is still seen.
        self.scope.take();
        if let Some(e) = late {
            outcome = Err(Error::new(
                ErrorKind::Shutdown,
                format!(
                    "tracewire: shutdown did not complete within {:?} ({e}): {report}",
                    self.timeout
                ),
            ));
        } else if stats.dropped() > 0 || stats.dropped_logs > 0 {
            outcome = Err(Error::new(
                ErrorKind::Shutdown,
                format!("tracewire: not everything was delivered: {report}"),
            ));
        }
        outcome
    }

    /// Undo a stack that was built but could not be installed.
    fn abandon(&mut self) {
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
    inner: Option<Inner>,
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

    /// Exports every finished span now and waits for it.
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
        match self.inner.as_ref().and_then(|i| i.provider.as_ref()) {
            Some(p) => p.force_flush().map_err(|e| {
                Error::new(ErrorKind::Shutdown, format!("tracewire: flush failed: {e}"))
            }),
            None => Ok(()),
        }
    }

    /// Flushes and shuts down, within `shutdown_timeout_ms`. An error says what was not
    /// delivered; the pipeline is stopped either way.
    ///
    /// ```
    /// # let guard = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
    /// #     .with_log_writer(std::io::sink()).set_default()?;
    /// guard.shutdown()?;
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn shutdown(mut self) -> Result<()> {
        match self.inner.take() {
            Some(mut inner) => inner.shutdown(),
            None => Ok(()),
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

#[cfg(test)]
mod filter_tests {
    use super::with_integration_spans;

    #[test]
    fn integration_spans_survive_the_users_log_level() {
        assert_eq!(
            with_integration_spans("warn,my_app=info"),
            "warn,my_app=info,tracewire::http=info,tracewire::messaging=info"
        );
        assert_eq!(
            with_integration_spans(""),
            "tracewire::http=info,tracewire::messaging=info"
        );
        assert_eq!(
            with_integration_spans("info,tracewire=off"),
            "info,tracewire=off"
        );
        assert_eq!(
            with_integration_spans("tracewire::http=warn"),
            "tracewire::http=warn"
        );
    }
}
