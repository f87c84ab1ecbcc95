//! A prototype of what a span layer of tracewire's own would cost in place of
//! tracing-opentelemetry's (issue 17's question), measured beside it by the instruction suite
//! (setup `own_layer_prototype` against `stock_otel`: the same registry, the same SDK batch
//! processor and no-op exporter behind it).
//!
//! What it does is the minimum an OpenTelemetry span layer must: ids (the parent's trace id or a
//! new one), the start and end time, the fields typed as attributes, events with their fields,
//! and a `SpanData` handed to the processor on close. What it leaves out, and a real one would
//! have to add: the sampler call, `OpenTelemetrySpanExt` (`set_parent`, `context()`) through an
//! extension lookup instead of an activated context, span kind/status from `otel.*` fields, and
//! links. It does no work on enter and exit: tracing-opentelemetry activates an OpenTelemetry
//! context there, on every poll of an instrumented future.

use std::borrow::Cow;
use std::cell::Cell;
use std::time::SystemTime;

use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

pub struct OwnLayer<P> {
    processor: P,
    scope: InstrumentationScope,
}

impl<P> OwnLayer<P> {
    pub fn new(processor: P) -> Self {
        OwnLayer {
            processor,
            scope: InstrumentationScope::builder("prototype").build(),
        }
    }
}

/// What the layer keeps in the span's extensions until it closes.
struct Recorded {
    trace_id: TraceId,
    span_id: SpanId,
    parent: SpanId,
    start: SystemTime,
    attributes: Vec<KeyValue>,
    events: Vec<Event>,
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0x2545_F491_4F6C_DD1D) };
}

fn random() -> u64 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x
    })
}

struct Fields<'a>(&'a mut Vec<KeyValue>);

impl Visit for Fields<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push(KeyValue::new(field.name(), value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push(KeyValue::new(field.name(), value as i64));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push(KeyValue::new(field.name(), value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push(KeyValue::new(field.name(), value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .push(KeyValue::new(field.name(), Value::from(value.to_string())));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push(KeyValue::new(
            field.name(),
            Value::from(format!("{value:?}")),
        ));
    }
}

impl<S, P> tracing_subscriber::Layer<S> for OwnLayer<P>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    P: SpanProcessor + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let (trace_id, parent) = span
            .parent()
            .and_then(|p| {
                p.extensions()
                    .get::<Recorded>()
                    .map(|r| (r.trace_id, r.span_id))
            })
            .unwrap_or_else(|| {
                (
                    TraceId::from(u128::from(random()) << 64 | u128::from(random())),
                    SpanId::INVALID,
                )
            });
        let mut attributes = Vec::with_capacity(attrs.metadata().fields().len());
        attrs.record(&mut Fields(&mut attributes));
        span.extensions_mut().insert(Recorded {
            trace_id,
            span_id: SpanId::from(random() | 1),
            parent,
            start: SystemTime::now(),
            attributes,
            events: Vec::new(),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(r) = span.extensions_mut().get_mut::<Recorded>()
        {
            values.record(&mut Fields(&mut r.attributes));
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut ext = span.extensions_mut();
        let Some(r) = ext.get_mut::<Recorded>() else {
            return;
        };
        let mut attributes = Vec::with_capacity(event.metadata().fields().len());
        event.record(&mut Fields(&mut attributes));
        // The message becomes the event's name, as tracing-opentelemetry does.
        let name = match attributes
            .iter()
            .position(|kv| kv.key.as_str() == "message")
        {
            Some(i) => Cow::Owned(attributes.swap_remove(i).value.as_str().into_owned()),
            None => Cow::Borrowed(event.metadata().name()),
        };
        r.events
            .push(Event::new(name, SystemTime::now(), attributes, 0));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(r) = span.extensions_mut().remove::<Recorded>() else {
            return;
        };
        let mut events = SpanEvents::default();
        events.events = r.events;
        self.processor.on_end(SpanData {
            span_context: SpanContext::new(
                r.trace_id,
                r.span_id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: r.parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(span.metadata().name()),
            start_time: r.start,
            end_time: SystemTime::now(),
            attributes: r.attributes,
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: self.scope.clone(),
        });
    }
}
