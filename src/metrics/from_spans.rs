//! [`MetricsLayer`]: measurements from tracing spans as they close, sampled or not.
//!
//! tracewire's integration spans carry the semantic-convention attributes already
//! (`http.request.method`, `http.route`, `http.response.status_code`, `error.type`,
//! `messaging.*`), so the histograms take theirs from the span: one place decides what a request
//! is called, for its span and for its metric. Only those spans are looked at, unless
//! `span_metrics` asks for every span; a span that is not measured costs a target check when it
//! opens and nothing when it closes while no measured span is open.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::names;

/// What is kept of a measured span until it closes.
struct Measured {
    start: Instant,
    /// Which histogram the span feeds, from its target and kind.
    what: What,
    /// Its fields with semantic-convention names (and `otel.*`), as recorded so far.
    attrs: Vec<KeyValue>,
    /// An `error` level event inside it (status Error for span metrics, as tracing-opentelemetry
    /// sets it).
    error_event: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum What {
    Http,
    Messaging,
    /// Only span metrics.
    Other,
}

/// The instruments, built once from tracewire's meter.
pub(crate) struct MetricsLayer {
    http_server: Histogram<f64>,
    http_client: Histogram<f64>,
    messaging_process: Histogram<f64>,
    messaging_client: Histogram<f64>,
    span_calls: Option<Counter<u64>>,
    span_duration: Option<Histogram<f64>>,
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
            messaging_process: seconds(
                names::MESSAGING_PROCESS,
                "Duration of processing operation.",
            ),
            messaging_client: seconds(
                names::MESSAGING_CLIENT,
                "Duration of messaging operation initiated by a producer or consumer client.",
            ),
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
            open: AtomicUsize::new(0),
        }
    }
}

/// Keeps fields by their names as they are recorded; a recorded value replaces the earlier one.
struct Fields<'a>(&'a mut Vec<KeyValue>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: opentelemetry::Value) {
        let name = field.name();
        match self.0.iter_mut().find(|kv| kv.key.as_str() == name) {
            Some(kv) => kv.value = value,
            None => self.0.push(KeyValue::new(name, value)),
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string().into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, i64::try_from(value).unwrap_or(i64::MAX).into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%value` fields arrive here; their Debug is their Display.
        self.put(field, format!("{value:?}").into());
    }
}

fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a opentelemetry::Value> {
    attrs
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn pick(attrs: &[KeyValue], keys: &[&str]) -> Vec<KeyValue> {
    attrs
        .iter()
        .filter(|kv| keys.contains(&kv.key.as_str()))
        .cloned()
        .collect()
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let target = attrs.metadata().target();
        let what = if target.starts_with("tracewire::http") {
            What::Http
        } else if target.starts_with("tracewire::messaging") {
            What::Messaging
        } else if self.span_calls.is_some() {
            What::Other
        } else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Vec::with_capacity(attrs.metadata().fields().len());
        attrs.record(&mut Fields(&mut fields));
        span.extensions_mut().insert(Measured {
            start: Instant::now(),
            what,
            attrs: fields,
            error_event: false,
        });
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if self.open.load(Ordering::Relaxed) == 0 {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        if let Some(m) = span.extensions_mut().get_mut::<Measured>() {
            values.record(&mut Fields(&mut m.attrs));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
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
        let elapsed = m.start.elapsed();
        let kind = get(&m.attrs, "otel.kind").map(|v| v.as_str().into_owned());
        match m.what {
            What::Http => match kind.as_deref() {
                Some("server") => self
                    .http_server
                    .record(elapsed.as_secs_f64(), &pick(&m.attrs, HTTP_SERVER_KEYS)),
                Some("client") => self
                    .http_client
                    .record(elapsed.as_secs_f64(), &pick(&m.attrs, HTTP_CLIENT_KEYS)),
                _ => {}
            },
            What::Messaging => {
                let process = get(&m.attrs, "messaging.operation.type")
                    .is_some_and(|v| v.as_str() == "process");
                let histogram = if process {
                    &self.messaging_process
                } else {
                    &self.messaging_client
                };
                histogram.record(elapsed.as_secs_f64(), &pick(&m.attrs, MESSAGING_KEYS));
            }
            What::Other => {}
        }
        if let (Some(calls), Some(duration)) = (&self.span_calls, &self.span_duration) {
            let name = get(&m.attrs, "otel.name")
                .map(|v| v.as_str().into_owned())
                .unwrap_or_else(|| span.name().to_string());
            let error = m.error_event
                || get(&m.attrs, "otel.status_code")
                    .is_some_and(|v| v.as_str().eq_ignore_ascii_case("error"));
            let ok = get(&m.attrs, "otel.status_code")
                .is_some_and(|v| v.as_str().eq_ignore_ascii_case("ok"));
            let attrs = [
                KeyValue::new("span.name", name),
                KeyValue::new("span.kind", span_kind(kind.as_deref())),
                KeyValue::new(
                    "status.code",
                    if error {
                        "STATUS_CODE_ERROR"
                    } else if ok {
                        "STATUS_CODE_OK"
                    } else {
                        "STATUS_CODE_UNSET"
                    },
                ),
            ];
            calls.add(1, &attrs);
            duration.record(elapsed.as_secs_f64() * 1000.0, &attrs);
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
