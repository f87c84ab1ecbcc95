//! Settings: what a stack is configured with, one documented precedence, one place that reads
//! the environment. [`Settings`] is the resolved view (`Builder::settings()`), with the value
//! kinds its fields hold; a service usually never names these types, and sets keys through the
//! [`Builder`](crate::Builder)'s `with_*` methods, `settings.toml` or the environment.
//!
//! ```
//! use tracewire::settings::{Protocol, Source};
//! let s = tracewire::builder().without_settings_file()
//!     .with_env([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")])
//!     .settings()?;
//! assert_eq!(s.traces_otlp().unwrap().protocol, Protocol::Grpc);
//! assert!(matches!(s.source("otlp_endpoint"), Some(Source::Env { .. })));
//! # Ok::<(), tracewire::Error>(())
//! ```
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

mod endpoint;
mod export;
pub(crate) mod keys;
mod load;
mod parse;
mod resolve;
mod rules;
mod values;

pub(crate) use export::ProxyEnv;
pub use export::{Export, OtlpExport};
pub(crate) use values::Raw;
pub use values::{
    LogFormat, MetricsTemporality, Protocol, SamplerKind, SettingValue, Source, TraceResponseMode,
};

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) use load::{FileChoice, process_env};
pub use load::{TRACEWIRE_ENV, TRACEWIRE_SETTINGS};

use crate::error::Result;

pub use crate::redact::REDACTED;
pub(crate) use keys::{key_name, known_key};
#[cfg(test)]
pub(crate) use rules::PROPAGATORS;

/// The file sink used when no endpoint is configured anywhere.
pub const DEFAULT_FILE_SINK: &str = "tracewire-spans.jsonl";

/// The effective settings, each with the source it came from.
///
/// ```no_run
/// let settings = tracewire::settings::Settings::load()?;
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
    /// Extra resource attributes (`resource_attributes`, `OTEL_RESOURCE_ATTRIBUTES`); they
    /// replace detected ones of the same name.
    pub resource_attributes: Vec<(String, String)>,
    /// The resource detectors that run ([`DETECTORS`]).
    pub resource_detectors: Vec<String>,
    /// Propagation formats, in order (`OTEL_PROPAGATORS`): `tracecontext`, `baggage`, `b3`,
    /// `b3multi`, `jaeger`, `xray`; empty for `none`.
    pub propagators: Vec<String>,
    /// `OTEL_SEMCONV_STABILITY_OPT_IN`: convention domains, plain or `/dup` (`rpc/dup`: gRPC spans
    /// carry the deprecated RPC names too).
    pub semconv_stability_opt_in: Vec<String>,
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
    /// The disk spool's directory: spans the collector cannot take are written there and sent
    /// when it answers again, by this process or the next. `None`: no spool.
    pub spool_dir: Option<std::path::PathBuf>,
    /// Bytes the spool may hold; beyond it the oldest spans are dropped and counted.
    pub spool_max_bytes: u64,
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
    /// Where OTLP log records go (`otlp_logs_*`, `OTEL_EXPORTER_OTLP_LOGS_*`, else the span
    /// endpoint's settings); `None` when there is no OTLP endpoint for them.
    pub logs_otlp: Option<OtlpExport>,
    /// With `logs_enabled`, keep events as span events too (default: only as log records).
    pub span_events_with_logs: bool,
    /// OTLP metrics on (feature `metrics`): the semantic-convention histograms of the HTTP and
    /// messaging integrations, span metrics when asked, and the global meter provider.
    pub metrics_enabled: bool,
    /// Where OTLP metrics go (`otlp_metrics_*`, `OTEL_EXPORTER_OTLP_METRICS_*`, else the span
    /// endpoint's settings); `None` when there is no OTLP endpoint for them (with the file
    /// sink they go to the metrics file beside it).
    pub metrics_otlp: Option<OtlpExport>,
    /// Time between two metric exports.
    pub metric_export_interval: Duration,
    /// Timeout of one metric export.
    pub metric_export_timeout: Duration,
    /// How sums and histograms are reported.
    pub metrics_temporality: MetricsTemporality,
    /// Calls and duration histograms per span name, kind and status, from every span.
    pub span_metrics: bool,
    /// Series kept per span metric (distinct name × kind × status); more are counted in one
    /// series with `otel.metric.overflow = true`.
    pub span_metrics_max_series: usize,
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
    /// When the server layers send `traceresponse`, and whether client layers read it.
    pub traceresponse: TraceResponseMode,
    /// Traces a callee's `traceresponse` may turn to kept per second.
    pub traceresponse_max_promotions_per_second: u32,
    sources: Vec<(&'static str, Source, String)>,
    warnings: Vec<String>,
    /// `k8s.*` from the environment (read with the rest of it, for the `k8s` detector).
    pub(crate) kubernetes: Vec<(&'static str, String)>,
    /// `NO_COLOR` is set (no-color.org): no colour in `pretty`/`compact` lines.
    pub(crate) no_color: bool,
    /// The egress proxy variables.
    pub(crate) proxy: ProxyEnv,
}

/// Every setting, with header values redacted: `otlp_headers` carries API keys.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field named once, by destructuring: a field added to `Settings` and not listed
        // here fails to compile instead of silently missing from the output.
        macro_rules! every_field {
            ($($shown:ident),* ; hidden: $($hidden:ident),*) => {{
                let Settings { $($shown,)* otlp_headers, $($hidden: _,)* } = self;
                // Header values are credentials: names only.
                let headers: Vec<(&str, &str)> =
                    otlp_headers.iter().map(|(k, _)| (k.as_str(), REDACTED)).collect();
                let mut d = f.debug_struct("Settings");
                d.field("otlp_headers", &headers);
                $(d.field(stringify!($shown), $shown);)*
                d.finish_non_exhaustive()
            }};
        }
        every_field!(
            enabled, tracing_enabled, export, otlp_timeout, otlp_gzip, otlp_certificate,
            otlp_client_certificate, otlp_client_key, otlp_insecure, sampler, sampling_rate,
            service_name, service_version, environment, resource_attributes, resource_detectors,
            propagators, semconv_stability_opt_in, log_level, log_format, log_bridge,
            shutdown_timeout, batch_max_queue_size, batch_max_queue_bytes,
            batch_max_export_batch_size, batch_scheduled_delay, batch_max_concurrent_exports,
            file_max_bytes, spool_dir, spool_max_bytes, exclude_paths, redact_fields,
            attribute_value_length_limit, span_attribute_count_limit, span_event_count_limit,
            span_link_count_limit, event_attribute_count_limit, link_attribute_count_limit,
            drop_warning_interval, logs_enabled, logs_otlp, span_events_with_logs,
            metrics_enabled, metrics_otlp, metric_export_interval, metric_export_timeout,
            metrics_temporality, span_metrics, span_metrics_max_series, span_source_attributes,
            keep_errors, slow_threshold, tail_max_buffered_spans, tail_max_buffered_bytes,
            traceresponse, traceresponse_max_promotions_per_second, no_color, kubernetes
            ; hidden: sources, warnings, proxy
        )
    }
}

impl Settings {
    /// Loads settings from `settings.toml` (or `TRACEWIRE_SETTINGS`) and the process environment.
    ///
    /// ```no_run
    /// let s = tracewire::settings::Settings::load()?;
    /// assert!((0.0..=1.0).contains(&s.sampling_rate));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn load() -> Result<Settings> {
        resolve::settings(&process_env(), &FileChoice::Default, &[])
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

    /// The span endpoint's OTLP settings, `None` when spans do not go to an OTLP endpoint.
    ///
    /// ```
    /// let s = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")])
    ///     .settings()?;
    /// assert_eq!(s.traces_otlp().unwrap().url, "http://collector:4318/v1/traces");
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn traces_otlp(&self) -> Option<OtlpExport> {
        let Export::Otlp { url, protocol } = &self.export else {
            return None;
        };
        Some(OtlpExport {
            url: url.clone(),
            protocol: *protocol,
            headers: self.otlp_headers.clone(),
            timeout: self.otlp_timeout,
            gzip: self.otlp_gzip,
            certificate: self.otlp_certificate.clone(),
            client_certificate: self.otlp_client_certificate.clone(),
            client_key: self.otlp_client_key.clone(),
            proxy: self.proxy.clone(),
        })
    }

    /// The `OTEL_*` values that were ignored, or partly left out, each with why: the
    /// specification asks that a standard variable tracewire cannot use (an unknown enum value
    /// such as a propagator this build lacks, a number that does not parse, a boolean other than
    /// `true`/`false`) warns and is ignored rather than stopping the service. `init()` prints
    /// each on stderr; `explain()` lists them.
    ///
    /// ```
    /// let s = tracewire::builder().without_settings_file()
    ///     .with_env([("OTEL_BSP_SCHEDULE_DELAY", "soon"), ("OTEL_PROPAGATORS", "tracecontext,carrier-pigeon")])
    ///     .settings()?;
    /// assert_eq!(s.batch_scheduled_delay.as_millis(), 1000); // the default
    /// assert_eq!(s.propagators, ["tracecontext"]);
    /// assert!(s.ignored().iter().any(|w| w.contains("OTEL_BSP_SCHEDULE_DELAY") && w.contains("soon")));
    /// assert!(s.ignored().iter().any(|w| w.contains("carrier-pigeon")));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn ignored(&self) -> &[String] {
        &self.warnings
    }

    /// Where the effective value of `key` came from, or `None` for an unknown key.
    ///
    /// ```
    /// let s = tracewire::builder().with_sampling_rate(0.5).settings()?;
    /// assert_eq!(s.source("sampling_rate"), Some(&tracewire::settings::Source::Code));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.sources
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, s, _)| s)
    }

    /// Resolves settings from these sources (see the module documentation).
    pub(crate) fn resolve(
        env: &HashMap<String, String>,
        file: &FileChoice,
        code: &[(&'static str, Raw)],
    ) -> Result<Settings> {
        resolve::settings(env, file, code)
    }

    /// Every key: its variables, default, what it takes and what it does, one line each
    /// (what `tracewire config --keys` prints); from the same table the resolver reads.
    ///
    /// ```
    /// let keys = tracewire::settings::Settings::keys().to_string();
    /// assert!(keys.contains("sampling_rate"));
    /// assert!(keys.contains("OTEL_TRACES_SAMPLER_ARG"));
    /// ```
    pub fn keys() -> impl fmt::Display {
        keys::Table
    }
}

/// The resource detectors `resource_detectors` names, all on by default (see README
/// "Resource").
pub const DETECTORS: &[&str] = &[
    "service_instance",
    "host",
    "os",
    "process",
    "container",
    "k8s",
];

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
        for w in &s.warnings {
            writeln!(f, "# ignored: {w}")?;
        }
        writeln!(f, "# spans go to: {export}")?;
        if let Some(p) = s.proxy.shown() {
            writeln!(
                f,
                "# proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY): {p}"
            )?;
        }
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
        let e = settings(&[("TRACEWIRE_OTLP_HEADERS", "bad header=topsecret")]).unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
        let s = settings(&[("OTEL_EXPORTER_OTLP_HEADERS", "bad header=topsecret")]).unwrap();
        assert!(s.otlp_headers.is_empty());
        assert!(!s.ignored().is_empty());
        let shown = format!("{:?}{}", s.ignored(), s.explain());
        assert!(!shown.contains("topsecret"), "{shown}");
    }

    #[test]
    fn enum_values_are_read_in_any_case() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "DELTA"),
            ("OTEL_TRACES_SAMPLER", "ParentBased_Always_On"),
        ])
        .unwrap();
        assert_eq!(s.metrics_temporality, MetricsTemporality::Delta);
        assert_eq!(s.sampler, SamplerKind::ParentBasedAlwaysOn);
    }

    #[test]
    fn sdk_disabled_turns_enabled_off() {
        assert!(!settings(&[("OTEL_SDK_DISABLED", "true")]).unwrap().enabled);
        assert!(settings(&[("OTEL_SDK_DISABLED", "false")]).unwrap().enabled);
    }
}
