//! From raw values to [`Settings`]: one generic pass over the key table, then the few rules that
//! involve more than one key, each a named function.
//!
//! The generic pass takes each key's winning raw value (or its default), checks it with the
//! key's parser (for some keys a rule of `rules.rs`) and records where it came from, for
//! `explain()` and `Settings::source`; an `OTEL_*` value its parser refuses is ignored with a
//! warning and what it hid is tried next. The rules after it involve several keys: endpoint +
//! protocol (resolved together, see [`endpoint`]), each signal's `OtlpExport`, mutual TLS (both
//! files or neither), the service name's computed default, the Kubernetes environment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::endpoint::{self, Endpoint};
use super::keys::{KEYS, Key, key_name};
use super::load::{self, FileChoice};
use super::parse::{self, Value, invalid};
use super::{
    LogFormat, MetricsTemporality, Protocol, Raw, SamplerKind, Settings, Source, TraceResponseMode,
};
use crate::error::{Error, Result};

/// Every key's checked value and where it came from, in table order.
pub(super) struct Resolved {
    values: Vec<(&'static Key, Value)>,
    /// `(key, source, value as shown)`, for `explain()`.
    pub(super) sources: Vec<(&'static str, Source, String)>,
    /// `OTEL_*` values (or parts of them) that were ignored, each with why.
    pub(super) warnings: Vec<String>,
}

impl Resolved {
    /// The generic pass. `computed` gives the defaults known only now. A value from an `OTEL_*`
    /// variable that its key's parser refuses is ignored with a warning, as if it were unset:
    /// what it hid (`fallbacks`: the generic variable, then the settings file) or the default
    /// is used instead.
    fn new(
        mut raw: std::collections::BTreeMap<&'static str, (Raw, Source)>,
        mut fallbacks: std::collections::BTreeMap<&'static str, Vec<(Raw, Source)>>,
        computed: &dyn Fn(&str) -> Raw,
    ) -> Result<Resolved> {
        let mut r = Resolved {
            values: Vec::with_capacity(KEYS.len()),
            sources: Vec::with_capacity(KEYS.len()),
            warnings: Vec::new(),
        };
        for key in KEYS {
            let default = match key.default {
                super::keys::Builtin::Computed => Some(computed(key.name)),
                d => d.raw(),
            };
            let candidates = raw
                .remove(key.name)
                .into_iter()
                .chain(fallbacks.remove(key.name).unwrap_or_default())
                .chain(default.map(|d| (d, Source::Default)));
            let mut chosen = None;
            let mut ignored = Vec::new();
            for (raw, src) in candidates {
                let raw = super::rules::otel_timeout(key.name, raw, &src);
                match key.parse.value(key.name, &raw, &src, &mut r.warnings) {
                    Ok(v) => {
                        chosen = Some((v, parse::shown(key.name, &raw), src));
                        break;
                    }
                    Err(e) if parse::is_otel(&src) => {
                        ignored.push(parse::at(key.name, &src, &raw));
                        r.warnings.push(format!(
                            "{e}; ignored, as the OpenTelemetry specification asks of an OTEL_* value that cannot be used"
                        ));
                    }
                    Err(e) => return Err(e),
                }
            }
            let (value, mut shown, src) =
                chosen.unwrap_or((Value::Unset, "(unset)".to_string(), Source::Default));
            if !ignored.is_empty() {
                shown = format!("{shown} (ignored {})", ignored.join(", "));
            }
            r.values.push((key, value));
            r.sources.push((key.name, src, shown));
        }
        Ok(r)
    }

    /// The checked value of `name`. The typed readers below return the type the key's parser
    /// produces (a key whose parser gives another shape reads as its zero value, which the
    /// unit tests of every key would show).
    fn get(&self, name: &str) -> &Value {
        // The key table and the fields of `Settings` are both written here in the crate; a
        // name missing from the table fails every test that resolves settings.
        &self
            .values
            .iter()
            .find(|(k, _)| k.name == name)
            .unwrap_or_else(|| panic!("`{name}` is not in the key table"))
            .1
    }

    /// Where the value of `name` came from.
    fn source(&self, name: &str) -> &Source {
        &self.entry(name).1
    }

    fn entry(&self, name: &str) -> &(&'static str, Source, String) {
        let at = self.sources.iter().position(|(k, _, _)| *k == name);
        &self.sources[at.unwrap_or_else(|| panic!("`{name}` is not in the key table"))]
    }

    /// Adds a note to the value `explain()` shows for `name` (why it was ignored, where a
    /// default came from).
    fn note(&mut self, name: &str, note: &str) {
        if let Some(e) = self.sources.iter_mut().find(|(k, _, _)| *k == name) {
            e.2 = format!("{} ({note})", e.2);
        }
    }

    fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Value::Bool(true))
    }

    fn uint(&self, name: &str) -> u64 {
        match self.get(name) {
            Value::Uint(v) => *v,
            _ => 0,
        }
    }

    fn usize(&self, name: &str) -> usize {
        usize::try_from(self.uint(name)).unwrap_or(usize::MAX)
    }

    fn u32(&self, name: &str) -> u32 {
        u32::try_from(self.uint(name)).unwrap_or(u32::MAX)
    }

    /// A `_ms` key as a duration.
    fn millis(&self, name: &str) -> Duration {
        Duration::from_millis(self.uint(name))
    }

    /// The position of a `Parse::OneOf` key's name in its list; `None` when unset.
    fn index(&self, name: &str) -> Option<usize> {
        match self.get(name) {
            Value::Index(i) => Some(*i),
            _ => None,
        }
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Value::List(l) => l.clone(),
            _ => Vec::new(),
        }
    }

    fn map(&self, name: &str) -> Vec<(String, String)> {
        match self.get(name) {
            Value::Map(m) => m.clone(),
            _ => Vec::new(),
        }
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        match self.get(name) {
            Value::Path(p) => Some(p.clone()),
            _ => None,
        }
    }
}

/// The settings from these sources (see the module documentation of `settings` for the
/// precedence).
pub(crate) fn settings(
    env: &HashMap<String, String>,
    file: &FileChoice,
    code: &[(&'static str, Raw)],
) -> Result<Settings> {
    let c = load::collect(env, file, code)?;
    let default_name = c.app_name.clone().unwrap_or_else(executable_name);
    let mut r = Resolved::new(c.values, c.fallbacks, &|_| Raw::Str(default_name.clone()))?;
    for (cert, key) in [
        ("otlp_client_certificate", "otlp_client_key"),
        ("otlp_metrics_client_certificate", "otlp_metrics_client_key"),
        ("otlp_logs_client_certificate", "otlp_logs_client_key"),
    ] {
        mutual_tls(&mut r, cert, key)?;
    }
    if matches!(
        r.source(key_name!("service_name_override")),
        Source::Default
    ) {
        let from = if c.app_name.is_some() {
            "app_name"
        } else {
            "executable name"
        };
        r.note(key_name!("service_name_override"), from);
    }
    let export = export(&mut r, env)?;
    let metrics_otlp = signal_otlp(&mut r, env, &export, &SignalKeys::METRICS)?;
    let logs_otlp = signal_otlp(&mut r, env, &export, &SignalKeys::LOGS)?;
    let queue = r.usize(key_name!("batch_max_queue_size"));
    Ok(Settings {
        enabled: r.bool(key_name!("enabled")),
        tracing_enabled: r.bool(key_name!("tracing_enabled")),
        export,
        otlp_headers: r.map(key_name!("otlp_headers")),
        otlp_timeout: r.millis(key_name!("otlp_timeout_ms")),
        otlp_gzip: r.bool(key_name!("otlp_compression")),
        otlp_certificate: r.path(key_name!("otlp_certificate")),
        otlp_client_certificate: r.path(key_name!("otlp_client_certificate")),
        otlp_client_key: r.path(key_name!("otlp_client_key")),
        otlp_insecure: r.bool(key_name!("otlp_insecure")),
        sampler: SamplerKind::ALL[r.index(key_name!("sampler")).unwrap_or(0)],
        sampling_rate: match r.get(key_name!("sampling_rate")) {
            Value::Float(x) => *x,
            _ => 1.0,
        },
        service_name: r
            .string(key_name!("service_name_override"))
            .unwrap_or_default(),
        service_version: r.string(key_name!("service_version")).or(c.app_version),
        environment: c.environment,
        resource_attributes: r.map(key_name!("resource_attributes")),
        resource_detectors: r.list(key_name!("resource_detectors")),
        propagators: r.list(key_name!("propagators")),
        semconv_stability_opt_in: r.list(key_name!("semconv_stability_opt_in")),
        log_level: r.string(key_name!("log_level")).unwrap_or_default(),
        log_format: LogFormat::ALL[r.index(key_name!("log_format")).unwrap_or(0)],
        log_bridge: r.bool(key_name!("log_bridge")),
        shutdown_timeout: r.millis(key_name!("shutdown_timeout_ms")),
        batch_max_queue_size: queue,
        batch_max_queue_bytes: r.usize(key_name!("batch_max_queue_bytes")),
        batch_max_export_batch_size: r.usize(key_name!("batch_max_export_batch_size")).min(queue),
        batch_scheduled_delay: r.millis(key_name!("batch_scheduled_delay_ms")),
        batch_max_concurrent_exports: r.usize(key_name!("batch_max_concurrent_exports")),
        file_max_bytes: r.uint(key_name!("file_max_bytes")),
        spool_dir: r
            .string(key_name!("spool_dir"))
            .map(std::path::PathBuf::from),
        spool_max_bytes: r.uint(key_name!("spool_max_bytes")),
        exclude_paths: r.list(key_name!("exclude_paths")),
        redact_fields: r.list(key_name!("redact_fields")),
        attribute_value_length_limit: r.usize(key_name!("attribute_value_length_limit")),
        span_attribute_count_limit: r.u32(key_name!("span_attribute_count_limit")),
        span_event_count_limit: r.u32(key_name!("span_event_count_limit")),
        span_link_count_limit: r.u32(key_name!("span_link_count_limit")),
        event_attribute_count_limit: r.u32(key_name!("event_attribute_count_limit")),
        link_attribute_count_limit: r.u32(key_name!("link_attribute_count_limit")),
        drop_warning_interval: r.millis(key_name!("drop_warning_interval_ms")),
        logs_enabled: r.bool(key_name!("logs_enabled")),
        logs_otlp,
        span_events_with_logs: r.bool(key_name!("span_events_with_logs")),
        // On by default where the build can: the default is not an error without the feature.
        metrics_enabled: r.bool(key_name!("metrics_enabled")) && cfg!(feature = "metrics"),
        metrics_otlp,
        metric_export_interval: r.millis(key_name!("metric_export_interval_ms")),
        metric_export_timeout: r.millis(key_name!("metric_export_timeout_ms")),
        metrics_temporality: MetricsTemporality::ALL
            [r.index(key_name!("metrics_temporality")).unwrap_or(0)],
        span_metrics: r.bool(key_name!("span_metrics")),
        span_metrics_max_series: r.usize(key_name!("span_metrics_max_series")),
        span_source_attributes: r.bool(key_name!("span_source_attributes")),
        keep_errors: r.bool(key_name!("keep_errors")),
        traceresponse: TraceResponseMode::ALL[r.index(key_name!("traceresponse")).unwrap_or(0)],
        traceresponse_max_promotions_per_second: r
            .u32(key_name!("traceresponse_max_promotions_per_second")),
        slow_threshold: Some(r.millis(key_name!("slow_threshold_ms"))).filter(|d| !d.is_zero()),
        tail_max_buffered_spans: r.usize(key_name!("tail_max_buffered_spans")),
        tail_max_buffered_bytes: r.usize(key_name!("tail_max_buffered_bytes")),
        sources: r.sources,
        warnings: r.warnings,
        kubernetes: kubernetes_env(env),
        no_color: env.get("NO_COLOR").is_some_and(|v| !v.is_empty()),
        proxy: super::ProxyEnv::from_env(env),
    })
}

/// The keys of one signal's own OTLP transport, each checked against the key table when the
/// crate is built.
struct SignalKeys {
    signal: &'static str,
    endpoint: &'static str,
    protocol: &'static str,
    /// Metrics are bounded by their export timeout, which is always set (a default).
    timeout_ms: &'static str,
    headers: &'static str,
    compression: &'static str,
    certificate: &'static str,
    client_certificate: &'static str,
    client_key: &'static str,
}

impl SignalKeys {
    const METRICS: SignalKeys = SignalKeys {
        signal: "metrics",
        endpoint: key_name!("otlp_metrics_endpoint"),
        protocol: key_name!("otlp_metrics_protocol"),
        timeout_ms: key_name!("metric_export_timeout_ms"),
        headers: key_name!("otlp_metrics_headers"),
        compression: key_name!("otlp_metrics_compression"),
        certificate: key_name!("otlp_metrics_certificate"),
        client_certificate: key_name!("otlp_metrics_client_certificate"),
        client_key: key_name!("otlp_metrics_client_key"),
    };
    const LOGS: SignalKeys = SignalKeys {
        signal: "logs",
        endpoint: key_name!("otlp_logs_endpoint"),
        protocol: key_name!("otlp_logs_protocol"),
        timeout_ms: key_name!("otlp_logs_timeout_ms"),
        headers: key_name!("otlp_logs_headers"),
        compression: key_name!("otlp_logs_compression"),
        certificate: key_name!("otlp_logs_certificate"),
        client_certificate: key_name!("otlp_logs_client_certificate"),
        client_key: key_name!("otlp_logs_client_key"),
    };
}

/// The endpoint and protocol of one signal (see [`signal_otlp`]); `None` when it has none.
fn signal_endpoint(
    r: &mut Resolved,
    env: &HashMap<String, String>,
    spans: &super::Export,
    keys: &SignalKeys,
) -> Result<Option<(String, Protocol)>> {
    let signal = keys.signal;
    let own_protocol = r.index(keys.protocol).map(|i| Protocol::ALL[i]);
    let generic = env
        .get("OTEL_EXPORTER_OTLP_ENDPOINT")
        .filter(|v| !v.trim().is_empty());
    let traces_own = matches!(
        r.source(key_name!("otlp_endpoint")),
        Source::Env {
            var: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        }
    );
    let (url, protocol) = if let Some(text) = r.string(keys.endpoint) {
        let src = r.source(keys.endpoint).clone();
        // A protocol for the spans' endpoint is no guide to another endpoint's; the generic
        // variable is meant for every signal.
        let protocol = own_protocol.or_else(|| {
            env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                .and_then(|p| {
                    Protocol::NAMES
                        .iter()
                        .position(|n| n.eq_ignore_ascii_case(p.trim()))
                })
                .map(|i| Protocol::ALL[i])
        });
        match Endpoint::parse(&text, r.bool(key_name!("otlp_insecure"))) {
            Ok(e) => match endpoint::url_for(e, &src, protocol, signal) {
                Some(found) => found,
                None => return Ok(None),
            },
            Err(why) => {
                let e = invalid(keys.endpoint, &Raw::Str(text.clone()), &src, &why);
                if !parse::is_otel(&src) {
                    return Err(e);
                }
                r.warnings.push(format!("{e}; {signal} are not exported"));
                return Ok(None);
            }
        }
    } else if let (true, Some(generic)) = (traces_own, generic) {
        let src = Source::Env {
            var: "OTEL_EXPORTER_OTLP_ENDPOINT",
        };
        let protocol = own_protocol.or(r
            .index(key_name!("otlp_protocol"))
            .map(|i| Protocol::ALL[i]));
        match Endpoint::parse(generic.trim(), r.bool(key_name!("otlp_insecure")))
            .ok()
            .and_then(|e| endpoint::url_for(e, &src, protocol, signal))
        {
            Some(found) => found,
            None => return Ok(None),
        }
    } else {
        match spans {
            super::Export::Otlp { url, protocol } => {
                let protocol = own_protocol.unwrap_or(*protocol);
                (endpoint::beside_traces(url, protocol, signal), protocol)
            }
            _ => return Ok(None),
        }
    };
    Ok(Some((url, protocol)))
}

/// Where one signal (`metrics`, `logs`) goes over OTLP, option by option: its own key or
/// variable when set, else the span endpoint's. Without an endpoint of its own it goes beside
/// the span endpoint (or, when that one came from `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, to the
/// generic `OTEL_EXPORTER_OTLP_ENDPOINT` when set, as the specification says); `None` when
/// there is no OTLP endpoint for it at all.
fn signal_otlp(
    r: &mut Resolved,
    env: &HashMap<String, String>,
    spans: &super::Export,
    keys: &SignalKeys,
) -> Result<Option<super::OtlpExport>> {
    let Some((url, protocol)) = signal_endpoint(r, env, spans, keys)? else {
        return Ok(None);
    };
    let set = |r: &Resolved, k: &str| !matches!(r.get(k), Value::Unset);
    let or_shared = |r: &Resolved, own: &'static str, shared: &str| {
        if set(r, own) {
            r.path(own)
        } else {
            r.path(shared)
        }
    };
    let timeout = if set(r, keys.timeout_ms) {
        r.millis(keys.timeout_ms)
    } else {
        r.millis(key_name!("otlp_timeout_ms"))
    };
    Ok(Some(super::OtlpExport {
        url,
        protocol,
        headers: if set(r, keys.headers) {
            r.map(keys.headers)
        } else {
            r.map(key_name!("otlp_headers"))
        },
        timeout,
        gzip: if set(r, keys.compression) {
            r.bool(keys.compression)
        } else {
            r.bool(key_name!("otlp_compression"))
        },
        certificate: or_shared(r, keys.certificate, key_name!("otlp_certificate")),
        client_certificate: or_shared(
            r,
            keys.client_certificate,
            key_name!("otlp_client_certificate"),
        ),
        client_key: or_shared(r, keys.client_key, key_name!("otlp_client_key")),
        proxy: super::ProxyEnv::from_env(env),
    }))
}

/// Where spans go: `traces_exporter`, then the endpoint and protocol resolved together.
///
/// With no endpoint anywhere, spans go to the file sink, so that a newcomer's first run shows
/// them. Not in a Kubernetes pod (`KUBERNETES_SERVICE_HOST`, which the kubelet sets in every
/// container): there a missing endpoint is an oversight, and a file growing inside the
/// container's writable layer helps no one; nothing is exported, with a warning.
fn export(r: &mut Resolved, env: &HashMap<String, String>) -> Result<super::Export> {
    let (_, endpoint_src, _) = r.entry(key_name!("otlp_endpoint")).clone();
    let mut protocol = r
        .index(key_name!("otlp_protocol"))
        .map(|i| Protocol::ALL[i]);
    // A protocol set at a lower level than the endpoint (settings.toml's `otlp_protocol` under
    // an operator's OTEL_EXPORTER_OTLP_ENDPOINT) was chosen for another endpoint.
    if protocol.is_some() && level(r.source(key_name!("otlp_protocol"))) < level(&endpoint_src) {
        protocol = None;
        r.note(
            "otlp_protocol",
            &format!(
                "ignored: set at a lower level than otlp_endpoint ({endpoint_src}); the protocol is inferred from the endpoint"
            ),
        );
    }
    if r.index(key_name!("traces_exporter")) == Some(1) {
        return Ok(super::Export::None);
    }
    let Some(url) = r.string(key_name!("otlp_endpoint")) else {
        if env
            .get("KUBERNETES_SERVICE_HOST")
            .is_some_and(|v| !v.trim().is_empty())
        {
            r.warnings.push(
                "no OTLP endpoint is configured in this Kubernetes pod: spans and metrics are not exported (the file sink is for a developer's machine); set OTEL_EXPORTER_OTLP_ENDPOINT, or otlp_endpoint = \"file:PATH\" to keep a file".into(),
            );
            return Ok(super::Export::None);
        }
        return Ok(super::Export::File {
            path: PathBuf::from(super::DEFAULT_FILE_SINK),
        });
    };
    match Endpoint::parse(&url, r.bool(key_name!("otlp_insecure"))) {
        Ok(parsed) => Ok(endpoint::export(parsed, &endpoint_src, protocol)),
        // `otlp_insecure` contradicting an `https://` endpoint: the one setting that makes a
        // URL the key's parser accepted unusable.
        Err(why) => {
            let e = invalid("otlp_endpoint", &Raw::Str(url.clone()), &endpoint_src, &why);
            if !parse::is_otel(&endpoint_src) {
                return Err(e);
            }
            r.warnings.push(format!("{e}; spans are not exported"));
            Ok(super::Export::None)
        }
    }
}

/// How high a source ranks in the precedence (see the module documentation of `settings`).
fn level(src: &Source) -> u8 {
    match src {
        Source::Default => 0,
        Source::File { .. } => 1,
        Source::Env { var } if var.starts_with("TRACEWIRE_") => 3,
        Source::Env { .. } => 2,
        Source::Code => 4,
    }
}

/// A client certificate without its key, or the reverse, is refused at start: the TLS handshake
/// would fail on every export. When the half that is set came from an `OTEL_*` variable, it is
/// ignored with a warning instead (exports then go without a client certificate).
fn mutual_tls(r: &mut Resolved, cert: &'static str, key: &'static str) -> Result<()> {
    let (have, lacks) = match (r.path(cert), r.path(key)) {
        (Some(_), None) => (cert, key),
        (None, Some(_)) => (key, cert),
        _ => return Ok(()),
    };
    // The generic variable, the one an operator sets for every signal.
    let var = super::keys::key(lacks)
        .and_then(|k| k.otel_env.last())
        .copied()
        .unwrap_or_default();
    let message = format!(
        "{have} is set ({}) but {lacks} is not: mutual TLS needs both ({var})",
        r.source(have)
    );
    if !parse::is_otel(r.source(have)) {
        return Err(Error::config(message));
    }
    r.warnings.push(format!("{message}; {have} ignored"));
    if let Some(v) = r.values.iter_mut().find(|(k, _)| k.name == have) {
        v.1 = Value::Unset;
    }
    r.note(have, "ignored: no matching key or certificate");
    Ok(())
}

/// The pod's attributes the downward API puts in the environment (the OpenTelemetry Operator's
/// `OTEL_RESOURCE_ATTRIBUTES_POD_NAME`/`_POD_UID`/`_NODE_NAME`, or the common `HOSTNAME`,
/// `NODE_NAME`, `POD_NAMESPACE`), only inside Kubernetes (`KUBERNETES_SERVICE_HOST`).
fn kubernetes_env(env: &std::collections::HashMap<String, String>) -> Vec<(&'static str, String)> {
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| env.get(*n).map(|v| v.trim()).filter(|v| !v.is_empty()))
            .map(str::to_string)
    };
    if get(&["KUBERNETES_SERVICE_HOST"]).is_none() {
        return Vec::new();
    }
    [
        (
            "k8s.pod.name",
            &["OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "HOSTNAME"][..],
        ),
        ("k8s.pod.uid", &["OTEL_RESOURCE_ATTRIBUTES_POD_UID"][..]),
        (
            "k8s.node.name",
            &["OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "NODE_NAME"][..],
        ),
        ("k8s.namespace.name", &["POD_NAMESPACE"][..]),
    ]
    .into_iter()
    .filter_map(|(k, names)| get(names).map(|v| (k, v)))
    .collect()
}

/// The default `service.name` when neither a key nor `app_name` gives one (the specification's
/// `unknown_service` when even that is unknown).
fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown_service".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_attributes_only_inside_kubernetes() {
        let env = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(kubernetes_env(&env(&[("HOSTNAME", "web-1")])).is_empty());
        let found = kubernetes_env(&env(&[
            ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
            ("HOSTNAME", "web-1"),
            ("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "web-7f9c"),
            ("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "node-3"),
        ]));
        assert_eq!(
            found,
            [
                ("k8s.pod.name", "web-7f9c".to_string()),
                ("k8s.node.name", "node-3".to_string())
            ]
        );
    }
}
