//! Where raw values come from: the settings file, the environment, code.
//!
//! Each source is read into the same shape (`key → (Raw, Source)`) and laid over the
//! previous one, so the precedence is written once, in [`collect`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use config::{FileFormat, ValueKind};

use super::keys::{KEYS, suggest};
use super::{Raw, Source};
use crate::error::{Error, Result};

/// `TRACEWIRE_SETTINGS`: path of the settings file (default `settings.toml` in the working directory).
pub const TRACEWIRE_SETTINGS: &str = "TRACEWIRE_SETTINGS";
/// `TRACEWIRE_ENV`: the deployment environment; selects `[<env>.observability]` and sets
/// the `deployment.environment.name` resource attribute.
pub const TRACEWIRE_ENV: &str = "TRACEWIRE_ENV";

const DEFAULT_FILE: &str = "settings.toml";
const TABLE: &str = "observability";

/// The raw layers, highest precedence last, and what the file said outside `[observability]`.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) values: BTreeMap<&'static str, (Raw, Source)>,
    /// What a key's `OTEL_*` value hid, in the order to try when that value cannot be used:
    /// the generic variable under a signal's own, then the value below (the settings file).
    pub(crate) fallbacks: BTreeMap<&'static str, Vec<(Raw, Source)>>,
    pub(crate) app_name: Option<String>,
    pub(crate) app_version: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) file: Option<PathBuf>,
}

/// Reads every source in precedence order (low → high): file, `OTEL_*`, `TRACEWIRE_*`, code.
pub(crate) fn collect(
    env: &HashMap<String, String>,
    file: &FileChoice,
    code: &[(&'static str, Raw)],
) -> Result<Collected> {
    let mut out = Collected {
        environment: env.get(TRACEWIRE_ENV).filter(|v| !v.is_empty()).cloned(),
        ..Collected::default()
    };
    read_file(env, file, &mut out)?;
    read_otel_env(env, &mut out.values, &mut out.fallbacks);
    read_tracewire_env(env, &mut out.values)?;
    for (key, raw) in code {
        let entry = out
            .values
            .entry(key)
            .or_insert((Raw::Bool(false), Source::Code));
        // A map set in code adds to the maps below it instead of hiding them.
        *entry = (merge(&entry.0, raw), Source::Code);
    }
    Ok(out)
}

/// `above` laid over `below`: maps merge key by key (a key above wins), anything else is
/// replaced.
fn merge(below: &Raw, above: &Raw) -> Raw {
    match (below, above) {
        (Raw::Map(lo), Raw::Map(hi)) => {
            let mut m = lo.clone();
            for (k, v) in hi {
                m.retain(|(k2, _)| k2 != k);
                m.push((k.clone(), v.clone()));
            }
            Raw::Map(m)
        }
        _ => above.clone(),
    }
}

/// The process environment; variables that are not UTF-8 are left out (none of tracewire's are).
pub(crate) fn process_env() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Which settings file to read.
#[derive(Debug, Clone, Default)]
pub(crate) enum FileChoice {
    /// `TRACEWIRE_SETTINGS`, else `settings.toml` in the working directory if it exists.
    #[default]
    Default,
    /// This file, which must exist.
    Path(PathBuf),
    /// No file at all.
    None,
    /// This TOML text, as if read from a file.
    Text(String),
}

/// The settings file the choice names (or `TRACEWIRE_SETTINGS`, or `settings.toml` when it
/// exists); a file named explicitly must exist.
fn read_file(
    env: &HashMap<String, String>,
    choice: &FileChoice,
    out: &mut Collected,
) -> Result<()> {
    let file_override = match choice {
        FileChoice::None => return Ok(()),
        FileChoice::Text(text) => {
            return read_toml(
                config::File::from_str(text, FileFormat::Toml),
                "(settings text)".into(),
                None,
                out,
            );
        }
        FileChoice::Path(p) => Some(p.as_path()),
        FileChoice::Default => None,
    };
    let (path, required) = match (file_override, env.get(TRACEWIRE_SETTINGS)) {
        (Some(p), _) => (p.to_path_buf(), true),
        (None, Some(p)) if !p.is_empty() => (PathBuf::from(p), true),
        _ => (PathBuf::from(DEFAULT_FILE), false),
    };
    if !path.exists() {
        if required {
            return Err(Error::config(format!(
                "settings file {} not found (named by {}); create it or unset the variable",
                path.display(),
                if file_override.is_some() {
                    "the builder's with_settings_file".to_string()
                } else {
                    TRACEWIRE_SETTINGS.to_string()
                }
            )));
        }
        return Ok(());
    }
    let shown = path.display().to_string();
    // Read here rather than by `config`, which would turn invalid UTF-8 into U+FFFD silently.
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::config(format!("cannot read settings file {shown}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::config(format!(
            "settings file {shown} is not valid UTF-8 (first bad byte at offset {}); TOML files are UTF-8",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let source = config::File::from_str(&text, FileFormat::Toml);
    read_toml(source, shown, Some(path), out)
}

/// `[observability]`, then `[default.observability]`, then `[<TRACEWIRE_ENV>.observability]`,
/// each over the one before; `app_name`/`app_version` at the top level. Unknown keys in those
/// tables are errors naming the nearest key: a typo must not silently keep a default.
fn read_toml<S>(source: S, shown: String, path: Option<PathBuf>, out: &mut Collected) -> Result<()>
where
    S: config::Source + Send + Sync + 'static,
{
    let root = config::Config::builder()
        .add_source(source)
        .build()
        .map_err(|e| Error::config(format!("cannot read settings file {shown}: {e}")))?;
    let root = root
        .cache
        .into_table()
        .map_err(|e| Error::config(format!("settings file {shown}: {e}")))?;
    out.file = path;

    if let Some(v) = root.get("app_name") {
        out.app_name = Some(scalar_string(&v.kind));
    }
    if let Some(v) = root.get("app_version") {
        out.app_version = Some(scalar_string(&v.kind));
    }

    // Flat layout first, then the layered one: [default.observability] < [<env>.observability].
    let mut tables = vec![(TABLE.to_string(), root.get(TABLE).cloned())];
    let nested = |section: &str| {
        root.get(section)
            .and_then(|v| v.clone().into_table().ok())
            .and_then(|t| t.get(TABLE).cloned())
    };
    tables.push((format!("default.{TABLE}"), nested("default")));
    if let Some(e) = &out.environment {
        tables.push((format!("{e}.{TABLE}"), nested(e)));
    }
    for (name, value) in tables {
        let Some(value) = value else { continue };
        let table = value
            .into_table()
            .map_err(|_| Error::config(format!("{shown}: [{name}] must be a table of settings")))?;
        let mut entries: Vec<_> = table.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in entries {
            let Some(key) = KEYS.iter().find(|key| key.name == k) else {
                return Err(Error::config(format!(
                    "{shown} [{name}]: unknown key `{k}`{}; allowed keys: {}",
                    suggest(&k, KEYS.iter().map(|k| k.name))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default(),
                    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                )));
            };
            let raw = raw_from_toml(v.kind)
                .map_err(|what| Error::config(format!("{shown} [{name}] {k}: {what}")))?;
            let source = Source::File {
                path: shown.clone(),
                table: name.clone(),
            };
            let below = out.values.get(key.name).map(|(r, _)| r.clone());
            let raw = match below {
                Some(b) => merge(&b, &raw),
                None => raw,
            };
            out.values.insert(key.name, (raw, source));
        }
    }
    Ok(())
}

/// A table's or array's item as text (the key's parser checks it like an environment value).
fn scalar_string(kind: &ValueKind) -> String {
    match kind {
        ValueKind::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A TOML value as the resolver takes it. Integers beyond `i64` stay text, so that the parser's
/// range error names them instead of a wrapped number.
fn raw_from_toml(kind: ValueKind) -> std::result::Result<Raw, String> {
    Ok(match kind {
        ValueKind::Nil => Raw::Str(String::new()),
        ValueKind::Boolean(b) => Raw::Bool(b),
        ValueKind::I64(i) => Raw::Int(i),
        ValueKind::I128(i) => Raw::Str(i.to_string()),
        ValueKind::U64(u) => Raw::Str(u.to_string()),
        ValueKind::U128(u) => Raw::Str(u.to_string()),
        ValueKind::Float(f) => Raw::Float(f),
        ValueKind::String(s) => Raw::Str(s),
        ValueKind::Table(t) => {
            let mut m: Vec<(String, String)> = t
                .into_iter()
                .map(|(k, v)| (k, scalar_string(&v.kind)))
                .collect();
            m.sort();
            Raw::Map(m)
        }
        ValueKind::Array(a) => Raw::List(a.into_iter().map(|v| scalar_string(&v.kind)).collect()),
    })
}

/// The standard variables of each key; for a key with several, the most specific set one wins
/// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` over `OTEL_EXPORTER_OTLP_ENDPOINT`). An empty value
/// counts as unset, as the specification says. What the winner hides is kept in `fallbacks`,
/// for the resolver to use if the winner turns out unusable.
fn read_otel_env(
    env: &HashMap<String, String>,
    values: &mut BTreeMap<&'static str, (Raw, Source)>,
    fallbacks: &mut BTreeMap<&'static str, Vec<(Raw, Source)>>,
) {
    for key in KEYS {
        // Signal-specific variables come first in `otel_env`.
        let mut set = key.otel_env.iter().filter_map(|var| {
            env.get(*var)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*var, v))
        });
        let Some((var, val)) = set.next() else {
            continue;
        };
        let below = values.get(key.name).cloned();
        let mut hidden: Vec<(Raw, Source)> = set
            .map(|(var, val)| (layered(below.as_ref(), val), Source::Env { var }))
            .collect();
        hidden.extend(below.clone());
        if !hidden.is_empty() {
            fallbacks.insert(key.name, hidden);
        }
        values.insert(
            key.name,
            (layered(below.as_ref(), val), Source::Env { var }),
        );
    }
}

/// Lays a variable's value over what is below it. A map (`OTEL_RESOURCE_ATTRIBUTES`, headers)
/// adds to the map below, key by key; a value that is not a valid map replaces it, so that
/// the key's parser reports it.
fn lay_env(
    values: &mut BTreeMap<&'static str, (Raw, Source)>,
    key: &'static str,
    val: &str,
    var: &'static str,
) {
    let raw = layered(values.get(key), val);
    values.insert(key, (raw, Source::Env { var }));
}

/// A variable's value laid over the value below it (see [`lay_env`]).
fn layered(below: Option<&(Raw, Source)>, val: &str) -> Raw {
    let raw = Raw::Str(val.trim().to_string());
    match below {
        Some((below @ Raw::Map(_), _)) => match super::parse::map(&raw) {
            Ok(map) => merge(below, &Raw::Map(map)),
            Err(_) => raw,
        },
        _ => raw,
    }
}

/// `TRACEWIRE_<KEY>` for each key; any other `TRACEWIRE_*` variable is an error naming the
/// nearest one (a misspelt variable would otherwise be ignored).
fn read_tracewire_env(
    env: &HashMap<String, String>,
    values: &mut BTreeMap<&'static str, (Raw, Source)>,
) -> Result<()> {
    let mut names: Vec<&String> = env.keys().filter(|k| k.starts_with("TRACEWIRE_")).collect();
    names.sort();
    for var in names {
        if var == TRACEWIRE_SETTINGS || var == TRACEWIRE_ENV {
            continue;
        }
        let suffix = &var["TRACEWIRE_".len()..];
        let Some(key) = KEYS.iter().find(|k| k.name.eq_ignore_ascii_case(suffix)) else {
            let known = KEYS
                .iter()
                .map(|k| format!("TRACEWIRE_{}", k.name.to_ascii_uppercase()));
            return Err(Error::config(format!(
                "unknown environment variable {var}{}; tracewire reads {TRACEWIRE_SETTINGS}, {TRACEWIRE_ENV} and TRACEWIRE_<KEY> for the keys of [observability]",
                suggest(var, known)
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default()
            )));
        };
        lay_env(values, key.name, &env[var.as_str()], key.tracewire_env);
    }
    Ok(())
}
