//! The kinds of values settings hold: where a value came from ([`Source`]), a value set in code
//! ([`SettingValue`]), and the closed choices (protocol, log format, sampler, temporality,
//! `traceresponse`) with the names the keys take.

use std::fmt;
use std::time::Duration;

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
/// use tracewire::settings::SettingValue;
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

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC (port 4317 by convention).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (port 4318 by convention).
    HttpProtobuf,
}

impl Protocol {
    /// In the order of [`Protocol::ALL`]: the names `otlp_protocol` takes.
    pub(crate) const NAMES: &'static [&'static str] = &["grpc", "http/protobuf"];
    pub(crate) const ALL: [Protocol; 2] = [Protocol::Grpc, Protocol::HttpProtobuf];
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Protocol::NAMES[*self as usize])
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

impl LogFormat {
    /// In the order of [`LogFormat::ALL`]: the names `log_format` takes.
    pub(crate) const NAMES: &'static [&'static str] = &["json", "pretty", "compact"];
    pub(crate) const ALL: [LogFormat; 3] = [LogFormat::Json, LogFormat::Pretty, LogFormat::Compact];

    /// The name `log_format` takes for this format.
    pub(crate) fn name(self) -> &'static str {
        LogFormat::NAMES[self as usize]
    }
}

/// When the server layers send W3C Trace Context Level 2's `traceresponse` header (setting
/// `traceresponse`), and whether the client layers read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceResponseMode {
    /// Sent when this service kept a trace its caller did not sample (an error, a slow request,
    /// a callee's answer), or restarted the caller's trace; read from callees (the default).
    Changed,
    /// Sent whenever this service keeps the trace; read from callees.
    On,
    /// Neither sent nor read.
    Off,
}

impl TraceResponseMode {
    pub(crate) const NAMES: &'static [&'static str] = &["changed", "on", "off"];
    pub(crate) const ALL: [TraceResponseMode; 3] = [
        TraceResponseMode::Changed,
        TraceResponseMode::On,
        TraceResponseMode::Off,
    ];
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

impl SamplerKind {
    /// In the order of [`SamplerKind::ALL`]: the names `sampler` takes.
    pub(crate) const NAMES: &'static [&'static str] = &[
        "always_on",
        "always_off",
        "traceidratio",
        "parentbased_always_on",
        "parentbased_always_off",
        "parentbased_traceidratio",
    ];
    pub(crate) const ALL: [SamplerKind; 6] = [
        SamplerKind::AlwaysOn,
        SamplerKind::AlwaysOff,
        SamplerKind::TraceIdRatio,
        SamplerKind::ParentBasedAlwaysOn,
        SamplerKind::ParentBasedAlwaysOff,
        SamplerKind::ParentBasedTraceIdRatio,
    ];
}

/// How metric sums and histograms are reported (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricsTemporality {
    /// Totals since start (the default): an export lost in an outage is made up by the next.
    Cumulative,
    /// Changes since the last export, for backends that want deltas (counters, histograms).
    Delta,
    /// Delta for counters and histograms, cumulative for up-down counters.
    LowMemory,
}

impl MetricsTemporality {
    /// In the order of [`MetricsTemporality::ALL`]: the names `metrics_temporality` takes.
    pub(crate) const NAMES: &'static [&'static str] = &["cumulative", "delta", "lowmemory"];
    pub(crate) const ALL: [MetricsTemporality; 3] = [
        MetricsTemporality::Cumulative,
        MetricsTemporality::Delta,
        MetricsTemporality::LowMemory,
    ];
}
