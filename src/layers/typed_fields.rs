//! [`TypedFields`]: the wrapper in front of the OpenTelemetry layers (spans, and log records
//! with the `logs` feature) that feeds them integers as integers and secrets already redacted.
//!
//! tracing-opentelemetry 0.34 records `u64` fields (every `usize` length, every `u32` id) through
//! `Debug`, so they reach the collector as strings. This wrapper hands the inner layer the same
//! fields with each `u64` that fits an `i64` as an `i64`, and the value of each field whose name
//! looks sensitive as `[REDACTED]`. The rewrite costs one extra, allocation-free pass over the
//! fields; only spans and events that have such a field pay for more.

use std::any::TypeId;

use crate::layers::tracer::Tracer;
use tracing::field::{DisplayValue, Field, Value, ValueSet, Visit, display};

use crate::redact::{REDACTED, Redactor, masked, scrub};
use crate::sampling::HeadGate;
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Subscriber, subscriber::Interest};
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// An inner layer fed typed integers and redacted secrets.
pub(crate) struct TypedFields<L> {
    inner: L,
    redactor: Redactor,
    /// Scrub credentials out of every string value here (log records: the export side cannot
    /// change their attributes; spans are scrubbed on the export task instead).
    scrub: bool,
}

/// The span layer: tracing-opentelemetry's, fed typed fields, behind the head-sampling gate.
pub(crate) type SpanLayer<S> = HeadGate<TypedFields<OpenTelemetryLayer<S, Tracer>>>;

impl<L> std::fmt::Debug for TypedFields<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypedFields")
    }
}

/// The span layer for `tracer`, gated by `gate`.
pub(crate) fn span_layer<S>(
    tracer: Tracer,
    redactor: Redactor,
    source_attributes: bool,
    gate: Option<crate::sampling::Gate>,
) -> SpanLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    HeadGate::new(TypedFields::otel(tracer, redactor, source_attributes), gate)
}

/// tracing-opentelemetry's layer for tracewire's tracer. Its source attributes (`code.*`,
/// `thread.*`, `target`, busy/idle times) cost ~20% of a span's instructions, so they are off
/// unless `span_source_attributes` asks for them.
impl<S> TypedFields<OpenTelemetryLayer<S, Tracer>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn otel(tracer: Tracer, redactor: Redactor, source_attributes: bool) -> Self {
        TypedFields {
            inner: tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_threads(source_attributes)
                .with_tracked_inactivity(source_attributes)
                .with_location(source_attributes)
                .with_target(source_attributes),
            redactor,
            scrub: false,
        }
    }
}

impl<L> TypedFields<L> {
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    /// The log-record bridge's wrapper: names redacted, values scrubbed.
    pub(crate) fn new(inner: L, redactor: Redactor) -> Self {
        TypedFields {
            inner,
            redactor,
            scrub: true,
        }
    }
}

/// A field value owned long enough to build a new value set from (tracing's value sets borrow).
enum Owned {
    I64(i64),
    F64(f64),
    Bool(bool),
    Str(String),
    Shown(DisplayValue<String>),
}

impl Owned {
    /// As the `Value` the inner layer's visitor receives: the same `record_*` call it would
    /// have had, but for `u64` (now `i64`) and redacted values.
    fn as_value(&self) -> &dyn Value {
        match self {
            Owned::I64(v) => v,
            Owned::F64(v) => v,
            Owned::Bool(v) => v,
            Owned::Str(v) => v,
            Owned::Shown(v) => v,
        }
    }
}

/// Finds whether a value set has a `u64`, without allocating.
#[derive(Default)]
struct HasU64(bool);

impl Visit for HasU64 {
    fn record_u64(&mut self, _: &Field, _: u64) {
        self.0 = true;
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The values by field index, `u64` turned into `i64`, sensitive ones redacted; `gave_up` when
/// a value cannot be owned without changing how the layer sees it (an `Error`, which it maps to
/// exception fields).
struct Collect {
    values: Vec<Option<Owned>>,
    gave_up: bool,
    /// Sensitive fields of this callsite (see [`Redactor::mask`]).
    mask: u64,
    scrub: bool,
}

impl Collect {
    fn put(&mut self, field: &Field, v: Owned) {
        let v = if masked(self.mask, field.index()) {
            Owned::Str(REDACTED.to_string())
        } else if self.scrub {
            match v {
                Owned::Str(s) => Owned::Str(scrub(&s).unwrap_or(s)),
                Owned::Shown(d) => {
                    let s = d.to_string();
                    Owned::Shown(display(scrub(&s).unwrap_or(s)))
                }
                other => other,
            }
        } else {
            v
        };
        if let Some(slot) = self.values.get_mut(field.index()) {
            *slot = Some(v);
        }
    }
}

impl Visit for Collect {
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.put(f, Owned::F64(v));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.put(f, Owned::I64(v));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        match i64::try_from(v) {
            Ok(i) => self.put(f, Owned::I64(i)),
            Err(_) => self.put(f, Owned::Shown(display(v.to_string()))),
        }
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.put(f, Owned::Bool(v));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.put(f, Owned::Str(v.to_string()));
    }
    fn record_error(&mut self, f: &Field, e: &(dyn std::error::Error + 'static)) {
        if masked(self.mask, f.index()) {
            self.put(f, Owned::Str(e.to_string()));
        } else {
            self.gave_up = true;
        }
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        // The layer formats Debug values with `{:?}`; Display of this string prints the same.
        self.put(f, Owned::Shown(display(format!("{v:?}"))));
    }
}

/// `Some(values)` when `record` holds a `u64` or a sensitive field and can be rewritten.
fn rewrite(
    redactor: &Redactor,
    scrub: bool,
    fields: &tracing_core::field::FieldSet,
    record: impl Fn(&mut dyn Visit),
) -> Option<Vec<Option<Owned>>> {
    let mask = redactor.mask(fields);
    if mask == 0 && !scrub {
        let mut probe = HasU64::default();
        record(&mut probe);
        if !probe.0 {
            return None;
        }
    }
    let mut c = Collect {
        values: (0..fields.len()).map(|_| None).collect(),
        gave_up: false,
        mask,
        scrub,
    };
    record(&mut c);
    (!c.gave_up).then_some(c.values)
}

/// Runs `f` with a value set of `meta`'s fields holding `values` (tracing builds value sets only
/// from borrowed arrays, hence the closure).
fn with_value_set<R>(
    meta: &'static Metadata<'static>,
    values: &[Option<Owned>],
    f: impl FnOnce(&ValueSet<'_>) -> R,
) -> R {
    let refs: Vec<Option<&dyn Value>> = values
        .iter()
        .map(|v| v.as_ref().map(Owned::as_value))
        .collect();
    f(&meta.fields().value_set_all(&refs))
}

impl<S, L> Layer<S> for TypedFields<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let Some(values) = rewrite(&self.redactor, self.scrub, meta.fields(), |v| {
            attrs.record(v)
        }) else {
            return self.inner.on_new_span(attrs, id, ctx);
        };
        with_value_set(meta, &values, |vs| {
            let typed = if attrs.is_root() {
                Attributes::new_root(meta, vs)
            } else if let Some(parent) = attrs.parent() {
                Attributes::child_of(parent.clone(), meta, vs)
            } else {
                Attributes::new(meta, vs)
            };
            self.inner.on_new_span(&typed, id, ctx);
        });
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(s) = ctx.span(span) else {
            return self.inner.on_record(span, values, ctx);
        };
        let meta = s.metadata();
        drop(s);
        let Some(owned) = rewrite(&self.redactor, self.scrub, meta.fields(), |v| {
            values.record(v)
        }) else {
            return self.inner.on_record(span, values, ctx);
        };
        with_value_set(meta, &owned, |vs| {
            self.inner.on_record(span, &Record::new(vs), ctx)
        });
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let Some(values) = rewrite(&self.redactor, self.scrub, meta.fields(), |v| {
            event.record(v)
        }) else {
            return self.inner.on_event(event, ctx);
        };
        with_value_set(meta, &values, |vs| {
            let parent = event.parent().cloned();
            let typed = if event.is_root() {
                Event::new_child_of(None, meta, vs)
            } else if parent.is_some() {
                Event::new_child_of(parent, meta, vs)
            } else {
                Event::new(meta, vs)
            };
            self.inner.on_event(&typed, ctx);
        });
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    // `OpenTelemetrySpanExt` (`set_parent`, `context`) finds the inner layer through this
    // downcast; without forwarding it, users' propagation code silently starts new traces
    // (tests/otel_span_ext.rs fails). The trait method is `unsafe fn`, hence the allowance.
    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarding to the wrapped layer, which upholds the trait's contract for the
        // types it reports; the returned pointer borrows from `self`, as the caller expects.
        unsafe { self.inner.downcast_raw(id) }
    }
}
