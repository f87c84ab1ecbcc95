//! [`MetricsLayer`]: measurements from tracing spans as they close, sampled or not.
//!
//! tracewire's integration spans carry the semantic-convention attributes already
//! (`http.request.method`, `http.route`, `http.response.status_code`, `error.type`,
//! `messaging.*`, `rpc.*`), so the histograms take theirs from the span: one place decides what a request
//! is called, for its span and for its metric. Only those spans are looked at, unless
//! `span_metrics` asks for every span; a span that is not measured costs a target check when it
//! opens and nothing when it closes while no measured span is open.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::names;

/// The instruments, built once from tracewire's meter.
pub(crate) struct MetricsLayer {
    http_server: Histogram<f64>,
    http_client: Histogram<f64>,
    rpc_server: Histogram<f64>,
    rpc_client: Histogram<f64>,
    messaging_process: Histogram<f64>,
    messaging_client: Histogram<f64>,
    db_client: Histogram<f64>,
    http_active: UpDownCounter<i64>,
    span_calls: Option<Counter<u64>>,
    span_duration: Option<Histogram<f64>>,
    /// `monotonic_counter.*`, `counter.*`, `histogram.*` event fields.
    events: super::from_events::EventMetrics,
    /// Measured spans open now: with none open, a closing span is not even looked up.
    open: AtomicUsize,
}

impl std::fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsLayer")
            .field("span_metrics", &self.span_calls.is_some())
            .finish_non_exhaustive()
    }
}

/// The attributes each semantic-convention histogram takes from its span (stable HTTP and
/// messaging conventions; opt-in ones left out).
const HTTP_SERVER_KEYS: &[&str] = &[
    "http.request.method",
    "url.scheme",
    "http.route",
    "http.response.status_code",
    "error.type",
    "network.protocol.version",
];
const HTTP_CLIENT_KEYS: &[&str] = &[
    "http.request.method",
    "server.address",
    "server.port",
    "http.response.status_code",
    "error.type",
];
/// `rpc.server.call.duration`: `server.address`/`server.port` are opt-in for servers.
const RPC_SERVER_KEYS: &[&str] = &[
    "rpc.system.name",
    "rpc.method",
    "rpc.status_code",
    "error.type",
];
const RPC_CLIENT_KEYS: &[&str] = &[
    "rpc.system.name",
    "rpc.method",
    "rpc.status_code",
    "error.type",
    "server.address",
    "server.port",
];
/// `db.client.operation.duration` (`db.query.text` is opt-in; `db.operation.batch.size` is not
/// one of its attributes).
const DB_KEYS: &[&str] = &[
    "db.system.name",
    "db.namespace",
    "db.operation.name",
    "db.collection.name",
    "db.response.status_code",
    "error.type",
    "server.address",
    "server.port",
];
/// `http.server.active_requests`: the required attributes, known when the request starts.
const HTTP_ACTIVE_KEYS: &[&str] = &["http.request.method", "url.scheme"];
const MESSAGING_KEYS: &[&str] = &[
    "messaging.system",
    "messaging.destination.name",
    "messaging.operation.name",
    "messaging.operation.type",
    "error.type",
    "server.address",
    "server.port",
];

impl MetricsLayer {
    pub(crate) fn new(meter: &Meter, span_metrics: bool) -> MetricsLayer {
        let seconds = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(super::DURATION_BUCKETS_S.to_vec())
                .build()
        };
        MetricsLayer {
            http_server: seconds(names::HTTP_SERVER, "Duration of HTTP server requests."),
            http_client: seconds(names::HTTP_CLIENT, "Duration of HTTP client requests."),
            rpc_server: seconds(
                names::RPC_SERVER,
                "Measures the duration of inbound remote procedure calls.",
            ),
            rpc_client: seconds(
                names::RPC_CLIENT,
                "Measures the duration of outbound remote procedure calls.",
            ),
            messaging_process: seconds(
                names::MESSAGING_PROCESS,
                "Duration of processing operation.",
            ),
            messaging_client: seconds(
                names::MESSAGING_CLIENT,
                "Duration of messaging operation initiated by a producer or consumer client.",
            ),
            db_client: meter
                .f64_histogram(names::DB_CLIENT)
                .with_unit("s")
                .with_description("Duration of database client operations.")
                .with_boundaries(super::DB_DURATION_BUCKETS_S.to_vec())
                .build(),
            http_active: meter
                .i64_up_down_counter(names::HTTP_SERVER_ACTIVE)
                .with_unit("{request}")
                .with_description("Number of active HTTP server requests.")
                .build(),
            span_calls: span_metrics.then(|| {
                meter
                    .u64_counter(names::SPAN_CALLS)
                    .with_description("Spans ended, by name, kind and status.")
                    .build()
            }),
            span_duration: span_metrics.then(|| {
                meter
                    .f64_histogram(names::SPAN_DURATION)
                    .with_unit("ms")
                    .with_description("Span durations, by name, kind and status.")
                    .with_boundaries(super::SPAN_BUCKETS_MS.to_vec())
                    .build()
            }),
            events: super::from_events::EventMetrics::new(meter),
            open: AtomicUsize::new(0),
        }
    }
}

/// What is kept of a measured span until it closes.
struct Measured {
    start: Instant,
    /// Which histogram the span feeds.
    what: What,
    /// The fields that histogram takes, as recorded so far (no other field is copied).
    attrs: Vec<KeyValue>,
    /// `otel.kind`, `otel.name`, `otel.status_code`, for span metrics.
    kind: Option<Cow<'static, str>>,
    name: Option<Cow<'static, str>>,
    status: Option<Cow<'static, str>>,
    /// An `error` level event inside it (status Error for span metrics, as tracing-opentelemetry
    /// sets it).
    error_event: bool,
    /// An HTTP server request counted in `http.server.active_requests`, with the attributes it
    /// was counted with (the same ones take it off).
    active: Option<Vec<KeyValue>>,
}

/// Which histogram a span feeds, known from its callsite: tracewire's own integration spans
/// have fixed targets and names.
#[derive(Clone, Copy, PartialEq)]
enum What {
    HttpServer,
    HttpClient,
    RpcServer,
    RpcClient,
    Messaging,
    Db,
    /// Only span metrics.
    Other,
}

impl What {
    fn of(meta: &tracing::Metadata<'_>) -> Option<What> {
        match (meta.target(), meta.name()) {
            ("tracewire::http", "HTTP request") => Some(What::HttpServer),
            ("tracewire::http", "HTTP client request") => Some(What::HttpClient),
            ("tracewire::grpc", "gRPC request") => Some(What::RpcServer),
            ("tracewire::grpc", "gRPC client request") => Some(What::RpcClient),
            ("tracewire::db", "postgresql query" | "sqlx query" | "redis command") => {
                Some(What::Db)
            }
            (t, _) if t.starts_with("tracewire::messaging") => Some(What::Messaging),
            _ => None,
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            What::HttpServer => HTTP_SERVER_KEYS,
            What::HttpClient => HTTP_CLIENT_KEYS,
            What::RpcServer => RPC_SERVER_KEYS,
            What::RpcClient => RPC_CLIENT_KEYS,
            What::Messaging => MESSAGING_KEYS,
            What::Db => DB_KEYS,
            What::Other => &[],
        }
    }
}

thread_local! {
    /// Field masks by callsite (a few entries: tracewire's integration spans, and with span
    /// metrics the hottest user callsites), so that picking fields costs a bit test per field.
    static MASKS: std::cell::RefCell<Vec<(usize, u64)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bit `i` set: field `i` of `meta` is one of `keys`, or an `otel.*` control span metrics read.
fn mask(meta: &'static tracing::Metadata<'static>, what: What, span_metrics: bool) -> u64 {
    let id = meta as *const _ as usize;
    let compute = || {
        let mut m = 0u64;
        for f in meta.fields().iter().filter(|f| f.index() < 64) {
            let name = f.name();
            let control =
                span_metrics && matches!(name, "otel.kind" | "otel.name" | "otel.status_code");
            if control || what.keys().contains(&name) {
                m |= 1 << f.index();
            }
        }
        m
    };
    MASKS
        .try_with(|masks| {
            let mut masks = masks.borrow_mut();
            if let Some((_, m)) = masks.iter().find(|(i, _)| *i == id) {
                return *m;
            }
            let m = compute();
            if masks.len() >= 32 {
                masks.remove(0);
            }
            masks.push((id, m));
            m
        })
        .unwrap_or_else(|_| compute())
}

/// Copies the fields `mask` selects; a recorded value replaces the earlier one. Every other
/// field (paths, user agents, ids) is skipped without being formatted.
struct Fields<'a> {
    m: &'a mut Measured,
    mask: u64,
}

impl Fields<'_> {
    fn wanted(&self, field: &Field) -> bool {
        field.index() < 64 && self.mask & (1 << field.index()) != 0
    }

    fn put(
        &mut self,
        field: &Field,
        text: impl FnOnce() -> Cow<'static, str>,
        value: impl FnOnce() -> opentelemetry::Value,
    ) {
        let name = field.name();
        if let Some(control) = name.strip_prefix("otel.") {
            let slot = match control {
                "kind" => &mut self.m.kind,
                "name" => &mut self.m.name,
                _ => &mut self.m.status,
            };
            *slot = Some(text());
            return;
        }
        let value = value();
        match self.m.attrs.iter_mut().find(|kv| kv.key.as_str() == name) {
            Some(kv) => kv.value = value,
            None => self.m.attrs.push(KeyValue::new(name, value)),
        }
    }
}

/// The values that repeat on every request (methods, schemes, protocol versions, span kinds,
/// statuses), as static strings: recording them allocates nothing.
fn known(value: &str) -> Option<&'static str> {
    // A `match` compiles to a switch on the length, then one comparison: a scan of the list
    // compared every entry, ~150 instructions a field.
    macro_rules! known {
        ($($k:literal)*) => {
            match value {
                $($k => Some($k),)*
                _ => None,
            }
        };
    }
    known!(
        "GET" "POST" "PUT" "DELETE" "PATCH" "HEAD" "OPTIONS" "CONNECT" "TRACE" "_OTHER"
        "http" "https" "1.0" "1.1" "2" "3" "server" "client" "producer" "consumer"
        "internal" "error" "ok" "send" "process" "receive" "publish" "create" "settle"
        "grpc" "OK" "CANCELLED" "UNKNOWN" "INVALID_ARGUMENT" "DEADLINE_EXCEEDED" "NOT_FOUND"
        "ALREADY_EXISTS" "PERMISSION_DENIED" "RESOURCE_EXHAUSTED" "FAILED_PRECONDITION" "ABORTED"
        "OUT_OF_RANGE" "UNIMPLEMENTED" "INTERNAL" "UNAVAILABLE" "DATA_LOSS" "UNAUTHENTICATED"
    )
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.wanted(field) {
            return;
        }
        let text = || match known(value) {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(value.to_string()),
        };
        self.put(field, text, || text().into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.wanted(field) {
            self.put(field, || value.to_string().into(), || value.into());
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.wanted(field) {
            let v = i64::try_from(value).unwrap_or(i64::MAX);
            self.put(field, || v.to_string().into(), || v.into());
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.wanted(field) {
            self.put(field, || value.to_string().into(), || value.into());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%value` fields arrive here; their Debug is their Display.
        if self.wanted(field) {
            self.put(
                field,
                || format!("{value:?}").into(),
                || format!("{value:?}").into(),
            );
        }
    }
}

fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a opentelemetry::Value> {
    attrs
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let what = match What::of(meta) {
            Some(w) => w,
            None if self.span_calls.is_some() => What::Other,
            None => return,
        };
        let Some(span) = ctx.span(id) else { return };
        let mut m = Measured {
            start: Instant::now(),
            what,
            attrs: Vec::with_capacity(what.keys().len()),
            kind: None,
            name: None,
            status: None,
            error_event: false,
            active: None,
        };
        let mask = mask(meta, what, self.span_calls.is_some());
        attrs.record(&mut Fields { m: &mut m, mask });
        if what == What::HttpServer {
            let active: Vec<KeyValue> = m
                .attrs
                .iter()
                .filter(|kv| HTTP_ACTIVE_KEYS.contains(&kv.key.as_str()))
                .cloned()
                .collect();
            self.http_active.add(1, &active);
            m.active = Some(active);
        }
        span.extensions_mut().insert(m);
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if self.open.load(Ordering::Relaxed) == 0 {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let meta = span.metadata();
        if let Some(m) = span.extensions_mut().get_mut::<Measured>() {
            let mask = mask(meta, m.what, self.span_calls.is_some());
            values.record(&mut Fields { m, mask });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.events.on_event(event);
        if self.span_calls.is_none() || *event.metadata().level() != Level::ERROR {
            return;
        }
        if let Some(span) = ctx.event_span(event)
            && let Some(m) = span.extensions_mut().get_mut::<Measured>()
        {
            m.error_event = true;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if self.open.load(Ordering::Relaxed) == 0 {
            return;
        }
        let Some(span) = ctx.span(&id) else { return };
        let Some(m) = span.extensions_mut().remove::<Measured>() else {
            return;
        };
        self.open.fetch_sub(1, Ordering::Relaxed);
        let seconds = m.start.elapsed().as_secs_f64();
        if let Some(active) = &m.active {
            self.http_active.add(-1, active);
        }
        match m.what {
            What::HttpServer => self.http_server.record(seconds, &m.attrs),
            What::HttpClient => self.http_client.record(seconds, &m.attrs),
            What::RpcServer => self.rpc_server.record(seconds, &m.attrs),
            What::RpcClient => self.rpc_client.record(seconds, &m.attrs),
            What::Messaging => {
                let process = get(&m.attrs, "messaging.operation.type")
                    .is_some_and(|v| v.as_str() == "process");
                if process {
                    // `messaging.process.duration` does not take the operation type (it is
                    // always `process`): the conventions leave it out of that metric.
                    let attrs: Vec<KeyValue> = m
                        .attrs
                        .iter()
                        .filter(|kv| kv.key.as_str() != "messaging.operation.type")
                        .cloned()
                        .collect();
                    self.messaging_process.record(seconds, &attrs);
                } else {
                    self.messaging_client.record(seconds, &m.attrs);
                }
            }
            What::Db => self.db_client.record(seconds, &m.attrs),
            What::Other => {}
        }
        if let (Some(calls), Some(duration)) = (&self.span_calls, &self.span_duration) {
            let name = m.name.unwrap_or(Cow::Borrowed(span.name()));
            let status = m.status.as_deref().map(str::to_ascii_lowercase);
            let code = if m.error_event || status.as_deref() == Some("error") {
                "STATUS_CODE_ERROR"
            } else if status.as_deref() == Some("ok") {
                "STATUS_CODE_OK"
            } else {
                "STATUS_CODE_UNSET"
            };
            let attrs = [
                KeyValue::new("span.name", name),
                KeyValue::new("span.kind", span_kind(m.kind.as_deref())),
                KeyValue::new("status.code", code),
            ];
            calls.add(1, &attrs);
            duration.record(seconds * 1000.0, &attrs);
        }
    }
}

/// `otel.kind` as the span-metrics connector names kinds.
fn span_kind(kind: Option<&str>) -> &'static str {
    match kind.map(str::to_ascii_lowercase).as_deref() {
        Some("server") => "SPAN_KIND_SERVER",
        Some("client") => "SPAN_KIND_CLIENT",
        Some("producer") => "SPAN_KIND_PRODUCER",
        Some("consumer") => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_INTERNAL",
    }
}
