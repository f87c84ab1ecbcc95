//! The rules of keys whose values need more than a shared parser: `OTEL_SDK_DISABLED` (says
//! the opposite of `enabled`), the `OTEL_*_EXPORTER` lists, compression, the propagator and
//! detector lists, `OTEL_SEMCONV_STABILITY_OPT_IN`, endpoints, the specification's "timeout 0
//! means no limit". The key table names them (`Parse::With`); each takes the key, the raw value,
//! where it came from, and the warnings for parts of an `OTEL_*` value it leaves out. They depend
//! on the parsers only, so the table does not depend on the resolver.

use super::endpoint::Endpoint;
use super::parse::{self, Value, invalid};
use super::{Raw, Source};
use crate::error::Result;

/// `enabled`; `OTEL_SDK_DISABLED` says the opposite (and is a specification boolean: only
/// `true` disables).
pub(super) fn enabled(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    if parse::is_otel(src) {
        return Ok(Value::Bool(!parse::otel_bool(key, raw, src, warnings)));
    }
    Ok(Value::Bool(parse::bool(key, raw, src)?))
}

/// An `OTEL_*_EXPORTER` list: `Some(true)` when it names `otlp`, `Some(false)` for `none`,
/// `None` when it names nothing tracewire has (each unknown name warned about).
pub(super) fn exporter_list(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<Option<bool>> {
    let mut on = None;
    let mut unknown = Vec::new();
    for name in parse::list(key, raw, src)? {
        match name.to_ascii_lowercase().as_str() {
            "otlp" => on = Some(true),
            "none" => on = on.or(Some(false)),
            _ => unknown.push(name),
        }
    }
    // With nothing known, the caller's error says it all.
    if on.is_some() {
        for name in unknown {
            warnings.push(format!(
                "{}: exporter `{name}` is not one tracewire has (otlp, none); left out",
                parse::at(key, src, raw)
            ));
        }
    }
    Ok(on)
}

/// `logs_enabled`; `OTEL_LOGS_EXPORTER` names exporters rather than saying yes or no.
pub(super) fn logs_enabled(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    let on = if parse::is_otel(src) {
        exporter_list(key, raw, src, warnings)?
            .ok_or_else(|| invalid(key, raw, src, "otlp or none"))?
    } else {
        parse::bool(key, raw, src)?
    };
    if on && !cfg!(feature = "logs") {
        return Err(invalid(
            key,
            raw,
            src,
            "false (OTLP logs need tracewire's `logs` cargo feature)",
        ));
    }
    Ok(Value::Bool(on))
}

/// `metrics_enabled`; `OTEL_METRICS_EXPORTER` names exporters (`otlp` or `none`). Asked for
/// explicitly in a build without the `metrics` feature, it is an error rather than ignored.
pub(super) fn metrics_enabled(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    let on = if parse::is_otel(src) {
        exporter_list(key, raw, src, warnings)?
            .ok_or_else(|| invalid(key, raw, src, "otlp or none"))?
    } else {
        parse::bool(key, raw, src)?
    };
    if on && !cfg!(feature = "metrics") && !matches!(src, Source::Default) {
        return Err(invalid(
            key,
            raw,
            src,
            "false (OTLP metrics need tracewire's `metrics` cargo feature)",
        ));
    }
    Ok(Value::Bool(on))
}

/// `otlp_compression`: `none` (or empty) or `gzip`, the latter only with the `gzip` feature.
pub(super) fn compression(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    _warnings: &mut Vec<String>,
) -> Result<Value> {
    match parse::string(key, raw, src)?.to_ascii_lowercase().as_str() {
        "none" | "" => Ok(Value::Bool(false)),
        "gzip" if cfg!(feature = "gzip") => Ok(Value::Bool(true)),
        "gzip" => Err(invalid(
            key,
            raw,
            src,
            "none (gzip needs tracewire's `gzip` cargo feature)",
        )),
        _ => Err(invalid(key, raw, src, "one of: none, gzip")),
    }
}

/// The names `propagators` takes (`none` adds nothing); `propagation::Format::NAMES` is the
/// same list (a unit test there keeps them equal: settings depends on nothing of tracewire's).
pub(crate) const PROPAGATORS: &[&str] =
    &["tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray"];

/// A list of names, lowercased, each once, in the order given, each accepted by `known`. An
/// unknown name in an `OTEL_*` variable is left out with a warning (the Operator may inject
/// names this build does not know); in tracewire's own keys it is an error that lists `allowed`.
fn known_names(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
    known: impl Fn(&str) -> bool,
    allowed: &str,
) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for name in parse::list(key, raw, src)? {
        let name = name.to_ascii_lowercase();
        if known(&name) {
            if !out.contains(&name) {
                out.push(name);
            }
        } else if parse::is_otel(src) {
            warnings.push(format!(
                "{}: `{name}` is not one tracewire has ({allowed}); left out",
                parse::at(key, src, raw)
            ));
        } else {
            return Err(invalid(
                key,
                raw,
                src,
                &format!("a comma-separated list of: {allowed}"),
            ));
        }
    }
    Ok(out)
}

/// `propagators`: a list of [`PROPAGATORS`] (`none` adds nothing).
pub(super) fn propagators(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    let allowed = format!("{}, none", PROPAGATORS.join(", "));
    let names = known_names(
        key,
        raw,
        src,
        warnings,
        |p| p == "none" || PROPAGATORS.contains(&p),
        &allowed,
    )?;
    Ok(Value::List(
        names.into_iter().filter(|p| p != "none").collect(),
    ))
}

/// `resource_detectors`: names from [`super::DETECTORS`], `all` or `none`.
pub(super) fn detectors(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    let allowed = format!("{}, all, none", super::DETECTORS.join(", "));
    let names = known_names(
        key,
        raw,
        src,
        warnings,
        |d| matches!(d, "all" | "none") || super::DETECTORS.contains(&d),
        &allowed,
    )?;
    if names.iter().any(|d| d == "all") {
        return Ok(Value::List(
            super::DETECTORS.iter().map(|d| d.to_string()).collect(),
        ));
    }
    Ok(Value::List(
        names.into_iter().filter(|d| d != "none").collect(),
    ))
}

/// The domains `OTEL_SEMCONV_STABILITY_OPT_IN` names, plain (the new conventions only) or
/// `/dup` (both).
pub(super) const SEMCONV_DOMAINS: &[&str] =
    &["http", "database", "messaging", "rpc", "k8s", "code"];

/// `semconv_stability_opt_in`: a list of [`SEMCONV_DOMAINS`], each plain or `/dup`; for a
/// domain given both ways `/dup` wins, as the conventions say (a `/dup` entry is what readers
/// look for).
pub(super) fn semconv_opt_in(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    let allowed = format!("{}, each optionally with /dup", SEMCONV_DOMAINS.join(", "));
    let names = known_names(
        key,
        raw,
        src,
        warnings,
        |d| SEMCONV_DOMAINS.contains(&d.strip_suffix("/dup").unwrap_or(d)),
        &allowed,
    )?;
    Ok(Value::List(names))
}

/// `OTEL_EXPORTER_OTLP_*TIMEOUT=0` means "no limit" in the specification: the longest timeout
/// tracewire allows.
pub(super) fn otel_timeout(key: &str, raw: Raw, src: &Source) -> Raw {
    match (&raw, src) {
        (Raw::Str(v), Source::Env { var })
            if key.ends_with("timeout_ms") && var.starts_with("OTEL_") && v.trim() == "0" =>
        {
            Raw::Int(600_000)
        }
        _ => raw,
    }
}

/// `otlp_endpoint`: a URL or `file:PATH` that [`Endpoint::parse`] accepts.
pub(super) fn endpoint_text(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    _warnings: &mut Vec<String>,
) -> Result<Value> {
    let text = parse::string(key, raw, src)?;
    Endpoint::parse(&text, false).map_err(|why| invalid(key, raw, src, &why))?;
    Ok(Value::Str(text))
}

/// A signal's own endpoint (`otlp_metrics_endpoint`, `otlp_logs_endpoint`): a URL
/// [`Endpoint::parse`] accepts; not `file:` (metrics go to a file beside the span file).
pub(super) fn signal_endpoint_text(
    key: &'static str,
    raw: &Raw,
    src: &Source,
    _warnings: &mut Vec<String>,
) -> Result<Value> {
    let text = parse::string(key, raw, src)?;
    match Endpoint::parse(&text, false) {
        Ok(Endpoint::Url { .. }) => Ok(Value::Str(text)),
        Ok(Endpoint::File(_)) => Err(invalid(
            key,
            raw,
            src,
            "an http:// or https:// URL (a signal's own endpoint cannot be a file)",
        )),
        Err(why) => Err(invalid(key, raw, src, &why)),
    }
}
