//! Head sampling decided when a trace's local root is created, so that an unsampled trace costs
//! almost nothing.
//!
//! tracing-opentelemetry builds a span builder (name, attributes, parent context, events) for
//! every span and only asks the sampler when the span starts; an unsampled span costs nearly as
//! much as a sampled one. The [`Gate`] runs in front of it: a span whose trace is not sampled is
//! never shown to tracing-opentelemetry; it gets an [`Unsampled`] marker holding a span context
//! (a trace id, a fresh span id, flags `00`), which its children inherit, and which is attached
//! as the current OpenTelemetry context while the span is entered. Trace ids therefore still
//! reach log lines, outgoing `traceparent` headers (see `propagation::current_context`), and
//! spans made through the OpenTelemetry API inside. `OpenTelemetrySpanExt::context()` on such a
//! span returns an empty context: tracing-opentelemetry never saw it.
//!
//! The decision follows the configured sampler: a parent (a marked span, or an attached remote or
//! OpenTelemetry context) decides for parent-based samplers; a root is sampled by ratio on its
//! trace id, as `TraceIdRatioBased` does. When a root is sampled, tracing-opentelemetry's own
//! trace id replaces the one the coin was thrown with, so the SDK sampler is told through a
//! context value ([`HeadSampled`]) not to throw a second coin ([`HeadSampler`]).
//!
//! The price: a span whose trace was dropped at creation cannot be revived by a later
//! `OpenTelemetrySpanExt::set_parent` (tracing-opentelemetry finds nothing to re-parent). With
//! `sampling_rate = 1.0`, the default, no root is ever dropped this way. tracewire's own HTTP and
//! messaging helpers create their spans inside the extracted context, so they are never affected;
//! `tracewire::propagation::set_parent` adopts the remote trace id and warns once.

use std::cell::{Cell, RefCell};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, ContextGuard, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
use tracing::span::Attributes;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

use crate::settings::SamplerKind;

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
enum Root {
    Always,
    Never,
    /// Sampled when the trace id's low 63 bits fall under this bound (`TraceIdRatioBased`).
    Ratio(u64),
}

/// What the gate does with a new span.
pub(crate) enum Verdict {
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
    root: Root,
    /// `false` for `always_off`: the parent's flag does not matter.
    parent_based: bool,
}

impl Gate {
    /// The gate for a sampler, or `None` when skipping work is impossible (`always_on`,
    /// `traceidratio`: every span may be sampled whatever its parent says) or the tail rule needs
    /// every span recorded.
    pub(crate) fn new(kind: SamplerKind, rate: f64, tail_rule: bool) -> Option<Gate> {
        if tail_rule {
            return None;
        }
        let ratio = || {
            if rate >= 1.0 {
                Root::Always
            } else if rate <= 0.0 || rate.is_nan() {
                Root::Never
            } else {
                Root::Ratio(ratio_bound(rate))
            }
        };
        match kind {
            SamplerKind::AlwaysOff => Some(Gate {
                root: Root::Never,
                parent_based: false,
            }),
            SamplerKind::ParentBasedAlwaysOn => Some(Gate {
                root: Root::Always,
                parent_based: true,
            }),
            SamplerKind::ParentBasedAlwaysOff => Some(Gate {
                root: Root::Never,
                parent_based: true,
            }),
            SamplerKind::ParentBasedTraceIdRatio => Some(Gate {
                root: ratio(),
                parent_based: true,
            }),
            _ => None,
        }
    }

    /// Decides for a new span: the parent decides when there is one, the root rule otherwise.
    pub(crate) fn decide<S>(&self, attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>) -> Verdict
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

pub(crate) fn note_unsampled() {
    if !ANY_UNSAMPLED.load(Ordering::Relaxed) {
        ANY_UNSAMPLED.store(true, Ordering::Relaxed);
    }
}

pub(crate) fn any_unsampled() -> bool {
    ANY_UNSAMPLED.load(Ordering::Relaxed)
}

thread_local! {
    /// Contexts attached for the marked spans entered on this thread, innermost last.
    static ACTIVE: RefCell<Vec<(u64, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// Attaches a marked span's context while it is entered, as tracing-opentelemetry does for the
/// spans it sees: OpenTelemetry API spans and log records made inside then join the trace
/// (not sampled) instead of starting new ones.
pub(crate) fn activate(id: &tracing::span::Id, cx: Context) {
    // `try_with`: a span entered while this thread's locals are being torn down is not
    // activated, rather than panicking.
    let _ = ACTIVE.try_with(|a| {
        let guard = cx.attach();
        a.borrow_mut().push((id.into_u64(), guard));
    });
}

/// Detaches what [`activate`] attached for `id`; `false` when `id` is not a marked span entered
/// on this thread.
pub(crate) fn deactivate(id: &tracing::span::Id) -> bool {
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
pub(crate) fn child_of(parent: &SpanContext) -> SpanContext {
    SpanContext::new(
        parent.trace_id(),
        new_span_id(),
        parent.trace_flags().with_sampled(false),
        false,
        parent.trace_state().clone(),
    )
}

/// Trace Context Level 2's random flag: every trace id tracewire makes is random.
pub(crate) const RANDOM: TraceFlags = TraceFlags::new(0x02);

fn new_root() -> SpanContext {
    SpanContext::new(
        new_trace_id(),
        new_span_id(),
        RANDOM,
        false,
        TraceState::NONE,
    )
}

/// `TraceIdRatioBased`'s bound: a trace is sampled when its id's low 64 bits, shifted right by
/// one, fall under it.
fn ratio_bound(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * (1u64 << 63) as f64) as u64
}

fn ratio_sampled(trace_id: TraceId, bound: u64) -> bool {
    let low = u128::from_be_bytes(trace_id.to_bytes()) as u64;
    (low >> 1) < bound
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

/// A per-thread seed from the standard library's random hasher keys, the time and the stack.
fn seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    // The address of a local differs between threads (and `thread::current()` may not be
    // usable while a thread's locals are torn down).
    let local = 0u8;
    h.write_usize(std::ptr::addr_of!(local) as usize);
    h.finish()
}

/// SplitMix64: ids need to be unique and unpredictable enough for sampling, not secret.
fn next_u64() -> u64 {
    // While this thread's locals are torn down, a process-wide counter stands in for the state.
    static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let x = RNG
        .try_with(|s| {
            let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            s.set(x);
            x
        })
        .unwrap_or_else(|_| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            now ^ FALLBACK.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        });
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn new_span_id() -> SpanId {
    loop {
        let v = next_u64();
        if v != 0 {
            return SpanId::from(v);
        }
    }
}

pub(crate) fn new_trace_id() -> TraceId {
    loop {
        let v = (u128::from(next_u64()) << 64) | u128::from(next_u64());
        if v != 0 {
            return TraceId::from(v);
        }
    }
}

/// The context value by which the gate tells the SDK sampler it already sampled this root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadSampled;

/// The configured sampler, except that a root the gate sampled is sampled, and, with the tail
/// rule (`record_dropped`), what it drops is recorded for the rule (see `export/tail.rs`).
#[derive(Debug, Clone)]
pub(crate) struct HeadSampler {
    pub(crate) inner: Sampler,
    pub(crate) record_dropped: bool,
}

impl ShouldSample for HeadSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &opentelemetry::trace::SpanKind,
        attributes: &[KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        if let Some(cx) = parent_context
            && cx.get::<HeadSampled>().is_some()
            && !cx.span().span_context().is_valid()
        {
            return SamplingResult {
                decision: SamplingDecision::RecordAndSample,
                attributes: Vec::new(),
                trace_state: TraceState::NONE,
            };
        }
        let mut r =
            self.inner
                .should_sample(parent_context, trace_id, name, span_kind, attributes, links);
        if self.record_dropped && r.decision == SamplingDecision::Drop {
            r.decision = SamplingDecision::RecordOnly;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_matches_the_sdk_sampler() {
        // The gate's coin must fall exactly as TraceIdRatioBased's for the same trace id.
        let sdk = Sampler::TraceIdRatioBased(0.3);
        let bound = ratio_bound(0.3);
        let mut agree = 0;
        for _ in 0..2000 {
            let id = new_trace_id();
            let r = sdk.should_sample(
                None,
                id,
                "x",
                &opentelemetry::trace::SpanKind::Internal,
                &[],
                &[],
            );
            let sdk_sampled = r.decision == SamplingDecision::RecordAndSample;
            assert_eq!(sdk_sampled, ratio_sampled(id, bound), "{id}");
            agree += usize::from(sdk_sampled);
        }
        // About 30% of 2000; the bounds are 8 standard deviations wide.
        assert!((440..760).contains(&agree), "{agree}");
    }

    #[test]
    fn ids_are_valid_and_distinct() {
        let a = new_root();
        let b = child_of(&a);
        assert!(a.is_valid() && b.is_valid());
        assert_eq!(a.trace_id(), b.trace_id());
        assert_ne!(a.span_id(), b.span_id());
        assert!(!b.is_sampled());
        assert_ne!(new_trace_id(), new_trace_id());
    }

    #[test]
    fn gate_exists_only_where_it_can_skip_work() {
        assert!(Gate::new(SamplerKind::AlwaysOn, 1.0, false).is_none());
        assert!(Gate::new(SamplerKind::TraceIdRatio, 0.5, false).is_none());
        assert!(Gate::new(SamplerKind::ParentBasedTraceIdRatio, 0.5, true).is_none());
        let g = Gate::new(SamplerKind::ParentBasedTraceIdRatio, 0.0, false).unwrap();
        assert_eq!(g.root, Root::Never);
        let g = Gate::new(SamplerKind::ParentBasedTraceIdRatio, 1.0, false).unwrap();
        assert_eq!(g.root, Root::Always);
    }
}
