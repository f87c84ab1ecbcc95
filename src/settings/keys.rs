//! The one table of settings keys. Each row carries everything about a key: its name, its
//! `TRACEWIRE_*` variable, the standard `OTEL_*` variables (most specific first), its default,
//! how its value is checked and one line of documentation.
//!
//! From this table come the resolver's generic pass (`resolve.rs`), the typo suggestions, the
//! keys [`Builder::with_setting`](crate::Builder::with_setting) accepts and
//! [`Settings::keys`](crate::settings::Settings::keys) (`tracewire config --keys`); `tests/every_key.rs`
//! checks that `settings.toml` and the README list exactly these keys. Adding a key is one row
//! here, a field on `Settings` and its line in `resolve::settings`; a key with a rule of its own
//! names a function in `rules.rs`.

use super::parse::Parse;
use super::rules;
use super::{LogFormat, MetricsTemporality, Protocol, Raw, SamplerKind, TraceResponseMode};
use crate::error::{Error, Result};

/// One key of `[observability]`.
pub(crate) struct Key {
    pub(crate) name: &'static str,
    /// `TRACEWIRE_<KEY>`.
    pub(crate) tracewire_env: &'static str,
    /// Standard OpenTelemetry variables for this key, the most specific first.
    pub(crate) otel_env: &'static [&'static str],
    pub(crate) default: Builtin,
    pub(crate) parse: Parse,
    pub(crate) doc: &'static str,
}

/// A key's built-in value, before it goes through the key's parser like any other value.
#[derive(Clone, Copy)]
pub(crate) enum Builtin {
    /// No value: an optional setting.
    Unset,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'static str),
    List(&'static [&'static str]),
    /// An empty map.
    Map,
    /// Known only at resolution (the service name comes from `app_name` or the executable).
    Computed,
}

impl Builtin {
    pub(crate) fn raw(self) -> Option<Raw> {
        Some(match self {
            Builtin::Unset | Builtin::Computed => return None,
            Builtin::Bool(b) => Raw::Bool(b),
            Builtin::Int(i) => Raw::Int(i),
            Builtin::Float(x) => Raw::Float(x),
            Builtin::Str(s) => Raw::Str(s.to_string()),
            Builtin::List(l) => Raw::List(l.iter().map(|s| s.to_string()).collect()),
            Builtin::Map => Raw::Map(Vec::new()),
        })
    }
}

const COUNT: Parse = Parse::Uint {
    min: 0,
    max: u32::MAX as u64,
};
pub(crate) const EXPORTERS: &[&str] = &["otlp", "none"];

/// `name, TRACEWIRE_*, [OTEL_* ...], default, parser, doc;` — one row per key.
macro_rules! keys {
    ($( $name:literal, $tw:literal, [$($otel:literal),*], $default:expr, $parse:expr, $doc:literal; )*) => {
        pub(crate) const KEYS: &[Key] = &[
            $( Key {
                name: $name,
                tracewire_env: $tw,
                otel_env: &[$($otel),*],
                default: $default,
                parse: $parse,
                doc: $doc,
            }, )*
        ];
    };
}

use Builtin as D;
use Parse as P;

#[rustfmt::skip]
keys! {
    "enabled", "TRACEWIRE_ENABLED", ["OTEL_SDK_DISABLED"], D::Bool(true), P::With(rules::enabled),
        "Master switch: false builds no OpenTelemetry pipeline (no thread, no network); logs are still written";
    "tracing_enabled", "TRACEWIRE_TRACING_ENABLED", [], D::Bool(true), P::Bool,
        "Span export on/off; off keeps logs, without trace ids";
    "traces_exporter", "TRACEWIRE_TRACES_EXPORTER", ["OTEL_TRACES_EXPORTER"], D::Str("otlp"), P::OneOf(EXPORTERS, ""),
        "`none` exports nothing (ids are still made and propagated)";
    "otlp_endpoint", "TRACEWIRE_OTLP_ENDPOINT", ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"], D::Unset, P::With(rules::endpoint_text),
        "`http(s)://host:port[/path]` or `file:PATH`; unset: the file sink";
    "otlp_protocol", "TRACEWIRE_OTLP_PROTOCOL", ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"], D::Unset, P::OneOf(Protocol::NAMES, " (http/json is not supported)"),
        "`grpc` or `http/protobuf`; unset: gRPC for port 4317, else HTTP";
    "otlp_headers", "TRACEWIRE_OTLP_HEADERS", ["OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"], D::Map, P::Headers,
        "Headers sent with every export request (values are secrets: never printed)";
    "otlp_timeout_ms", "TRACEWIRE_OTLP_TIMEOUT_MS", ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"], D::Int(10_000), P::Uint { min: 1, max: 600_000 },
        "Timeout of one export request";
    "otlp_compression", "TRACEWIRE_OTLP_COMPRESSION", ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"], D::Str("none"), P::With(rules::compression),
        "`none` or `gzip`";
    "otlp_certificate", "TRACEWIRE_OTLP_CERTIFICATE", ["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"], D::Unset, P::Pem,
        "PEM file of the CA that signs the collector's certificate; unset: the system's roots";
    "otlp_client_certificate", "TRACEWIRE_OTLP_CLIENT_CERTIFICATE", ["OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"], D::Unset, P::Pem,
        "PEM client certificate (chain) for mutual TLS, with `otlp_client_key`";
    "otlp_client_key", "TRACEWIRE_OTLP_CLIENT_KEY", ["OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"], D::Unset, P::Pem,
        "PEM private key of the client certificate";
    "otlp_insecure", "TRACEWIRE_OTLP_INSECURE", ["OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"], D::Bool(false), P::Bool,
        "An endpoint without a scheme is `http://` (else `https://`)";
    "otlp_metrics_endpoint", "TRACEWIRE_OTLP_METRICS_ENDPOINT", ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"], D::Unset, P::With(rules::signal_endpoint_text),
        "Metrics' own `http(s)://host:port[/path]`; unset: beside the span endpoint";
    "otlp_metrics_protocol", "TRACEWIRE_OTLP_METRICS_PROTOCOL", ["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"], D::Unset, P::OneOf(Protocol::NAMES, " (http/json is not supported)"),
        "`grpc` or `http/protobuf` for metrics; unset: the span endpoint's, or inferred from `otlp_metrics_endpoint`";
    "otlp_metrics_headers", "TRACEWIRE_OTLP_METRICS_HEADERS", ["OTEL_EXPORTER_OTLP_METRICS_HEADERS"], D::Unset, P::Headers,
        "Headers of metrics export requests (secrets: never printed); unset: `otlp_headers`";
    "otlp_metrics_compression", "TRACEWIRE_OTLP_METRICS_COMPRESSION", ["OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"], D::Unset, P::With(rules::compression),
        "`none` or `gzip` for metrics; unset: `otlp_compression`";
    "otlp_metrics_certificate", "TRACEWIRE_OTLP_METRICS_CERTIFICATE", ["OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE"], D::Unset, P::Pem,
        "CA of the metrics endpoint; unset: `otlp_certificate`";
    "otlp_metrics_client_certificate", "TRACEWIRE_OTLP_METRICS_CLIENT_CERTIFICATE", ["OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE"], D::Unset, P::Pem,
        "Client certificate for the metrics endpoint; unset: `otlp_client_certificate`";
    "otlp_metrics_client_key", "TRACEWIRE_OTLP_METRICS_CLIENT_KEY", ["OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY"], D::Unset, P::Pem,
        "Its private key; unset: `otlp_client_key`";
    "otlp_logs_endpoint", "TRACEWIRE_OTLP_LOGS_ENDPOINT", ["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"], D::Unset, P::With(rules::signal_endpoint_text),
        "Log records' own `http(s)://host:port[/path]`; unset: beside the span endpoint";
    "otlp_logs_protocol", "TRACEWIRE_OTLP_LOGS_PROTOCOL", ["OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"], D::Unset, P::OneOf(Protocol::NAMES, " (http/json is not supported)"),
        "`grpc` or `http/protobuf` for logs; unset: the span endpoint's, or inferred from `otlp_logs_endpoint`";
    "otlp_logs_headers", "TRACEWIRE_OTLP_LOGS_HEADERS", ["OTEL_EXPORTER_OTLP_LOGS_HEADERS"], D::Unset, P::Headers,
        "Headers of logs export requests (secrets: never printed); unset: `otlp_headers`";
    "otlp_logs_timeout_ms", "TRACEWIRE_OTLP_LOGS_TIMEOUT_MS", ["OTEL_EXPORTER_OTLP_LOGS_TIMEOUT"], D::Unset, P::Uint { min: 1, max: 600_000 },
        "Timeout of one log export; unset: `otlp_timeout_ms`";
    "otlp_logs_compression", "TRACEWIRE_OTLP_LOGS_COMPRESSION", ["OTEL_EXPORTER_OTLP_LOGS_COMPRESSION"], D::Unset, P::With(rules::compression),
        "`none` or `gzip` for logs; unset: `otlp_compression`";
    "otlp_logs_certificate", "TRACEWIRE_OTLP_LOGS_CERTIFICATE", ["OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE"], D::Unset, P::Pem,
        "CA of the logs endpoint; unset: `otlp_certificate`";
    "otlp_logs_client_certificate", "TRACEWIRE_OTLP_LOGS_CLIENT_CERTIFICATE", ["OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"], D::Unset, P::Pem,
        "Client certificate for the logs endpoint; unset: `otlp_client_certificate`";
    "otlp_logs_client_key", "TRACEWIRE_OTLP_LOGS_CLIENT_KEY", ["OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY"], D::Unset, P::Pem,
        "Its private key; unset: `otlp_client_key`";
    "sampler", "TRACEWIRE_SAMPLER", ["OTEL_TRACES_SAMPLER"], D::Str("parentbased_traceidratio"), P::OneOf(SamplerKind::NAMES, ""),
        "Head sampler, as `OTEL_TRACES_SAMPLER` names them";
    "sampling_rate", "TRACEWIRE_SAMPLING_RATE", ["OTEL_TRACES_SAMPLER_ARG"], D::Float(1.0), P::Rate,
        "Ratio of new traces sampled, `0.0..=1.0`";
    "service_name_override", "TRACEWIRE_SERVICE_NAME_OVERRIDE", ["OTEL_SERVICE_NAME"], D::Computed, P::NonEmpty("a non-empty service name"),
        "`service.name`; unset: `app_name`, else the executable's name";
    "service_version", "TRACEWIRE_SERVICE_VERSION", [], D::Unset, P::Text,
        "`service.version`; unset: `app_version`";
    "resource_attributes", "TRACEWIRE_RESOURCE_ATTRIBUTES", ["OTEL_RESOURCE_ATTRIBUTES"], D::Map, P::Map,
        "Extra resource attributes (`k=v,k2=v2` or a table)";
    "resource_detectors", "TRACEWIRE_RESOURCE_DETECTORS", ["OTEL_RUST_RESOURCE_DETECTORS"], D::List(super::DETECTORS), P::With(rules::detectors),
        "Resource detectors, `all`, or `none`: `service_instance`, `host`, `os`, `process`, `container`, `k8s`";
    "propagators", "TRACEWIRE_PROPAGATORS", ["OTEL_PROPAGATORS"], D::Str("tracecontext,baggage"), P::With(rules::propagators),
        "Formats read and written, in order: `tracecontext`, `baggage`, `b3`, `b3multi`, `jaeger`, `xray`, or `none`";
    "semconv_stability_opt_in", "TRACEWIRE_SEMCONV_STABILITY_OPT_IN", ["OTEL_SEMCONV_STABILITY_OPT_IN"], D::List(&[]), P::With(rules::semconv_opt_in),
        "Convention domains: `rpc/dup` adds the deprecated RPC names to gRPC spans (the others are the stable sets tracewire emits already)";
    "log_level", "TRACEWIRE_LOG_LEVEL", ["RUST_LOG"], D::Str("info"), P::Filter,
        "Env-filter directives for log lines";
    "log_format", "TRACEWIRE_LOG_FORMAT", [], D::Str("json"), P::OneOf(LogFormat::NAMES, ""),
        "`json`, `pretty` or `compact`";
    "log_bridge", "TRACEWIRE_LOG_BRIDGE", [], D::Bool(true), P::Bool,
        "Records of the `log` crate become tracing events";
    "shutdown_timeout_ms", "TRACEWIRE_SHUTDOWN_TIMEOUT_MS", [], D::Int(5_000), P::Uint { min: 0, max: 600_000 },
        "Bound on flush + shutdown when the guard is dropped";
    "batch_max_queue_size", "TRACEWIRE_BATCH_MAX_QUEUE_SIZE", ["OTEL_BSP_MAX_QUEUE_SIZE"], D::Int(32_768), P::Uint { min: 1, max: 10_000_000 },
        "Spans held while the exporter is busy; beyond, dropped and counted";
    "batch_max_queue_bytes", "TRACEWIRE_BATCH_MAX_QUEUE_BYTES", [], D::Int(64 << 20), P::Uint { min: 1 << 20, max: 1 << 40 },
        "Bytes the queue may hold; beyond, dropped and counted";
    "batch_max_export_batch_size", "TRACEWIRE_BATCH_MAX_EXPORT_BATCH_SIZE", ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"], D::Int(512), P::Uint { min: 1, max: 1_000_000 },
        "Spans per export request (at most the queue size)";
    "batch_scheduled_delay_ms", "TRACEWIRE_BATCH_SCHEDULED_DELAY_MS", ["OTEL_BSP_SCHEDULE_DELAY"], D::Int(1_000), P::Uint { min: 1, max: 3_600_000 },
        "How long a span may wait before it is exported";
    "batch_max_concurrent_exports", "TRACEWIRE_BATCH_MAX_CONCURRENT_EXPORTS", ["OTEL_BSP_MAX_CONCURRENT_EXPORTS"], D::Int(4), P::Uint { min: 1, max: 64 },
        "OTLP export requests in flight at once";
    "file_max_bytes", "TRACEWIRE_FILE_MAX_BYTES", [], D::Int(64 << 20), P::Uint { min: 0, max: u64::MAX },
        "Cap of the file sink; beyond, spans are dropped and counted";
    "spool_dir", "TRACEWIRE_SPOOL_DIR", [], D::Unset, P::NonEmpty("a directory path"),
        "Disk spool: spans the collector cannot take wait here and are sent when it answers, also by the next process; unset: off";
    "spool_max_bytes", "TRACEWIRE_SPOOL_MAX_BYTES", [], D::Int(1 << 30), P::Uint { min: 1 << 20, max: 1 << 50 },
        "Bytes the spool may hold; beyond, its oldest spans are dropped and counted";
    "exclude_paths", "TRACEWIRE_EXCLUDE_PATHS", [], D::List(&[]), P::Paths,
        "HTTP paths the server layer does not trace (a trailing `*` matches a prefix)";
    "redact_fields", "TRACEWIRE_REDACT_FIELDS", [], D::List(super::DEFAULT_REDACT), P::LowerList,
        "Names whose values become `[REDACTED]`, matched by words";
    "attribute_value_length_limit", "TRACEWIRE_ATTRIBUTE_VALUE_LENGTH_LIMIT", ["OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"], D::Int(8192), P::Uint { min: 1, max: u32::MAX as u64 },
        "Longest string value, in characters; longer ones are cut";
    "span_attribute_count_limit", "TRACEWIRE_SPAN_ATTRIBUTE_COUNT_LIMIT", ["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"], D::Int(128), COUNT,
        "Attributes kept per span";
    "span_event_count_limit", "TRACEWIRE_SPAN_EVENT_COUNT_LIMIT", ["OTEL_SPAN_EVENT_COUNT_LIMIT"], D::Int(128), COUNT,
        "Events kept per span";
    "span_link_count_limit", "TRACEWIRE_SPAN_LINK_COUNT_LIMIT", ["OTEL_SPAN_LINK_COUNT_LIMIT"], D::Int(128), COUNT,
        "Links kept per span";
    "event_attribute_count_limit", "TRACEWIRE_EVENT_ATTRIBUTE_COUNT_LIMIT", ["OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"], D::Int(128), COUNT,
        "Attributes kept per event";
    "link_attribute_count_limit", "TRACEWIRE_LINK_ATTRIBUTE_COUNT_LIMIT", ["OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"], D::Int(128), COUNT,
        "Attributes kept per link";
    "drop_warning_interval_ms", "TRACEWIRE_DROP_WARNING_INTERVAL_MS", [], D::Int(60_000), P::Uint { min: 100, max: 86_400_000 },
        "At most one warning per interval while spans are dropped";
    "logs_enabled", "TRACEWIRE_LOGS_ENABLED", ["OTEL_LOGS_EXPORTER"], D::Bool(false), P::With(rules::logs_enabled),
        "Export tracing events as OTLP log records (feature `logs`)";
    "metrics_enabled", "TRACEWIRE_METRICS_ENABLED", ["OTEL_METRICS_EXPORTER"], D::Bool(true), P::With(rules::metrics_enabled),
        "OTLP metrics: HTTP and messaging histograms, span metrics, your own (feature `metrics`)";
    "metric_export_interval_ms", "TRACEWIRE_METRIC_EXPORT_INTERVAL_MS", ["OTEL_METRIC_EXPORT_INTERVAL"], D::Int(60_000), P::Uint { min: 100, max: 86_400_000 },
        "Time between two metric exports (the last interval is exported at shutdown)";
    "metric_export_timeout_ms", "TRACEWIRE_METRIC_EXPORT_TIMEOUT_MS", ["OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_METRIC_EXPORT_TIMEOUT"], D::Int(30_000), P::Uint { min: 1, max: 600_000 },
        "Timeout of one metric export";
    "metrics_temporality", "TRACEWIRE_METRICS_TEMPORALITY", ["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"], D::Str("cumulative"), P::OneOf(MetricsTemporality::NAMES, ""),
        "`cumulative`, `delta` or `lowmemory`, as the specification defines them";
    "span_metrics", "TRACEWIRE_SPAN_METRICS", [], D::Bool(false), P::Bool,
        "Calls and duration per span name, kind and status, from every span, sampled or not";
    "span_metrics_max_series", "TRACEWIRE_SPAN_METRICS_MAX_SERIES", [], D::Int(2000), P::Uint { min: 1, max: 100_000 },
        "Series per span metric; more go to one `otel.metric.overflow` series";
    "span_events_with_logs", "TRACEWIRE_SPAN_EVENTS_WITH_LOGS", [], D::Bool(false), P::Bool,
        "With `logs_enabled`, keep events as span events too";
    "span_source_attributes", "TRACEWIRE_SPAN_SOURCE_ATTRIBUTES", [], D::Bool(false), P::Bool,
        "Add `code.*`, `thread.*`, `target`, busy/idle times to every span";
    "keep_errors", "TRACEWIRE_KEEP_ERRORS", [], D::Bool(false), P::Bool,
        "Tail rule: export every trace with an error";
    "slow_threshold_ms", "TRACEWIRE_SLOW_THRESHOLD_MS", [], D::Int(0), P::Uint { min: 0, max: 86_400_000 },
        "Tail rule: export every trace whose local root took this long (0: off)";
    "tail_max_buffered_spans", "TRACEWIRE_TAIL_MAX_BUFFERED_SPANS", [], D::Int(65_536), P::Uint { min: 1, max: 100_000_000 },
        "Tail rule: spans held while traces are undecided";
    "tail_max_buffered_bytes", "TRACEWIRE_TAIL_MAX_BUFFERED_BYTES", [], D::Int(64 << 20), P::Uint { min: 1 << 20, max: 1 << 40 },
    "Tail rule: bytes held while traces are undecided";
    "traceresponse", "TRACEWIRE_TRACERESPONSE", [], D::Str("changed"), P::OneOf(TraceResponseMode::NAMES, ""),
        "W3C `traceresponse` from the server layers: `changed` (when this service kept a trace its caller did not sample, or restarted it), `on` (whenever kept), `off` (neither sent nor read)";
    "traceresponse_max_promotions_per_second", "TRACEWIRE_TRACERESPONSE_MAX_PROMOTIONS_PER_SECOND", [], D::Int(20), P::Uint { min: 0, max: 1_000_000 },
        "Traces a callee's `traceresponse` may turn to kept, per second (the rest refused and counted)";}
/// Whether `name` is a key of the table, evaluated at compile time by `key_name!`: the resolver's
/// lookups name keys through it, so a misspelt key is a build error, not a panic at start.
pub(crate) const fn is_key(name: &str) -> bool {
    let mut i = 0;
    while i < KEYS.len() {
        let (a, b) = (KEYS[i].name.as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// A key's name, checked against the table when the crate is built.
macro_rules! key_name {
    ($name:literal) => {{
        const _: () = assert!(
            $crate::settings::keys::is_key($name),
            concat!("no settings key `", $name, "` in settings/keys.rs")
        );
        $name
    }};
}
pub(crate) use key_name;

/// The row of `name`.
pub(crate) fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The key of this name, or an error naming the nearest one and every key.
pub(crate) fn known_key(name: &str) -> Result<&'static str> {
    key(name).map(|k| k.name).ok_or_else(|| {
        Error::config(format!(
            "unknown key `{name}` set in code (with_setting){}; allowed keys: {}",
            suggest(name, KEYS.iter().map(|k| k.name))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default(),
            KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The table as `tracewire config --keys` prints it.
pub(crate) struct Table;

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for k in KEYS {
            let default = match k.default.raw() {
                Some(raw) => raw.to_string(),
                None if matches!(k.default, Builtin::Computed) => "(computed)".into(),
                None => "(unset)".into(),
            };
            writeln!(f, "{} = {default}", k.name)?;
            writeln!(f, "    {}", k.doc)?;
            let mut vars = vec![k.tracewire_env];
            vars.extend(k.otel_env);
            writeln!(f, "    env: {}", vars.join(", "))?;
        }
        Ok(())
    }
}

/// The candidate closest to `input` by edit distance, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = impl AsRef<str> + 'a>,
) -> Option<String> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let c = c.as_ref().to_string();
            (levenshtein(&input, &c.to_ascii_lowercase()), c)
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key_for_a_typo() {
        let names = KEYS.iter().map(|k| k.name);
        assert_eq!(
            suggest("sampling_rte", names.clone()).as_deref(),
            Some("sampling_rate")
        );
        assert_eq!(
            suggest("otlp_endpont", names.clone()).as_deref(),
            Some("otlp_endpoint")
        );
        assert_eq!(suggest("completely_different", names), None);
    }

    #[test]
    fn every_key_has_its_tracewire_variable() {
        for k in KEYS {
            assert_eq!(
                k.tracewire_env,
                format!("TRACEWIRE_{}", k.name.to_ascii_uppercase())
            );
        }
    }
}
