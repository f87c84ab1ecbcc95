//! A test kit for your own instrumentation (feature `testing`).
//!
//! [`Capture`] installs tracewire's stack for the current thread only (no global state, so
//! tests may run in parallel), exports finished spans into memory and keeps the JSON log lines.
//!
//! ```
//! use tracewire::testing::{AttrValue, Capture};
//!
//! #[tracing::instrument]
//! fn checkout(items: u64) {
//!     tracing::info!(items, "checking out");
//!     tracing::info_span!("charge").in_scope(|| tracing::error!("card declined"));
//! }
//!
//! let capture = Capture::start();
//! checkout(3);
//! let spans = capture.spans();
//! let root = capture.span("checkout");
//! assert_eq!(root.attr("items"), Some(&AttrValue::I64(3)));
//! assert!(root.event("checking out").is_some());
//! let charge = &root.children(&spans)[0];
//! assert!(charge.is_error());
//! capture.trace_id(); // panics unless every span shares one trace id
//! assert_eq!(capture.logs()[0]["message"], "checking out");
//! ```
//!
//! In a multi-thread runtime, spans made on other threads are captured when the future runs
//! with the capture's dispatcher: `fut.with_subscriber(capture.dispatch())`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;

use crate::lock::LockExt as _;
use crate::stack::{Builder, Guard};

/// A typed attribute value, as the exporter sends it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttrValue {
    /// A boolean.
    Bool(bool),
    /// An integer (tracing's `i64` and `u64` fields that fit).
    I64(i64),
    /// A float.
    F64(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<AttrValue>),
}

impl AttrValue {
    /// The string, if this is one.
    ///
    /// ```
    /// assert_eq!(tracewire::testing::AttrValue::Str("a".into()).as_str(), Some("a"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    ///
    /// ```
    /// assert_eq!(tracewire::testing::AttrValue::I64(7).as_i64(), Some(7));
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::I64(i) => Some(*i),
            _ => None,
        }
    }
}

fn attr_value(v: &opentelemetry::Value) -> AttrValue {
    use opentelemetry::{Array, Value};
    match v {
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::I64(i) => AttrValue::I64(*i),
        Value::F64(f) => AttrValue::F64(*f),
        Value::String(s) => AttrValue::Str(s.to_string()),
        Value::Array(Array::Bool(a)) => {
            AttrValue::Array(a.iter().map(|b| AttrValue::Bool(*b)).collect())
        }
        Value::Array(Array::I64(a)) => {
            AttrValue::Array(a.iter().map(|i| AttrValue::I64(*i)).collect())
        }
        Value::Array(Array::F64(a)) => {
            AttrValue::Array(a.iter().map(|f| AttrValue::F64(*f)).collect())
        }
        Value::Array(Array::String(a)) => {
            AttrValue::Array(a.iter().map(|s| AttrValue::Str(s.to_string())).collect())
        }
        other => AttrValue::Str(other.to_string()),
    }
}

fn attrs(kvs: &[opentelemetry::KeyValue]) -> BTreeMap<String, AttrValue> {
    kvs.iter()
        .map(|kv| (kv.key.to_string(), attr_value(&kv.value)))
        .collect()
}

/// One event of a captured span.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedEvent {
    /// The event's name (its message, or `exception`).
    pub name: String,
    /// Its attributes (fields), typed.
    pub attributes: BTreeMap<String, AttrValue>,
}

/// A finished span, as it was exported.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedSpan {
    /// The exported name (`otel.name` when set).
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// The parent's span id, `None` for a root.
    pub parent_span_id: Option<String>,
    /// `internal`, `server`, `client`, `producer` or `consumer`.
    pub kind: &'static str,
    /// `None` unless the status is Error; then the error's description.
    pub error: Option<String>,
    /// The attributes, typed.
    pub attributes: BTreeMap<String, AttrValue>,
    /// The events, in order.
    pub events: Vec<CapturedEvent>,
    /// The spans this one links to (a linked consumer's producer), in order.
    pub links: Vec<CapturedLink>,
}

/// A link of a captured span to another span.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedLink {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
}

impl CapturedSpan {
    fn from_data(s: &SpanData) -> CapturedSpan {
        let parent = s.parent_span_id;
        CapturedSpan {
            name: s.name.to_string(),
            trace_id: s.span_context.trace_id().to_string(),
            span_id: s.span_context.span_id().to_string(),
            parent_span_id: (parent != opentelemetry::trace::SpanId::INVALID)
                .then(|| parent.to_string()),
            kind: match s.span_kind {
                SpanKind::Server => "server",
                SpanKind::Client => "client",
                SpanKind::Producer => "producer",
                SpanKind::Consumer => "consumer",
                SpanKind::Internal => "internal",
            },
            error: match &s.status {
                Status::Error { description } => Some(description.to_string()),
                _ => None,
            },
            attributes: attrs(&s.attributes),
            events: s
                .events
                .iter()
                .map(|e| CapturedEvent {
                    name: e.name.to_string(),
                    attributes: attrs(&e.attributes),
                })
                .collect(),
            links: s
                .links
                .iter()
                .map(|l| CapturedLink {
                    trace_id: l.span_context.trace_id().to_string(),
                    span_id: l.span_context.span_id().to_string(),
                })
                .collect(),
        }
    }

    /// The attribute `key`.
    ///
    /// ```
    /// # let capture = tracewire::testing::Capture::start();
    /// tracing::info_span!("s", n = 1).in_scope(|| {});
    /// assert_eq!(capture.span("s").attr("n").and_then(|v| v.as_i64()), Some(1));
    /// ```
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// The first event named `name`.
    ///
    /// ```
    /// # let capture = tracewire::testing::Capture::start();
    /// tracing::info_span!("s").in_scope(|| tracing::info!(k = "v", "hello"));
    /// assert!(capture.span("s").event("hello").is_some());
    /// ```
    pub fn event(&self, name: &str) -> Option<&CapturedEvent> {
        self.events.iter().find(|e| e.name == name)
    }

    /// This span's children among `all`.
    ///
    /// ```
    /// # let capture = tracewire::testing::Capture::start();
    /// tracing::info_span!("parent").in_scope(|| tracing::info_span!("child").in_scope(|| {}));
    /// let all = capture.spans();
    /// assert_eq!(capture.span("parent").children(&all)[0].name, "child");
    /// ```
    pub fn children<'a>(&self, all: &'a [CapturedSpan]) -> Vec<&'a CapturedSpan> {
        all.iter()
            .filter(|s| s.parent_span_id.as_deref() == Some(self.span_id.as_str()))
            .collect()
    }

    /// Whether the span's status is Error.
    ///
    /// ```
    /// # let capture = tracewire::testing::Capture::start();
    /// tracing::info_span!("s").in_scope(|| tracing::error!("boom"));
    /// assert!(capture.span("s").is_error());
    /// ```
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock_or_recover().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Spans and log lines captured in memory, for the current thread, until dropped.
#[must_use = "the capture stops when dropped"]
pub struct Capture {
    spans: Arc<Mutex<Vec<SpanData>>>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::MetricsMemory,
    logs: Lines,
    dispatch: tracing::Dispatch,
    guard: Guard,
    _scope: tracing::dispatcher::DefaultGuard,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").finish_non_exhaustive()
    }
}

impl Capture {
    /// Captures with default settings (every span sampled), ignoring `settings.toml` and the
    /// environment.
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// tracing::info_span!("work").in_scope(|| {});
    /// assert_eq!(capture.spans().len(), 1);
    /// ```
    pub fn start() -> Capture {
        Capture::with_builder(
            crate::builder()
                .without_settings_file()
                .with_env::<[(&str, &str); 0], &str, &str>([]),
        )
        .expect("the default settings are valid")
    }

    /// Captures with these settings (redaction, limits, sampling...); the export target and log
    /// writer are replaced by memory.
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::with_builder(
    ///     tracewire::builder().without_settings_file().with_env([("TRACEWIRE_REDACT_FIELDS", "ssn")]),
    /// )?;
    /// tracing::info_span!("s", ssn = "123").in_scope(|| {});
    /// assert_eq!(capture.span("s").attr("ssn").unwrap().as_str(), Some(tracewire::settings::REDACTED));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    pub fn with_builder(builder: Builder) -> crate::Result<Capture> {
        let memory = crate::stack::Memory::default();
        let spans = memory.spans.clone();
        let logs = Lines::default();
        let (dispatch, guard) = builder
            .with_batch_scheduled_delay(Duration::from_millis(50))
            .with_log_writer(logs.clone())
            .with_memory_sink(memory.clone())
            .build_stack()?;
        let scope = tracing::dispatcher::set_default(&dispatch);
        Ok(Capture {
            spans,
            #[cfg(feature = "metrics")]
            metrics: memory.metrics,
            logs,
            dispatch,
            guard,
            _scope: scope,
        })
    }

    /// A multi-thread tokio runtime whose every thread (workers and blocking pool) captures
    /// here: run a real server on it (`axum::serve` spawns a task per connection, on any
    /// worker), and what it traces is captured.
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// let rt = capture.multi_thread_runtime(2);
    /// rt.block_on(async {
    ///     tokio::spawn(async { tracing::info_span!("on_a_worker").in_scope(|| {}) })
    ///         .await
    ///         .unwrap();
    /// });
    /// assert_eq!(capture.span("on_a_worker").name, "on_a_worker");
    /// ```
    pub fn multi_thread_runtime(&self, workers: usize) -> tokio::runtime::Runtime {
        let dispatch = self.dispatch.clone();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .enable_all()
            .on_thread_start(move || {
                // The thread lives as long as the runtime: keep the default for its life.
                std::mem::forget(tracing::dispatcher::set_default(&dispatch));
            })
            .build()
            .expect("a tokio runtime")
    }

    /// Captures for the whole process (every thread), for a test that cannot choose its
    /// runtime, such as `#[tokio::test(flavor = "multi_thread")]`. A process has one global
    /// subscriber: put such a test in a file of its own under `tests/`. An error when a global
    /// subscriber is already installed.
    ///
    /// ```no_run
    /// #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    /// async fn traced_on_every_worker() {
    ///     let capture = tracewire::testing::Capture::start_global().unwrap();
    ///     tokio::spawn(async { tracing::info_span!("work").in_scope(|| {}) }).await.unwrap();
    ///     assert_eq!(capture.span("work").name, "work");
    /// }
    /// ```
    pub fn start_global() -> crate::Result<Capture> {
        let capture = Capture::start();
        tracing::dispatcher::set_global_default(capture.dispatch.clone()).map_err(|_| {
            crate::Error::new(
                crate::ErrorKind::AlreadyInitialized,
                "a global tracing subscriber is already installed in this process; Capture::start_global() must be the only one (one test file per global capture)",
            )
        })?;
        Ok(capture)
    }

    /// The dispatcher, to capture work on other threads (`WithSubscriber::with_subscriber`).
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// let d = capture.dispatch();
    /// std::thread::spawn(move || tracing::dispatcher::with_default(&d, || {
    ///     tracing::info_span!("elsewhere").in_scope(|| {});
    /// })).join().unwrap();
    /// assert_eq!(capture.span("elsewhere").name, "elsewhere");
    /// ```
    pub fn dispatch(&self) -> tracing::Dispatch {
        self.dispatch.clone()
    }

    /// Every metric as collected now (feature `metrics`): tracewire's histograms and counters,
    /// with cumulative totals since the capture started. (A `Capture` installs no global meter
    /// provider; instruments of your own come from [`Capture::meter`].)
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::with_builder(
    ///     tracewire::builder().without_settings_file().with_setting("span_metrics", true),
    /// )?;
    /// tracing::info_span!("work").in_scope(|| {});
    /// let calls = capture.metric("traces.span.metrics.calls");
    /// assert_eq!(calls.points[0].value, 1.0);
    /// assert_eq!(calls.points[0].attr("span.name").unwrap().as_str(), Some("work"));
    /// # Ok::<(), tracewire::Error>(())
    /// ```
    #[cfg(feature = "metrics")]
    pub fn metrics(&self) -> Vec<CapturedMetric> {
        let _ = self.guard.flush();
        let requests = self.metrics.lock_or_recover();
        requests
            .iter()
            .rev()
            .find(|r| {
                r.resource_metrics
                    .iter()
                    .any(|rm| !rm.scope_metrics.is_empty())
            })
            .map(CapturedMetric::all_from)
            .unwrap_or_default()
    }

    /// A meter of the capture's meter provider, for instruments of your own (feature `metrics`).
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// capture.meter("shop").u64_counter("orders").build().add(2, &[]);
    /// assert_eq!(capture.metric("orders").points[0].value, 2.0);
    /// ```
    #[cfg(feature = "metrics")]
    pub fn meter(&self, name: &'static str) -> opentelemetry::metrics::Meter {
        self.guard
            .meter(name)
            .expect("the capture's builder turned metrics off (metrics_enabled = false)")
    }

    /// The metric named `name`; panics, listing the names seen, if there is none.
    #[cfg(feature = "metrics")]
    pub fn metric(&self, name: &str) -> CapturedMetric {
        let all = self.metrics();
        all.iter()
            .find(|m| m.name == name)
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "no metric named {name:?}; metrics: {:?}",
                    all.iter().map(|m| m.name.as_str()).collect::<Vec<_>>()
                )
            })
    }

    /// Every span finished so far, in the order they finished.
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// assert!(capture.spans().is_empty());
    /// ```
    pub fn spans(&self) -> Vec<CapturedSpan> {
        let _ = self.guard.flush();
        self.spans
            .lock_or_recover()
            .iter()
            .map(CapturedSpan::from_data)
            .collect()
    }

    /// The one span named `name`; panics, listing the names seen, if there is none or more.
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// tracing::info_span!("only").in_scope(|| {});
    /// assert_eq!(capture.span("only").kind, "internal");
    /// ```
    pub fn span(&self, name: &str) -> CapturedSpan {
        let all = self.spans();
        let mut found: Vec<CapturedSpan> = all.iter().filter(|s| s.name == name).cloned().collect();
        match found.len() {
            1 => found.remove(0),
            n => panic!(
                "expected one span named {name:?}, found {n}; spans: {:?}",
                all.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
            ),
        }
    }

    /// Asserts that every captured span belongs to one trace, and returns its id.
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// tracing::info_span!("a").in_scope(|| tracing::info_span!("b").in_scope(|| {}));
    /// assert_eq!(capture.trace_id().len(), 32);
    /// ```
    pub fn trace_id(&self) -> String {
        let all = self.spans();
        let first = all
            .first()
            .map(|s| s.trace_id.clone())
            .expect("no span was captured");
        let others: Vec<&str> = all
            .iter()
            .filter(|s| s.trace_id != first)
            .map(|s| s.name.as_str())
            .collect();
        assert!(others.is_empty(), "spans outside trace {first}: {others:?}");
        first
    }

    /// The JSON log lines written so far, parsed.
    ///
    /// ```
    /// let capture = tracewire::testing::Capture::start();
    /// tracing::info!(n = 1, "hello");
    /// assert_eq!(capture.logs()[0]["n"], 1);
    /// ```
    pub fn logs(&self) -> Vec<serde_json::Value> {
        let bytes = self.logs.0.lock_or_recover().clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// A metric as the exporter sent it: one point per attribute set.
#[cfg(feature = "metrics")]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedMetric {
    /// `http.server.request.duration`, ...
    pub name: String,
    /// `s`, `ms`, `{request}`, ...
    pub unit: String,
    /// Its points.
    pub points: Vec<CapturedPoint>,
}

/// One point of a [`CapturedMetric`]: for a histogram `count` and `sum` (and `value` = `count`),
/// for a sum or gauge `value`.
#[cfg(feature = "metrics")]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapturedPoint {
    /// The point's attributes, typed.
    pub attributes: BTreeMap<String, AttrValue>,
    /// Measurements in a histogram point (0 for sums and gauges).
    pub count: u64,
    /// Their sum (histograms) or the value (sums, gauges).
    pub sum: f64,
    /// The value: a sum's or gauge's value, a histogram's count.
    pub value: f64,
    /// Histogram bucket bounds and counts (empty for sums and gauges).
    pub bounds: Vec<f64>,
    /// One more than `bounds`.
    pub bucket_counts: Vec<u64>,
}

#[cfg(feature = "metrics")]
impl CapturedPoint {
    /// The attribute `key`, if the point has it.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }
}

#[cfg(feature = "metrics")]
impl CapturedMetric {
    fn all_from(
        r: &opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
    ) -> Vec<CapturedMetric> {
        use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point};
        let number = |v: &Option<number_data_point::Value>| match v {
            Some(number_data_point::Value::AsDouble(x)) => *x,
            Some(number_data_point::Value::AsInt(i)) => *i as f64,
            None => 0.0,
        };
        let mut out = Vec::new();
        for m in r
            .resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
        {
            let point =
                |attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue]| CapturedPoint {
                    attributes: proto_attrs(attributes),
                    count: 0,
                    sum: 0.0,
                    value: 0.0,
                    bounds: Vec::new(),
                    bucket_counts: Vec::new(),
                };
            let number_point =
                |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| CapturedPoint {
                    sum: number(&p.value),
                    value: number(&p.value),
                    ..point(&p.attributes)
                };
            let points = match &m.data {
                Some(Data::Histogram(h)) => h
                    .data_points
                    .iter()
                    .map(|p| CapturedPoint {
                        count: p.count,
                        sum: p.sum.unwrap_or(0.0),
                        value: p.count as f64,
                        bounds: p.explicit_bounds.clone(),
                        bucket_counts: p.bucket_counts.clone(),
                        ..point(&p.attributes)
                    })
                    .collect(),
                Some(Data::Sum(s)) => s.data_points.iter().map(number_point).collect(),
                Some(Data::Gauge(g)) => g.data_points.iter().map(number_point).collect(),
                _ => Vec::new(),
            };
            out.push(CapturedMetric {
                name: m.name.clone(),
                unit: m.unit.clone(),
                points,
            });
        }
        out
    }
}

#[cfg(feature = "metrics")]
fn proto_attrs(
    kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
) -> BTreeMap<String, AttrValue> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => AttrValue::Str(s.clone()),
                Some(Value::IntValue(i)) => AttrValue::I64(*i),
                Some(Value::DoubleValue(x)) => AttrValue::F64(*x),
                Some(Value::BoolValue(b)) => AttrValue::Bool(*b),
                other => AttrValue::Str(format!("{other:?}")),
            };
            (kv.key.clone(), v)
        })
        .collect()
}
