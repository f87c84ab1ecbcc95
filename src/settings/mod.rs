//! Settings: one documented precedence, one place that reads the environment.
//!
//! Precedence, lowest to highest:
//!
//! 1. built-in defaults;
//! 2. `settings.toml` in the working directory (or the file named by `TRACEWIRE_SETTINGS`):
//!    `[observability]`, then `[default.observability]`, then `[<TRACEWIRE_ENV>.observability]`;
//! 3. the standard OpenTelemetry variables (`OTEL_*`, `RUST_LOG`);
//! 4. `TRACEWIRE_<KEY>` variables;
//! 5. values set in code through the [`Builder`](crate::Builder).
//!
//! tracewire resolves the winner itself and hands the OpenTelemetry SDK only that value, so a
//! value in a file never silently beats an operator's environment variable.

mod keys;
mod load;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) use load::FileChoice;
pub use load::{TRACEWIRE_ENV, TRACEWIRE_SETTINGS};

use crate::error::{Error, Result};

/// Where the effective value of a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// tracewire's built-in default.
    Default,
    /// A settings file, from the named table.
    File {
        /// The file as it was named.
        path: String,
        /// The table, e.g. `observability` or `production.observability`.
        table: String,
    },
    /// An environment variable (`OTEL_*`, `RUST_LOG` or `TRACEWIRE_*`).
    Env {
        /// The variable's name.
        var: &'static str,
    },
    /// A `with_*` method of the [`Builder`](crate::Builder).
    Code,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, table } => write!(f, "file {path} [{table}]"),
            Source::Env { var } => write!(f, "env {var}"),
            Source::Code => f.write_str("code"),
        }
    }
}

/// A value before it is checked: as TOML typed it, or as an environment variable spelled it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Map(Vec<(String, String)>),
    List(Vec<String>),
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Bool(b) => write!(f, "{b}"),
            Raw::Int(i) => write!(f, "{i}"),
            Raw::Float(x) => write!(f, "{x:?}"),
            Raw::Str(s) => write!(f, "{s:?}"),
            Raw::Map(m) => {
                let items: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{:?}", items.join(","))
            }
            Raw::List(l) => write!(f, "{l:?}"),
        }
    }
}

/// A value for [`Builder::with_setting`](crate::Builder::with_setting), converted from the Rust
/// type a key takes: `bool`, integers, `f64`, strings, a list of strings, a `Duration` (for the
/// `_ms` keys) or a list of `(name, value)` pairs (`otlp_headers`, `resource_attributes`).
///
/// ```
/// use tracewire::SettingValue;
/// let _: SettingValue = true.into();
/// let _: SettingValue = 0.25.into();
/// let _: SettingValue = std::time::Duration::from_millis(500).into();
/// let _: SettingValue = vec!["/health", "/metrics"].into();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SettingValue(pub(crate) Raw);

impl From<bool> for SettingValue {
    fn from(v: bool) -> Self {
        SettingValue(Raw::Bool(v))
    }
}

macro_rules! int_setting {
    ($($t:ty),*) => {$(
        impl From<$t> for SettingValue {
            fn from(v: $t) -> Self {
                SettingValue(Raw::Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
    )*};
}
int_setting!(i32, i64, u32, u64, usize);

impl From<f64> for SettingValue {
    fn from(v: f64) -> Self {
        SettingValue(Raw::Float(v))
    }
}

impl From<&str> for SettingValue {
    fn from(v: &str) -> Self {
        SettingValue(Raw::Str(v.to_string()))
    }
}

impl From<String> for SettingValue {
    fn from(v: String) -> Self {
        SettingValue(Raw::Str(v))
    }
}

impl From<Duration> for SettingValue {
    fn from(v: Duration) -> Self {
        SettingValue(Raw::Int(v.as_millis().min(i64::MAX as u128) as i64))
    }
}

impl From<Vec<&str>> for SettingValue {
    fn from(v: Vec<&str>) -> Self {
        SettingValue(Raw::List(v.into_iter().map(String::from).collect()))
    }
}

impl From<Vec<String>> for SettingValue {
    fn from(v: Vec<String>) -> Self {
        SettingValue(Raw::List(v))
    }
}

impl From<Vec<(&str, &str)>> for SettingValue {
    fn from(v: Vec<(&str, &str)>) -> Self {
        SettingValue(Raw::Map(
            v.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }
}

/// The key of this name in the table, or an error naming the nearest one.
pub(crate) fn known_key(name: &str) -> Result<&'static str> {
    keys::KEYS
        .iter()
        .find(|k| k.name == name)
        .map(|k| k.name)
        .ok_or_else(|| {
            Error::config(format!(
                "unknown key `{name}` set in code (with_setting){}; allowed keys: {}",
                keys::suggest(name, keys::KEYS.iter().map(|k| k.name))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default(),
                keys::KEYS
                    .iter()
                    .map(|k| k.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC (port 4317 by convention).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318 by convention).
    HttpProtobuf,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        })
    }
}

/// The shape of log lines written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line with `trace_id`, `span_id`, `trace_flags` (the default).
    Json,
    /// tracing-subscriber's multi-line human format.
    Pretty,
    /// tracing-subscriber's single-line human format.
    Compact,
}

/// Head sampler, named as `OTEL_TRACES_SAMPLER` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SamplerKind {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio`: `sampling_rate` of traces, ignoring the parent's decision.
    TraceIdRatio,
    /// `parentbased_always_on`.
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`: follow the parent; roots sampled at `sampling_rate` (the default).
    ParentBasedTraceIdRatio,
}

const SAMPLERS: &[(&str, SamplerKind)] = &[
    ("always_on", SamplerKind::AlwaysOn),
    ("always_off", SamplerKind::AlwaysOff),
    ("traceidratio", SamplerKind::TraceIdRatio),
    ("parentbased_always_on", SamplerKind::ParentBasedAlwaysOn),
    ("parentbased_always_off", SamplerKind::ParentBasedAlwaysOff),
    (
        "parentbased_traceidratio",
        SamplerKind::ParentBasedTraceIdRatio,
    ),
];

/// Where finished spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Export {
    /// An OTLP endpoint: the exact URL requests are sent to.
    Otlp {
        /// For HTTP, the full URL including `/v1/traces`; for gRPC, the server's address.
        url: String,
        /// The transport.
        protocol: Protocol,
    },
    /// OTLP/JSON lines appended to a file (`otlp_endpoint = "file:PATH"`, or the default sink).
    File {
        /// The file spans are appended to.
        path: PathBuf,
    },
    /// No export (`traces_exporter = "none"`): ids are still made and propagated.
    None,
}

/// The file sink used when no endpoint is configured anywhere.
pub const DEFAULT_FILE_SINK: &str = "tracewire-spans.jsonl";

/// The effective settings, each with the source it came from.
///
/// ```no_run
/// let settings = tracewire::Settings::load()?;
/// println!("{}", settings.explain());
/// # Ok::<(), tracewire::Error>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Master switch: `false` builds no OpenTelemetry pipeline (no thread, no network); logs are still written.
    pub enabled: bool,
    /// Span export on/off. `false` keeps logs, without trace ids.
    pub tracing_enabled: bool,
    /// Where spans go, resolved from `traces_exporter`, `otlp_endpoint` and `otlp_protocol`.
    pub export: Export,
    /// Extra headers sent with every export request (values are secrets: never printed).
    pub otlp_headers: Vec<(String, String)>,
    /// Timeout of one export request.
    pub otlp_timeout: Duration,
    /// gzip-compress export requests.
    pub otlp_gzip: bool,
    /// PEM file of the CA that signs the collector's certificate (`https://` endpoints); unset:
    /// the system's root certificates.
    pub otlp_certificate: Option<PathBuf>,
    /// PEM file of the client certificate (chain) for mutual TLS; set with `otlp_client_key`.
    pub otlp_client_certificate: Option<PathBuf>,
    /// PEM file of the client certificate's private key (mutual TLS).
    pub otlp_client_key: Option<PathBuf>,
    /// An endpoint written without a scheme (`collector:4317`) is plain `http://` when `true`,
    /// `https://` otherwise (the specification's `OTEL_EXPORTER_OTLP_INSECURE`).
    pub otlp_insecure: bool,
    /// Head sampler.
    pub sampler: SamplerKind,
    /// Ratio for the ratio samplers, `0.0..=1.0`.
    pub sampling_rate: f64,
    /// `service.name`.
    pub service_name: String,
    /// `service.version`, when known.
    pub service_version: Option<String>,
    /// `deployment.environment.name`, from `TRACEWIRE_ENV`.
    pub environment: Option<String>,
    /// Extra resource attributes (`resource_attributes`, `OTEL_RESOURCE_ATTRIBUTES`).
    pub resource_attributes: Vec<(String, String)>,
    /// Propagators for `OTEL_PROPAGATORS`: `tracecontext`, `baggage`, or empty for `none`.
    pub propagators: Vec<String>,
    /// Env-filter directives.
    pub log_level: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Records of the `log` crate become tracing events (logged, and span events of the current
    /// span), with their own target, file and line.
    pub log_bridge: bool,
    /// Bound on flush + shutdown when the guard is dropped.
    pub shutdown_timeout: Duration,
    /// Spans held while the exporter is busy; beyond it spans are dropped and counted.
    pub batch_max_queue_size: usize,
    /// Bytes the queue may hold (estimated from each span's strings and counts, after the
    /// limits); beyond it spans are dropped and counted, so memory is bounded in bytes.
    pub batch_max_queue_bytes: usize,
    /// Spans per export request.
    pub batch_max_export_batch_size: usize,
    /// How long a span may wait before it is exported.
    pub batch_scheduled_delay: Duration,
    /// OTLP export requests in flight at once (the file sink writes one batch at a time).
    pub batch_max_concurrent_exports: usize,
    /// Cap of the file sink; beyond it spans are dropped and counted.
    pub file_max_bytes: u64,
    /// HTTP paths the server layer does not trace (exact, or a prefix ending in `*`).
    pub exclude_paths: Vec<String>,
    /// Field, attribute and URL query names whose values are replaced by `[REDACTED]`, matched
    /// by words after one normalisation (case styles, acronyms, plurals, percent-decoding; see
    /// README "Failure behaviour"), never as substrings: `tokenizer` does not match `token`.
    pub redact_fields: Vec<String>,
    /// Longest string attribute value, in characters; longer values are truncated.
    pub attribute_value_length_limit: usize,
    /// Attributes kept per span; more are dropped and counted in the span.
    pub span_attribute_count_limit: u32,
    /// Events kept per span.
    pub span_event_count_limit: u32,
    /// Links kept per span.
    pub span_link_count_limit: u32,
    /// Attributes kept per event.
    pub event_attribute_count_limit: u32,
    /// Attributes kept per link.
    pub link_attribute_count_limit: u32,
    /// At most one warning per interval while spans are being dropped.
    pub drop_warning_interval: Duration,
    /// Export tracing events as OTLP log records (feature `logs`).
    pub logs_enabled: bool,
    /// With `logs_enabled`, keep events as span events too (default: only as log records).
    pub span_events_with_logs: bool,
    /// Add `code.*`, `thread.*`, `target`, `busy_ns`/`idle_ns` attributes to every span
    /// (tracing-opentelemetry's defaults; off by default: they cost ~20% of a span's instructions).
    pub span_source_attributes: bool,
    /// Tail rule: export every trace with an error, whatever the head sampler decided.
    pub keep_errors: bool,
    /// Tail rule: export every trace whose local root took at least this long.
    pub slow_threshold: Option<Duration>,
    /// Tail rule: spans held at most while their traces are undecided; beyond, dropped and counted.
    pub tail_max_buffered_spans: usize,
    /// Tail rule: bytes held at most while traces are undecided (estimated as for the queue).
    pub tail_max_buffered_bytes: usize,
    sources: Vec<(&'static str, Source, String)>,
}

/// Every setting, with header values redacted: `otlp_headers` carries API keys.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .otlp_headers
            .iter()
            .map(|(k, _)| (k.as_str(), crate::REDACTED))
            .collect();
        f.debug_struct("Settings")
            .field("enabled", &self.enabled)
            .field("tracing_enabled", &self.tracing_enabled)
            .field("export", &self.export)
            .field("otlp_headers", &headers)
            .field("otlp_timeout", &self.otlp_timeout)
            .field("otlp_gzip", &self.otlp_gzip)
            .field("otlp_certificate", &self.otlp_certificate)
            .field("otlp_client_certificate", &self.otlp_client_certificate)
            .field("otlp_client_key", &self.otlp_client_key)
            .field("otlp_insecure", &self.otlp_insecure)
            .field("sampler", &self.sampler)
            .field("sampling_rate", &self.sampling_rate)
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("environment", &self.environment)
            .field("resource_attributes", &self.resource_attributes)
            .field("propagators", &self.propagators)
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("log_bridge", &self.log_bridge)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("batch_max_queue_size", &self.batch_max_queue_size)
            .field("batch_max_queue_bytes", &self.batch_max_queue_bytes)
            .field(
                "batch_max_export_batch_size",
                &self.batch_max_export_batch_size,
            )
            .field("batch_scheduled_delay", &self.batch_scheduled_delay)
            .field(
                "batch_max_concurrent_exports",
                &self.batch_max_concurrent_exports,
            )
            .field("file_max_bytes", &self.file_max_bytes)
            .field("exclude_paths", &self.exclude_paths)
            .field("redact_fields", &self.redact_fields)
            .field(
                "attribute_value_length_limit",
                &self.attribute_value_length_limit,
            )
            .field(
                "span_attribute_count_limit",
                &self.span_attribute_count_limit,
            )
            .field("span_event_count_limit", &self.span_event_count_limit)
            .field("span_link_count_limit", &self.span_link_count_limit)
            .field(
                "event_attribute_count_limit",
                &self.event_attribute_count_limit,
            )
            .field(
                "link_attribute_count_limit",
                &self.link_attribute_count_limit,
            )
            .field("drop_warning_interval", &self.drop_warning_interval)
            .field("logs_enabled", &self.logs_enabled)
            .field("span_events_with_logs", &self.span_events_with_logs)
            .field("span_source_attributes", &self.span_source_attributes)
            .field("keep_errors", &self.keep_errors)
            .field("slow_threshold", &self.slow_threshold)
            .field("tail_max_buffered_spans", &self.tail_max_buffered_spans)
            .field("tail_max_buffered_bytes", &self.tail_max_buffered_bytes)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Loads settings from `settings.toml` (or `TRACEWIRE_SETTINGS`) and the process environment.
    ///
    /// ```no_run
    /// let s = tracewire::Settings::load()?;
    /// assert!((0.0..=1.0).contains(&s.sampling_rate));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn load() -> Result<Settings> {
        crate::builder().settings()
    }

    /// The effective settings, one `key = value  # source` line each; header values redacted.
    ///
    /// ```
    /// let s = tracewire::builder()
    ///     .with_env([("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer hunter2")])
    ///     .settings()?;
    /// let text = s.explain().to_string();
    /// assert!(text.contains("otlp_headers"));
    /// assert!(!text.contains("hunter2"));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn explain(&self) -> impl fmt::Display + '_ {
        Explain(self)
    }

    /// The tail rule, when `keep_errors` or `slow_threshold_ms` asks for one.
    pub(crate) fn tail_rule(&self) -> Option<crate::export::tail::Rule> {
        (self.keep_errors || self.slow_threshold.is_some()).then_some(crate::export::tail::Rule {
            keep_errors: self.keep_errors,
            slow: self.slow_threshold,
            max_spans: self.tail_max_buffered_spans,
            max_bytes: self.tail_max_buffered_bytes,
        })
    }

    /// Where the effective value of `key` came from, or `None` for an unknown key.
    ///
    /// ```
    /// let s = tracewire::builder().with_sampling_rate(0.5).settings()?;
    /// assert_eq!(s.source("sampling_rate"), Some(&tracewire::Source::Code));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.sources
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, s, _)| s)
    }

    pub(crate) fn resolve(
        env: &HashMap<String, String>,
        file: &FileChoice,
        code: &[(&'static str, Raw)],
    ) -> Result<Settings> {
        let c = load::collect(env, file, code)?;
        let mut r = Resolver {
            values: c.values,
            sources: Vec::new(),
        };

        let enabled = r.get("enabled", Raw::Bool(true), |key, raw, src| {
            let b = parse_bool(key, raw, src)?;
            // OTEL_SDK_DISABLED says the opposite of `enabled`.
            Ok(
                if matches!(
                    src,
                    Source::Env {
                        var: "OTEL_SDK_DISABLED"
                    }
                ) {
                    !b
                } else {
                    b
                },
            )
        })?;
        let tracing_enabled = r.get("tracing_enabled", Raw::Bool(true), parse_bool)?;
        let exporter = r.get("traces_exporter", Raw::Str("otlp".into()), |k, raw, src| {
            let s = parse_string(k, raw, src)?;
            match s.as_str() {
                "otlp" | "none" => Ok(s),
                _ => Err(invalid(k, raw, src, "one of: otlp, none")),
            }
        })?;
        let endpoint = r.get_opt("otlp_endpoint", |k, raw, src| {
            let s = parse_string(k, raw, src)?;
            Ok((s, raw.clone(), src.clone()))
        })?;
        let endpoint_src = r.last_source().clone();
        let mut protocol = r.get_opt("otlp_protocol", |k, raw, src| {
            match parse_string(k, raw, src)?.as_str() {
                "grpc" => Ok(Protocol::Grpc),
                "http/protobuf" => Ok(Protocol::HttpProtobuf),
                _ => Err(invalid(
                    k,
                    raw,
                    src,
                    "one of: grpc, http/protobuf (http/json is not supported)",
                )),
            }
        })?;
        // Endpoint and protocol are resolved together: a protocol set at a lower level than the
        // endpoint (settings.toml's `otlp_protocol` under an operator's OTEL_EXPORTER_OTLP_ENDPOINT)
        // was chosen for another endpoint, so it is not applied to this one.
        if protocol.is_some() && level(r.last_source()) < level(&endpoint_src) {
            protocol = None;
            r.set_last_note(&format!(
                "ignored: set at a lower level than otlp_endpoint ({endpoint_src}); the protocol is inferred from the endpoint"
            ));
        }
        let otlp_headers = r.get("otlp_headers", Raw::Map(vec![]), parse_headers)?;
        let otlp_certificate = r.get_opt("otlp_certificate", parse_pem_path)?;
        let otlp_client_certificate = r.get_opt("otlp_client_certificate", parse_pem_path)?;
        let client_cert_src = r.last_source().clone();
        let otlp_client_key = r.get_opt("otlp_client_key", parse_pem_path)?;
        let client_key_src = r.last_source().clone();
        match (&otlp_client_certificate, &otlp_client_key) {
            (Some(_), None) => {
                return Err(Error::config(format!(
                    "otlp_client_certificate is set ({client_cert_src}) but otlp_client_key is not: mutual TLS needs both (OTEL_EXPORTER_OTLP_CLIENT_KEY)"
                )));
            }
            (None, Some(_)) => {
                return Err(Error::config(format!(
                    "otlp_client_key is set ({client_key_src}) but otlp_client_certificate is not: mutual TLS needs both (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)"
                )));
            }
            _ => {}
        }
        let otlp_insecure = r.get("otlp_insecure", Raw::Bool(false), parse_bool)?;
        refuse_logs_only_tls(env)?;
        let otlp_timeout =
            Duration::from_millis(r.get("otlp_timeout_ms", Raw::Int(10_000), |k, raw, src| {
                parse_uint(k, raw, src, 1, 600_000)
            })?);
        let otlp_gzip = r.get(
            "otlp_compression",
            Raw::Str("none".into()),
            |k, raw, src| match parse_string(k, raw, src)?.as_str() {
                "none" | "" => Ok(false),
                "gzip" if cfg!(feature = "gzip") => Ok(true),
                "gzip" => Err(invalid(
                    k,
                    raw,
                    src,
                    "none (gzip needs tracewire's `gzip` cargo feature)",
                )),
                _ => Err(invalid(k, raw, src, "one of: none, gzip")),
            },
        )?;
        let sampler = r.get(
            "sampler",
            Raw::Str("parentbased_traceidratio".into()),
            |k, raw, src| {
                let s = parse_string(k, raw, src)?;
                SAMPLERS
                    .iter()
                    .find(|(n, _)| *n == s)
                    .map(|(_, kind)| *kind)
                    .ok_or_else(|| {
                        let names: Vec<&str> = SAMPLERS.iter().map(|(n, _)| *n).collect();
                        invalid(k, raw, src, &format!("one of: {}", names.join(", ")))
                    })
            },
        )?;
        let sampling_rate = r.get("sampling_rate", Raw::Float(1.0), |k, raw, src| {
            let x = match raw {
                Raw::Float(x) => *x,
                Raw::Int(i) => *i as f64,
                Raw::Str(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| invalid(k, raw, src, RATE))?,
                _ => return Err(invalid(k, raw, src, RATE)),
            };
            if (0.0..=1.0).contains(&x) {
                Ok(x)
            } else {
                Err(invalid(k, raw, src, RATE))
            }
        })?;
        let default_name = c.app_name.clone().unwrap_or_else(executable_name);
        let name_default_src = if c.app_name.is_some() {
            "app_name"
        } else {
            "executable name"
        };
        let service_name = r.get(
            "service_name_override",
            Raw::Str(default_name),
            |k, raw, src| {
                let s = parse_string(k, raw, src)?;
                if s.trim().is_empty() {
                    Err(invalid(k, raw, src, "a non-empty service name"))
                } else {
                    Ok(s)
                }
            },
        )?;
        if matches!(r.last_source(), Source::Default) {
            r.set_last_note(name_default_src);
        }
        let service_version = r
            .get_opt("service_version", parse_string)?
            .or(c.app_version.clone());
        let resource_attributes =
            r.get("resource_attributes", Raw::Map(vec![]), |k, raw, src| {
                parse_map(k, raw).map_err(|why| invalid(k, raw, src, &why))
            })?;
        let propagators = r.get(
            "propagators",
            Raw::Str("tracecontext,baggage".into()),
            |k, raw, src| {
                let items = parse_list(k, raw, src)?;
                let mut out = Vec::new();
                for p in items.into_iter().filter(|p| !p.is_empty()) {
                    match p.as_str() {
                        "tracecontext" | "baggage" => out.push(p),
                        "none" => {}
                        _ => {
                            return Err(invalid(
                                k,
                                raw,
                                src,
                                "a comma-separated list of: tracecontext, baggage, none",
                            ));
                        }
                    }
                }
                Ok(out)
            },
        )?;
        let log_level = r.get("log_level", Raw::Str("info".into()), |k, raw, src| {
            let s = parse_string(k, raw, src)?;
            tracing_subscriber::EnvFilter::builder()
                .parse(&s)
                .map(|_| s.clone())
                .map_err(|e| {
                    invalid(
                        k,
                        raw,
                        src,
                        &format!(
                            "env-filter directives such as `info` or `info,my_crate=debug` ({e})"
                        ),
                    )
                })
        })?;
        let log_format =
            r.get(
                "log_format",
                Raw::Str("json".into()),
                |k, raw, src| match parse_string(k, raw, src)?.as_str() {
                    "json" => Ok(LogFormat::Json),
                    "pretty" => Ok(LogFormat::Pretty),
                    "compact" => Ok(LogFormat::Compact),
                    _ => Err(invalid(k, raw, src, "one of: json, pretty, compact")),
                },
            )?;
        let log_bridge = r.get("log_bridge", Raw::Bool(true), parse_bool)?;
        let shutdown_timeout = Duration::from_millis(r.get(
            "shutdown_timeout_ms",
            Raw::Int(5_000),
            |k, raw, src| parse_uint(k, raw, src, 0, 600_000),
        )?);
        let batch_max_queue_size =
            r.get("batch_max_queue_size", Raw::Int(32_768), |k, raw, src| {
                parse_uint(k, raw, src, 1, 10_000_000)
            })? as usize;
        let batch_max_queue_bytes = r.get(
            "batch_max_queue_bytes",
            Raw::Int(64 << 20),
            |k, raw, src| parse_uint(k, raw, src, 1 << 20, 1 << 40),
        )? as usize;
        let batch_max_export_batch_size = r.get(
            "batch_max_export_batch_size",
            Raw::Int(512),
            |k, raw, src| parse_uint(k, raw, src, 1, 1_000_000),
        )? as usize;
        let batch_scheduled_delay = Duration::from_millis(r.get(
            "batch_scheduled_delay_ms",
            Raw::Int(1_000),
            |k, raw, src| parse_uint(k, raw, src, 1, 3_600_000),
        )?);
        let batch_max_concurrent_exports = r.get(
            "batch_max_concurrent_exports",
            Raw::Int(4),
            |k, raw, src| parse_uint(k, raw, src, 1, 64),
        )? as usize;
        let file_max_bytes = r.get("file_max_bytes", Raw::Int(64 << 20), |k, raw, src| {
            parse_uint(k, raw, src, 0, u64::MAX)
        })?;

        let exclude_paths = r.get("exclude_paths", Raw::List(vec![]), |k, raw, src| {
            let items = parse_list(k, raw, src)?;
            let items: Vec<String> = items.into_iter().filter(|p| !p.is_empty()).collect();
            match items.iter().find(|p| !p.starts_with('/')) {
                Some(_) => Err(invalid(
                    k,
                    raw,
                    src,
                    "paths starting with `/` (a trailing `*` matches a prefix)",
                )),
                None => Ok(items),
            }
        })?;

        let redact_fields = r.get(
            "redact_fields",
            Raw::List(DEFAULT_REDACT.iter().map(|s| s.to_string()).collect()),
            |k, raw, src| {
                let items = parse_list(k, raw, src)?;
                Ok(items
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .map(|p| p.to_ascii_lowercase())
                    .collect())
            },
        )?;
        let attribute_value_length_limit = r.get(
            "attribute_value_length_limit",
            Raw::Int(8192),
            |k, raw, src| parse_uint(k, raw, src, 1, u32::MAX as u64),
        )? as usize;
        let mut count = |key: &'static str| {
            r.get(key, Raw::Int(128), |k, raw, src| {
                parse_uint(k, raw, src, 0, u32::MAX as u64)
            })
            .map(|v| v as u32)
        };
        let span_attribute_count_limit = count("span_attribute_count_limit")?;
        let span_event_count_limit = count("span_event_count_limit")?;
        let span_link_count_limit = count("span_link_count_limit")?;
        let event_attribute_count_limit = count("event_attribute_count_limit")?;
        let link_attribute_count_limit = count("link_attribute_count_limit")?;
        let drop_warning_interval = Duration::from_millis(r.get(
            "drop_warning_interval_ms",
            Raw::Int(60_000),
            |k, raw, src| parse_uint(k, raw, src, 100, 86_400_000),
        )?);

        let logs_enabled = r.get("logs_enabled", Raw::Bool(false), |k, raw, src| {
            let on = match src {
                // OTEL_LOGS_EXPORTER names an exporter rather than saying yes or no.
                Source::Env {
                    var: "OTEL_LOGS_EXPORTER",
                } => match parse_string(k, raw, src)?.as_str() {
                    "otlp" => true,
                    "none" => false,
                    _ => return Err(invalid(k, raw, src, "otlp or none")),
                },
                _ => parse_bool(k, raw, src)?,
            };
            if on && !cfg!(feature = "logs") {
                return Err(invalid(
                    k,
                    raw,
                    src,
                    "false (OTLP logs need tracewire's `logs` cargo feature)",
                ));
            }
            Ok(on)
        })?;
        let span_events_with_logs = r.get("span_events_with_logs", Raw::Bool(false), parse_bool)?;
        let span_source_attributes =
            r.get("span_source_attributes", Raw::Bool(false), parse_bool)?;
        let keep_errors = r.get("keep_errors", Raw::Bool(false), parse_bool)?;
        let slow_threshold = match r.get("slow_threshold_ms", Raw::Int(0), |k, raw, src| {
            parse_uint(k, raw, src, 0, 86_400_000)
        })? {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        };
        let tail_max_buffered_spans = r.get(
            "tail_max_buffered_spans",
            Raw::Int(65_536),
            |k, raw, src| parse_uint(k, raw, src, 1, 100_000_000),
        )? as usize;
        let tail_max_buffered_bytes = r.get(
            "tail_max_buffered_bytes",
            Raw::Int(64 << 20),
            |k, raw, src| parse_uint(k, raw, src, 1 << 20, 1 << 40),
        )? as usize;

        let endpoint = match endpoint {
            None => None,
            Some((s, raw, src)) => Some(
                Endpoint::parse(&s, otlp_insecure)
                    .map_err(|why| invalid("otlp_endpoint", &raw, &src, &why))?
                    .with_rule(&src),
            ),
        };
        let export = match (exporter.as_str(), endpoint) {
            ("none", _) => Export::None,
            (_, None) => Export::File {
                path: PathBuf::from(DEFAULT_FILE_SINK),
            },
            (_, Some(Endpoint::File(path))) => Export::File { path },
            (
                _,
                Some(Endpoint::Url {
                    url,
                    port,
                    path_empty,
                    rule,
                }),
            ) => {
                let protocol = protocol.unwrap_or(if port == 4317 {
                    Protocol::Grpc
                } else {
                    Protocol::HttpProtobuf
                });
                let url = match protocol {
                    Protocol::Grpc => url,
                    Protocol::HttpProtobuf => match rule {
                        AppendRule::Always => format!("{}/v1/traces", url.trim_end_matches('/')),
                        AppendRule::IfNoPath if path_empty => {
                            format!("{}/v1/traces", url.trim_end_matches('/'))
                        }
                        _ => url,
                    },
                };
                Export::Otlp { url, protocol }
            }
        };

        Ok(Settings {
            enabled,
            tracing_enabled,
            export,
            otlp_headers,
            otlp_timeout,
            otlp_gzip,
            otlp_certificate,
            otlp_client_certificate,
            otlp_client_key,
            otlp_insecure,
            sampler,
            sampling_rate,
            service_name,
            service_version,
            environment: c.environment,
            resource_attributes,
            propagators,
            log_level,
            log_format,
            log_bridge,
            shutdown_timeout,
            batch_max_queue_size,
            batch_max_queue_bytes,
            batch_max_export_batch_size: batch_max_export_batch_size.min(batch_max_queue_size),
            batch_scheduled_delay,
            batch_max_concurrent_exports,
            file_max_bytes,
            exclude_paths,
            redact_fields,
            attribute_value_length_limit,
            span_attribute_count_limit,
            span_event_count_limit,
            span_link_count_limit,
            event_attribute_count_limit,
            link_attribute_count_limit,
            drop_warning_interval,
            logs_enabled,
            span_events_with_logs,
            span_source_attributes,
            keep_errors,
            slow_threshold,
            tail_max_buffered_spans,
            tail_max_buffered_bytes,
            sources: r.sources,
        })
    }
}

const RATE: &str = "a number from 0.0 to 1.0";

/// Names that look like secrets: their values never leave the process by default.
pub const DEFAULT_REDACT: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "api-key",
    "cookie",
    "private_key",
    "credential",
    "session_id",
    "pwd",
    "bearer",
    "jwt",
    "access_key",
    "secret_key",
    "dsn",
    "connection_string",
];

fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown_service".to_string())
}

struct Resolver {
    values: std::collections::BTreeMap<&'static str, (Raw, Source)>,
    sources: Vec<(&'static str, Source, String)>,
}

impl Resolver {
    fn get<T>(
        &mut self,
        key: &'static str,
        default: Raw,
        parse: impl Fn(&'static str, &Raw, &Source) -> Result<T>,
    ) -> Result<T> {
        let (raw, src) = self
            .values
            .remove(key)
            .unwrap_or((default, Source::Default));
        let shown = shown(key, &raw);
        let v = parse(key, &raw, &src)?;
        self.sources.push((key, src, shown));
        Ok(v)
    }

    fn get_opt<T>(
        &mut self,
        key: &'static str,
        parse: impl Fn(&'static str, &Raw, &Source) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.values.remove(key) {
            None => {
                self.sources.push((key, Source::Default, "(unset)".into()));
                Ok(None)
            }
            Some((raw, src)) => {
                let v = parse(key, &raw, &src)?;
                self.sources.push((key, src, raw.to_string()));
                Ok(Some(v))
            }
        }
    }

    fn last_source(&self) -> &Source {
        &self.sources.last().expect("a value was resolved").1
    }

    fn set_last_note(&mut self, note: &str) {
        if let Some(last) = self.sources.last_mut() {
            last.2 = format!("{} ({note})", last.2);
        }
    }
}

/// How high a source ranks in the precedence (see the module documentation).
fn level(src: &Source) -> u8 {
    match src {
        Source::Default => 0,
        Source::File { .. } => 1,
        Source::Env { var } if var.starts_with("TRACEWIRE_") => 3,
        Source::Env { .. } => 2,
        Source::Code => 4,
    }
}

/// A PEM file that can be read now: a path that cannot is an error at `init()` naming the key
/// and the path, not a failure of every export later.
fn parse_pem_path(key: &'static str, raw: &Raw, src: &Source) -> Result<PathBuf> {
    let s = parse_string(key, raw, src)?;
    let path = PathBuf::from(&s);
    match std::fs::read(&path) {
        Ok(bytes) if bytes.windows(11).any(|w| w == b"-----BEGIN ") => Ok(path),
        Ok(_) => Err(invalid(key, raw, src, "a PEM file (-----BEGIN ...)")),
        Err(e) => Err(invalid(
            key,
            raw,
            src,
            &format!("a readable PEM file ({e})"),
        )),
    }
}

/// tracewire sends log records to the span endpoint with the same TLS settings: a logs-only
/// TLS variable would be ignored, so it is refused instead.
fn refuse_logs_only_tls(env: &HashMap<String, String>) -> Result<()> {
    for (var, instead) in [
        (
            "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        ),
        (
            "OTEL_EXPORTER_OTLP_LOGS_INSECURE",
            "OTEL_EXPORTER_OTLP_INSECURE",
        ),
    ] {
        if env.get(var).is_some_and(|v| !v.trim().is_empty()) {
            return Err(Error::config(format!(
                "{var} is not supported: tracewire sends log records to the span endpoint with the same TLS settings; set {instead} (both signals) instead"
            )));
        }
    }
    Ok(())
}

/// A value as printed in errors and `explain()`: header values never appear.
fn shown(key: &str, raw: &Raw) -> String {
    if key == "otlp_headers" {
        redact(raw)
    } else {
        raw.to_string()
    }
}

fn redact(raw: &Raw) -> String {
    match raw {
        Raw::Map(m) => {
            let items: Vec<String> = m.iter().map(|(k, _)| format!("{k}=<redacted>")).collect();
            format!("{:?}", items.join(","))
        }
        Raw::Str(s) => {
            let items: Vec<String> = s
                .split(',')
                .filter(|i| !i.trim().is_empty())
                .map(|i| format!("{}=<redacted>", i.split('=').next().unwrap_or("").trim()))
                .collect();
            format!("{:?}", items.join(","))
        }
        _ => "<redacted>".into(),
    }
}

/// "names the key (or env var), the value and what is allowed".
fn invalid(key: &str, raw: &Raw, src: &Source, allowed: &str) -> Error {
    let shown = shown(key, raw);
    let place = match src {
        Source::Env { var } => format!("{var}={shown}"),
        Source::File { path, table } => format!("{key} = {shown} in {path} [{table}]"),
        Source::Code => format!("{key} = {shown} set in code"),
        Source::Default => format!("{key} = {shown} (default)"),
    };
    Error::config(format!("invalid setting {place}: expected {allowed}"))
}

/// A TOML array, or a comma-separated string (environment variables): trimmed, empty items
/// left out.
fn parse_list(key: &'static str, raw: &Raw, src: &Source) -> Result<Vec<String>> {
    let items: Vec<String> = match raw {
        Raw::List(l) => l
            .iter()
            .map(|s| no_control(key, raw, src, s.trim()).map(str::to_string))
            .collect::<Result<_>>()?,
        _ => parse_string(key, raw, src)?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    };
    Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
}

fn parse_bool(key: &'static str, raw: &Raw, src: &Source) -> Result<bool> {
    match raw {
        Raw::Bool(b) => Ok(*b),
        Raw::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(key, raw, src, "true or false")),
        },
        _ => Err(invalid(key, raw, src, "true or false")),
    }
}

fn parse_string(key: &'static str, raw: &Raw, src: &Source) -> Result<String> {
    match raw {
        Raw::Str(s) => no_control(key, raw, src, s.trim()).map(str::to_string),
        _ => Err(invalid(key, raw, src, "a string")),
    }
}

/// A control character inside a value (a newline pasted into `RUST_LOG`, an endpoint read from
/// a file with its line end) is a mistake, never meant: refuse it rather than act on half a
/// value. Surrounding white space is trimmed before this check.
fn no_control<'a>(key: &'static str, raw: &Raw, src: &Source, s: &'a str) -> Result<&'a str> {
    match s.char_indices().find(|(_, c)| c.is_control()) {
        None => Ok(s),
        Some((at, c)) => Err(invalid(
            key,
            raw,
            src,
            &format!(
                "a value without control characters (found U+{:04X} at byte {at})",
                c as u32
            ),
        )),
    }
}

fn parse_uint(key: &'static str, raw: &Raw, src: &Source, min: u64, max: u64) -> Result<u64> {
    let allowed = || format!("a whole number from {min} to {max}");
    let v = match raw {
        Raw::Int(i) if *i >= 0 => *i as u64,
        Raw::Str(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| invalid(key, raw, src, &allowed()))?,
        _ => return Err(invalid(key, raw, src, &allowed())),
    };
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(key, raw, src, &allowed()))
    }
}

/// `k1=v1,k2=v2` (the W3C Baggage-like format of `OTEL_*_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES`, values percent-decoded), or a TOML table.
pub(crate) fn parse_map(
    _key: &str,
    raw: &Raw,
) -> std::result::Result<Vec<(String, String)>, String> {
    match raw {
        Raw::Map(m) => Ok(m.clone()),
        Raw::Str(s) => {
            let mut out: Vec<(String, String)> = Vec::new();
            for item in s.split(',').filter(|i| !i.trim().is_empty()) {
                let Some((k, v)) = item.split_once('=') else {
                    return Err(format!(
                        "comma-separated key=value pairs; `{}` has no `=`",
                        item.trim()
                    ));
                };
                let k = percent_decode(k.trim()).ok_or("valid percent-encoding")?;
                let v = percent_decode(v.trim()).ok_or("valid percent-encoding")?;
                if k.is_empty() {
                    return Err("comma-separated key=value pairs with non-empty keys".into());
                }
                out.retain(|(k2, _)| *k2 != k);
                out.push((k, v));
            }
            Ok(out)
        }
        _ => Err("a table or comma-separated key=value pairs".into()),
    }
}

fn parse_headers(key: &'static str, raw: &Raw, src: &Source) -> Result<Vec<(String, String)>> {
    let map = parse_map(key, raw).map_err(|why| invalid(key, raw, src, &why))?;
    for (k, v) in &map {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if !k.chars().all(token) {
            return Err(invalid(
                key,
                raw,
                src,
                &format!("header names made of letters, digits and !#$%&'*+-.^_`|~ (`{k}` is not)"),
            ));
        }
        if v.chars().any(|c| c.is_control()) {
            return Err(invalid(
                key,
                raw,
                src,
                &format!("header values without control characters (the value of `{k}` has one)"),
            ));
        }
    }
    Ok(map)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum AppendRule {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the spec appends `/v1/traces` for HTTP.
    Always,
    /// `otlp_endpoint` in a file, `TRACEWIRE_OTLP_ENDPOINT`, code: append only to a bare host.
    IfNoPath,
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: used as is.
    Never,
}

#[derive(Debug, Clone, PartialEq)]
enum Endpoint {
    File(PathBuf),
    Url {
        url: String,
        port: u16,
        path_empty: bool,
        rule: AppendRule,
    },
}

impl Endpoint {
    /// `insecure`: a URL without a scheme is `http://` (else `https://`), as the specification's
    /// `OTEL_EXPORTER_OTLP_INSECURE` says.
    fn parse(s: &str, insecure: bool) -> std::result::Result<Endpoint, String> {
        const ALLOWED: &str = "an http:// or https:// URL with a host (e.g. http://localhost:4317, https://collector.example.com), or file:PATH";
        if let Some(path) = s.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(format!("{ALLOWED}; file: needs a path"));
            }
            return Ok(Endpoint::File(PathBuf::from(path)));
        }
        let with_scheme;
        let s = if s.contains("://") {
            s
        } else {
            with_scheme = format!("{}://{s}", if insecure { "http" } else { "https" });
            &with_scheme
        };
        let (scheme, rest) = s.split_once("://").ok_or(ALLOWED)?;
        let default_port = match scheme {
            "http" => 80,
            "https" if cfg!(feature = "tls") => {
                if insecure {
                    return Err(format!(
                        "{ALLOWED}; otlp_insecure = true contradicts an https:// endpoint"
                    ));
                }
                443
            }
            // Refuse at start rather than fail every export.
            "https" => {
                return Err(format!(
                    "{ALLOWED}; https:// needs tracewire's `tls` cargo feature (on by default), which this build does not include"
                ));
            }
            _ => return Err(ALLOWED.into()),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@')
            || authority
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ALLOWED.into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or(ALLOWED)?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(ALLOWED.into());
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("{ALLOWED}; the port must be 1-65535"))?,
            None => default_port,
        };
        if port == 0 {
            return Err(format!("{ALLOWED}; the port must be 1-65535"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ALLOWED.into());
        }
        Ok(Endpoint::Url {
            url: s.to_string(),
            port,
            path_empty: path.is_empty() || path == "/",
            rule: AppendRule::IfNoPath,
        })
    }

    fn with_rule(self, src: &Source) -> Endpoint {
        let rule = match src {
            Source::Env {
                var: "OTEL_EXPORTER_OTLP_ENDPOINT",
            } => AppendRule::Always,
            Source::Env {
                var: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            } => AppendRule::Never,
            _ => AppendRule::IfNoPath,
        };
        match self {
            Endpoint::Url {
                url,
                port,
                path_empty,
                ..
            } => Endpoint::Url {
                url,
                port,
                path_empty,
                rule,
            },
            other => other,
        }
    }
}

struct Explain<'a>(&'a Settings);

impl fmt::Display for Explain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let width = s
            .sources
            .iter()
            .map(|(k, _, v)| k.len() + v.len())
            .max()
            .unwrap_or(0)
            .min(56)
            + 3;
        for (key, src, shown) in &s.sources {
            let line = format!("{key} = {shown}");
            writeln!(f, "{line:width$}  # {src}")?;
        }
        let export = match &s.export {
            Export::Otlp { url, protocol } => format!("otlp {protocol} {url}"),
            Export::File { path } => format!("file {}", path.display()),
            Export::None => "none".into(),
        };
        writeln!(f, "# spans go to: {export}")?;
        write!(f, "# service.name = {:?}", s.service_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Result<Settings> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(&env, &FileChoice::None, &[])
    }

    #[test]
    fn generic_http_endpoint_gets_the_signal_path() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/base/")]).unwrap();
        assert_eq!(
            s.export,
            Export::Otlp {
                url: "http://c:4318/base/v1/traces".into(),
                protocol: Protocol::HttpProtobuf
            }
        );
    }

    #[test]
    fn signal_endpoint_is_used_as_is() {
        let s =
            settings(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom")]).unwrap();
        assert_eq!(
            s.export,
            Export::Otlp {
                url: "http://c:4318/custom".into(),
                protocol: Protocol::HttpProtobuf
            }
        );
    }

    #[test]
    fn port_4317_defaults_to_grpc() {
        let s = settings(&[("TRACEWIRE_OTLP_ENDPOINT", "http://c:4317")]).unwrap();
        assert_eq!(
            s.export,
            Export::Otlp {
                url: "http://c:4317".into(),
                protocol: Protocol::Grpc
            }
        );
    }

    #[test]
    fn an_endpoint_without_a_scheme_is_https_unless_insecure() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]).unwrap();
        assert_eq!(
            s.export,
            Export::Otlp {
                url: "https://collector:4317".into(),
                protocol: Protocol::Grpc
            }
        );
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
            ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ])
        .unwrap();
        assert_eq!(
            s.export,
            Export::Otlp {
                url: "http://collector:4317".into(),
                protocol: Protocol::Grpc
            }
        );
        let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://api.example.com")]).unwrap();
        assert_eq!(
            s.export,
            Export::Otlp {
                url: "https://api.example.com/v1/traces".into(),
                protocol: Protocol::HttpProtobuf
            }
        );
    }

    #[test]
    fn endpoints_that_are_not_urls_are_rejected() {
        for bad in [
            "ftp://x",
            "http://",
            "http://h:99999",
            "http://h:0",
            "http://a b",
        ] {
            let e = settings(&[("TRACEWIRE_OTLP_ENDPOINT", bad)]).unwrap_err();
            assert!(e.to_string().contains("TRACEWIRE_OTLP_ENDPOINT"), "{e}");
        }
    }

    #[test]
    fn headers_are_percent_decoded_and_redacted_in_errors() {
        let s = settings(&[("OTEL_EXPORTER_OTLP_HEADERS", "a=b%20c, x-k = v")]).unwrap();
        assert_eq!(
            s.otlp_headers,
            vec![("a".into(), "b c".into()), ("x-k".into(), "v".into())]
        );
        let e = settings(&[("OTEL_EXPORTER_OTLP_HEADERS", "bad header=topsecret")]).unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
    }

    #[test]
    fn sdk_disabled_turns_enabled_off() {
        assert!(!settings(&[("OTEL_SDK_DISABLED", "true")]).unwrap().enabled);
        assert!(settings(&[("OTEL_SDK_DISABLED", "false")]).unwrap().enabled);
    }
}
