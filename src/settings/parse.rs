//! From a raw value (TOML-typed or environment text) to a checked one: the shared parsers the
//! key table names, and the one error shape they all produce.
//!
//! Every error names the key or variable, the value as given (header values redacted) and what
//! is allowed ([`invalid`]). Strings are trimmed, then refused if they still hold a control
//! character: a newline pasted into `RUST_LOG` is a mistake, never meant.

use std::path::PathBuf;

use super::{Raw, Source};
use crate::error::{Error, Result};

/// How a key's value is checked; each key of the table names one.
#[derive(Clone, Copy)]
pub(crate) enum Parse {
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off` in the environment).
    Bool,
    /// A whole number in `min..=max`.
    Uint { min: u64, max: u64 },
    /// A number from 0.0 to 1.0.
    Rate,
    /// Any string without control characters.
    Text,
    /// A string that is not blank; the text says what is expected.
    NonEmpty(&'static str),
    /// One of these names ([`Value::Index`] of the match), in any case (the specification: "enum
    /// values SHOULD be interpreted in a case-insensitive manner"); the note follows the list in
    /// errors.
    OneOf(&'static [&'static str], &'static str),
    /// A list of URL paths, each starting with `/`.
    Paths,
    /// A list, lowercased.
    LowerList,
    /// A TOML table or `k=v,k2=v2` (values percent-decoded).
    Map,
    /// A map whose names are HTTP header tokens and values free of control characters.
    Headers,
    /// The path of a readable PEM file.
    Pem,
    /// tracing-subscriber env-filter directives.
    Filter,
    /// A rule of its own, in `resolve.rs`; it may add warnings for parts of an `OTEL_*` value
    /// it leaves out (an unknown propagator in a list).
    With(fn(&'static str, &Raw, &Source, &mut Vec<String>) -> Result<Value>),
}

/// A checked value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Unset,
    Bool(bool),
    Uint(u64),
    Float(f64),
    Str(String),
    /// Position of the name in a [`Parse::OneOf`] list.
    Index(usize),
    List(Vec<String>),
    Map(Vec<(String, String)>),
    Path(PathBuf),
}

impl Parse {
    /// The checked value; `warnings` receives what was left out of an `OTEL_*` value that is
    /// otherwise used (see [`is_otel`]).
    pub(crate) fn value(
        self,
        key: &'static str,
        raw: &Raw,
        src: &Source,
        warnings: &mut Vec<String>,
    ) -> Result<Value> {
        Ok(match self {
            Parse::Bool if is_otel(src) => Value::Bool(otel_bool(key, raw, src, warnings)),
            Parse::Bool => Value::Bool(bool(key, raw, src)?),
            Parse::Uint { min, max } => Value::Uint(uint(key, raw, src, min, max)?),
            Parse::Rate => Value::Float(rate(key, raw, src)?),
            Parse::Text => Value::Str(string(key, raw, src)?),
            Parse::NonEmpty(what) => {
                let s = string(key, raw, src)?;
                if s.is_empty() {
                    return Err(invalid(key, raw, src, what));
                }
                Value::Str(s)
            }
            Parse::OneOf(names, note) => {
                let s = string(key, raw, src)?;
                match names.iter().position(|n| n.eq_ignore_ascii_case(&s)) {
                    Some(i) => Value::Index(i),
                    None => {
                        let allowed = format!("one of: {}{note}", names.join(", "));
                        return Err(invalid(key, raw, src, &allowed));
                    }
                }
            }
            Parse::Paths => {
                let items = list(key, raw, src)?;
                if items.iter().any(|p| !p.starts_with('/')) {
                    return Err(invalid(
                        key,
                        raw,
                        src,
                        "paths starting with `/` (a trailing `*` matches a prefix)",
                    ));
                }
                Value::List(items)
            }
            Parse::LowerList => Value::List(
                list(key, raw, src)?
                    .into_iter()
                    .map(|p| p.to_ascii_lowercase())
                    .collect(),
            ),
            Parse::Map => Value::Map(map(raw).map_err(|why| invalid(key, raw, src, &why))?),
            Parse::Headers => Value::Map(headers(key, raw, src)?),
            Parse::Pem => Value::Path(pem_path(key, raw, src)?),
            Parse::Filter => {
                let s = string(key, raw, src)?;
                if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&s) {
                    let allowed = format!(
                        "env-filter directives such as `info` or `info,my_crate=debug` ({e})"
                    );
                    return Err(invalid(key, raw, src, &allowed));
                }
                Value::Str(s)
            }
            Parse::With(rule) => rule(key, raw, src, warnings)?,
        })
    }
}

/// A value as printed in errors and `explain()`: header values never appear.
pub(crate) fn shown(key: &str, raw: &Raw) -> String {
    if key != "otlp_headers" {
        return raw.to_string();
    }
    let names: Vec<String> = match raw {
        Raw::Map(m) => m.iter().map(|(k, _)| k.clone()).collect(),
        Raw::Str(s) => s
            .split(',')
            .filter(|i| !i.trim().is_empty())
            .map(|i| i.split('=').next().unwrap_or("").trim().to_string())
            .collect(),
        _ => return "<redacted>".into(),
    };
    let items: Vec<String> = names.iter().map(|k| format!("{k}=<redacted>")).collect();
    format!("{:?}", items.join(","))
}

/// The one shape of a bad value: it names the key (or variable), the value and what is allowed.
pub(crate) fn invalid(key: &str, raw: &Raw, src: &Source, allowed: &str) -> Error {
    let shown = shown(key, raw);
    let place = match src {
        Source::Env { var } => format!("{var}={shown}"),
        Source::File { path, table } => format!("{key} = {shown} in {path} [{table}]"),
        Source::Code => format!("{key} = {shown} set in code"),
        Source::Default => format!("{key} = {shown} (default)"),
    };
    Error::config(format!("invalid setting {place}: expected {allowed}"))
}

/// Whether a value came from a standard `OTEL_*` variable. The specification's rules apply to
/// those: a value that cannot be used is warned about and ignored, never a failed start (an
/// operator's environment may hold values this version does not know). tracewire's own keys
/// (`settings.toml`, `TRACEWIRE_*`, code) keep failing fast.
pub(crate) fn is_otel(src: &Source) -> bool {
    matches!(src, Source::Env { var } if var.starts_with("OTEL_"))
}

/// A boolean `OTEL_*` variable as the specification reads it: only `true` (in any case) is true;
/// anything but `true`/`false` is false, with a warning.
pub(crate) fn otel_bool(key: &str, raw: &Raw, src: &Source, warnings: &mut Vec<String>) -> bool {
    let text = match raw {
        Raw::Bool(b) => return *b,
        Raw::Str(s) => s.trim(),
        _ => "",
    };
    if text.eq_ignore_ascii_case("true") {
        return true;
    }
    if !text.eq_ignore_ascii_case("false") {
        warnings.push(format!(
            "{}: only `true` or `false` is a boolean; read as false, as the OpenTelemetry specification says",
            at(key, src, raw)
        ));
    }
    false
}

/// `VAR=value` (or `key = value`) for warnings; header values never appear.
pub(crate) fn at(key: &str, src: &Source, raw: &Raw) -> String {
    let shown = shown(key, raw);
    match src {
        Source::Env { var } => format!("{var}={shown}"),
        _ => format!("{key} = {shown}"),
    }
}

pub(crate) fn bool(key: &'static str, raw: &Raw, src: &Source) -> Result<bool> {
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

pub(crate) fn string(key: &'static str, raw: &Raw, src: &Source) -> Result<String> {
    match raw {
        Raw::Str(s) => no_control(key, raw, src, s.trim()).map(str::to_string),
        _ => Err(invalid(key, raw, src, "a string")),
    }
}

/// Refuses what a value should never hold once trimmed: half a value acted on is worse than
/// an error at start.
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

/// A TOML array, or a comma-separated string (environment variables): trimmed, empty items
/// left out.
pub(crate) fn list(key: &'static str, raw: &Raw, src: &Source) -> Result<Vec<String>> {
    let items: Vec<String> = match raw {
        Raw::List(l) => l
            .iter()
            .map(|s| no_control(key, raw, src, s.trim()).map(str::to_string))
            .collect::<Result<_>>()?,
        _ => string(key, raw, src)?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    };
    Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
}

fn uint(key: &'static str, raw: &Raw, src: &Source, min: u64, max: u64) -> Result<u64> {
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

fn rate(key: &'static str, raw: &Raw, src: &Source) -> Result<f64> {
    const RATE: &str = "a number from 0.0 to 1.0";
    let x = match raw {
        Raw::Float(x) => *x,
        Raw::Int(i) => *i as f64,
        Raw::Str(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| invalid(key, raw, src, RATE))?,
        _ => return Err(invalid(key, raw, src, RATE)),
    };
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(invalid(key, raw, src, RATE))
    }
}

/// `k1=v1,k2=v2` (the W3C Baggage-like format of `OTEL_*_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES`, values percent-decoded), or a TOML table. A later duplicate
/// replaces the earlier one.
pub(crate) fn map(raw: &Raw) -> std::result::Result<Vec<(String, String)>, String> {
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
                let decode = |s: &str| crate::text::percent_decode_strict(s.trim());
                let k = decode(k).ok_or("valid percent-encoding")?;
                let v = decode(v).ok_or("valid percent-encoding")?;
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

fn headers(key: &'static str, raw: &Raw, src: &Source) -> Result<Vec<(String, String)>> {
    let map = map(raw).map_err(|why| invalid(key, raw, src, &why))?;
    for (k, v) in &map {
        if !crate::text::is_token(k) {
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

/// A PEM file that can be read now: a path that cannot is an error at `init()` naming the key
/// and the path, not a failure of every export later.
fn pem_path(key: &'static str, raw: &Raw, src: &Source) -> Result<PathBuf> {
    let path = PathBuf::from(string(key, raw, src)?);
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
