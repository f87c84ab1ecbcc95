//! The head-sampling gate: a wrapper layer in front of the span layer (as tracing-subscriber's
//! `Filtered` wraps a layer with its filter) that keeps spans of unsampled traces from it.
//!
//! A span the gate drops gets an [`Unsampled`] marker instead; while it is entered, its context
//! is attached on this thread (`activate`) so that propagation, log lines and OpenTelemetry API
//! spans inside see its trace. Every other callback is forwarded unchanged. The checks on
//! record, event, enter and exit cost one relaxed load until the first span is dropped.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, TraceContextExt, TraceState};
use opentelemetry::{Context, ContextGuard};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::{HeadSampled, ratio_sampled};
use crate::ids::{RANDOM, new_span_id, new_trace_id};

/// What a span whose trace is not sampled carries instead of tracing-opentelemetry's data: its
/// span context, and the OpenTelemetry context it makes current while entered (the context it
/// was created in, with this span), built once, as tracing-opentelemetry builds its spans'.
#[derive(Debug, Clone)]
pub(crate) struct Unsampled {
    pub(crate) sc: SpanContext,
    pub(crate) cx: Context,
}

impl Unsampled {
    /// The marker for `sc`, in the context current on this thread.
    pub(crate) fn new(sc: SpanContext) -> Unsampled {
        Context::map_current(|cur| Unsampled::within(cur, sc))
    }

    /// The marker for `sc`, made current on top of `base` while the span is entered.
    fn within(base: &Context, sc: SpanContext) -> Unsampled {
        Unsampled {
            cx: base.with_remote_span_context(sc.clone()),
            sc,
        }
    }
}

/// How roots (spans without a parent) are decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Root {
    Always,
    Never,
    /// Sampled when the trace id's low 63 bits fall under this bound (`TraceIdRatioBased`).
    Ratio(u64),
}

/// What the gate does with a new span.
enum Verdict {
    /// Show the span to tracing-opentelemetry.
    Forward,
    /// Show it, with the context marked so the SDK sampler keeps the root the gate sampled.
    ForwardSampledRoot,
    /// Keep it from tracing-opentelemetry; mark it.
    Drop(Unsampled),
}

/// The head-sampling decision in front of tracing-opentelemetry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gate {
    pub(super) root: Root,
    /// `false` for `always_off`: the parent's flag does not matter.
    pub(super) parent_based: bool,
}

impl Gate {
    /// Decides for a new span: the parent decides when there is one, the root rule otherwise.
    fn decide<S>(&self, attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>) -> Verdict
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        // A tracing parent: a marked one passes its context on; any other was shown to
        // tracing-opentelemetry, whose SDK sampler follows it.
        let parent = if let Some(id) = attrs.parent() {
            ctx.span(id)
        } else if attrs.is_contextual() {
            ctx.lookup_current()
        } else {
            None
        };
        if let Some(parent) = parent {
            let ext = parent.extensions();
            let Some(marked) = ext.get::<Unsampled>() else {
                return Verdict::Forward;
            };
            // tracing-opentelemetry parents a contextual span on the attached OpenTelemetry
            // context: one attached inside the marked span (sampled) wins, as it would there.
            if attrs.is_contextual()
                && self.parent_based
                && Context::map_current(|cx| cx.span().span_context().is_sampled())
            {
                return Verdict::Forward;
            }
            // In the parent's context, as tracing-opentelemetry builds a child's.
            return Verdict::Drop(Unsampled::within(&marked.cx, child_of(&marked.sc)));
        }
        if !attrs.is_contextual() {
            // An explicit root (or a parent this layer does not see): tracing-opentelemetry
            // gives it an empty context and the SDK sampler decides, at full cost.
            return match self.root {
                Root::Never => Verdict::Drop(Unsampled::within(&Context::new(), new_root())),
                _ => Verdict::Forward,
            };
        }
        // A local root: an attached context (extracted from a request, or an OpenTelemetry
        // span) is its parent.
        let remote = Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            sc.is_valid().then(|| sc.clone())
        });
        if let Some(sc) = remote {
            return if self.parent_based && sc.is_sampled() {
                Verdict::Forward
            } else {
                Verdict::Drop(Unsampled::new(child_of(&sc)))
            };
        }
        match self.root {
            Root::Always => Verdict::Forward,
            Root::Never => Verdict::Drop(Unsampled::new(new_root())),
            Root::Ratio(bound) => {
                let sc = new_root();
                if ratio_sampled(sc.trace_id(), bound) {
                    Verdict::ForwardSampledRoot
                } else {
                    Verdict::Drop(Unsampled::new(sc))
                }
            }
        }
    }
}

/// Set once the first span is marked: until then, entering a span costs no marker look-up.
static ANY_UNSAMPLED: AtomicBool = AtomicBool::new(false);

fn note_unsampled() {
    if !ANY_UNSAMPLED.load(Ordering::Relaxed) {
        ANY_UNSAMPLED.store(true, Ordering::Relaxed);
    }
}

fn any_unsampled() -> bool {
    ANY_UNSAMPLED.load(Ordering::Relaxed)
}

thread_local! {
    /// Contexts attached for the marked spans entered on this thread, innermost last.
    static ACTIVE: RefCell<Vec<(u64, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Attaches a marked span's context while it is entered, as tracing-opentelemetry does for the
/// spans it sees: OpenTelemetry API spans and log records made inside then join the trace
/// (not sampled) instead of starting new ones.
fn activate(id: &tracing::span::Id, cx: Context) {
    // `try_with`: a span entered while this thread's locals are being torn down is not
    // activated, rather than panicking.
    let _ = ACTIVE.try_with(|a| {
        let guard = cx.attach();
        a.borrow_mut().push((id.into_u64(), guard));
    });
}

/// Detaches what [`activate`] attached for `id`; `false` when `id` is not a marked span entered
/// on this thread.
fn deactivate(id: &tracing::span::Id) -> bool {
    ACTIVE
        .try_with(|a| {
            let mut a = a.borrow_mut();
            match a.iter().rposition(|(i, _)| *i == id.into_u64()) {
                Some(pos) => {
                    let (_, guard) = a.remove(pos);
                    drop(a);
                    drop(guard);
                    true
                }
                None => false,
            }
        })
        .unwrap_or(false)
}

/// The OpenTelemetry context of a tracing span handle whose trace is not sampled, looked up
/// through the registry behind its dispatcher.
pub(crate) fn context_of(span: &tracing::Span) -> Option<Context> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        let ext = span.extensions();
        ext.get::<Unsampled>().map(|u| u.cx.clone())
    })
    .flatten()
}

/// Makes a marked `span` a child of the span in `parent` (with `parent`'s baggage), or, when
/// `parent` holds no span, keeps its own ids and takes `parent`'s baggage; `true` when `span`
/// is marked.
pub(crate) fn remark(span: &tracing::Span, parent: &Context) -> bool {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        let mut ext = span.extensions_mut();
        let u = ext.get_mut::<Unsampled>()?;
        let psc = parent.span().span_context().clone();
        let sc = if psc.is_valid() {
            child_of(&psc)
        } else {
            u.sc.clone()
        };
        *u = Unsampled::within(parent, sc);
        Some(())
    })
    .flatten()
    .is_some()
}

/// A new span in the trace of `parent`, not sampled.
fn child_of(parent: &SpanContext) -> SpanContext {
    SpanContext::new(
        parent.trace_id(),
        new_span_id(),
        parent.trace_flags().with_sampled(false),
        false,
        parent.trace_state().clone(),
    )
}

/// Trace Context Level 2's random flag: every trace id tracewire makes is random.
fn new_root() -> SpanContext {
    SpanContext::new(
        new_trace_id(),
        new_span_id(),
        RANDOM,
        false,
        TraceState::NONE,
    )
}

/// The gate wrapped around a span layer: spans of unsampled traces, and their events, records,
/// enters and exits, never reach `inner`. Without a gate (`None`: the plan cannot skip work)
/// every callback goes straight through.
pub(crate) struct HeadGate<L> {
    inner: L,
    gate: Option<Gate>,
}

impl<L> HeadGate<L> {
    pub(crate) fn new(inner: L, gate: Option<Gate>) -> Self {
        HeadGate { inner, gate }
    }

    /// Whether a span may carry a marker: only once this gate exists and dropped a span.
    fn may_be_marked(&self) -> bool {
        self.gate.is_some() && any_unsampled()
    }
}

impl<L> std::fmt::Debug for HeadGate<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadGate")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

fn marked<S>(id: &Id, ctx: &LayerContext<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id)
        .is_some_and(|s| s.extensions().get::<Unsampled>().is_some())
}

impl<S, L> Layer<S> for HeadGate<L>
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

    fn enabled(&self, metadata: &Metadata<'_>, ctx: LayerContext<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let _sampled_root = match self.gate.as_ref().map(|g| g.decide(attrs, &ctx)) {
            Some(Verdict::Drop(marker)) => {
                note_unsampled();
                if let Some(span) = ctx.span(id) {
                    span.extensions_mut().insert(marker);
                }
                return;
            }
            // tracing-opentelemetry takes the attached context as the parent context, and the
            // SDK sampler reads the mark there.
            Some(Verdict::ForwardSampledRoot) => {
                Some(Context::current_with_value(HeadSampled).attach())
            }
            _ => None,
        };
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        if self.may_be_marked() && marked(span, &ctx) {
            return;
        }
        self.inner.on_record(span, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if self.may_be_marked() {
            let span = match event.parent() {
                Some(id) => ctx.span(id),
                None if event.is_contextual() => ctx.lookup_current(),
                None => None,
            };
            if span.is_some_and(|s| s.extensions().get::<Unsampled>().is_some()) {
                return;
            }
        }
        self.inner.on_event(event, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if self.may_be_marked() {
            let cx = ctx
                .span(id)
                .and_then(|s| s.extensions().get::<Unsampled>().map(|u| u.cx.clone()));
            if let Some(cx) = cx {
                activate(id, cx);
                return;
            }
        }
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: LayerContext<'_, S>) {
        if self.may_be_marked() && deactivate(id) {
            return;
        }
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: LayerContext<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    // `OpenTelemetrySpanExt` (`set_parent`, `context`) finds tracing-opentelemetry's layer
    // through this downcast; without forwarding it, users' propagation code silently starts new
    // traces (tests/otel_span_ext.rs fails). The trait method is `unsafe fn`.
    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: std::any::TypeId) -> Option<*const ()> {
        if id == std::any::TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarding to the wrapped layer, which upholds the trait's contract for the
        // types it reports; the returned pointer borrows from `self`, as the caller expects.
        unsafe { self.inner.downcast_raw(id) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_keeps_the_trace_and_is_unsampled() {
        let a = new_root();
        let b = child_of(&a);
        assert!(a.is_valid() && b.is_valid());
        assert_eq!(a.trace_id(), b.trace_id());
        assert_ne!(a.span_id(), b.span_id());
        assert!(!b.is_sampled());
        assert_eq!(a.trace_flags(), RANDOM);
    }
}
