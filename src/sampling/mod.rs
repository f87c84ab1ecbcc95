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

//! One [`Plan`], built once from the settings, is what every part reads: the gate
//! ([`Plan::gate`], wrapped around the span layer as [`HeadGate`]), tracewire's tracer
//! ([`Plan::follows_sampled_parent`], [`Plan::keeps_every_root`]), the SDK sampler for spans made
//! through the OpenTelemetry API ([`Plan::sdk_sampler`]) and the tail rule's buffer
//! ([`Plan::tail_rule`]: with it, nothing is dropped at the head, everything recorded).

mod gate;

pub(crate) use gate::{Gate, HeadGate, Unsampled, context_of, remark};

use opentelemetry::trace::{TraceContextExt, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

use std::time::Duration;

use crate::settings::SamplerKind;

/// The tail rule: what it keeps (every error, every slow request), and how much its buffer
/// (`export/tail.rs`) may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TailRule {
    pub(crate) keep_errors: bool,
    pub(crate) slow: Option<Duration>,
    pub(crate) max_spans: usize,
    pub(crate) max_bytes: usize,
}

impl TailRule {
    /// The tail rule, when `keep_errors` or `slow` asks for one; it holds at most `max_spans`
    /// spans and `max_bytes` bytes.
    pub(crate) fn new(
        keep_errors: bool,
        slow: Option<Duration>,
        max_spans: usize,
        max_bytes: usize,
    ) -> Option<TailRule> {
        (keep_errors || slow.is_some()).then_some(TailRule {
            keep_errors,
            slow,
            max_spans,
            max_bytes,
        })
    }
}

/// The sampling decisions of one stack, from `sampler`, `sampling_rate` and the tail rule's keys.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    kind: SamplerKind,
    rate: f64,
    tail: Option<TailRule>,
    /// A sampler of the user's (`Builder::with_sampler`), in place of `kind`.
    custom: Option<Box<dyn ShouldSample>>,
    /// Ids come from the user's generator: the gate, which makes ids of its own, stands aside.
    own_ids: bool,
}

impl Plan {
    /// `sampler` at `sampling_rate`, with the tail rule `tail`.
    pub(crate) fn new(kind: SamplerKind, rate: f64, tail: Option<TailRule>) -> Plan {
        Plan {
            kind,
            rate,
            tail,
            custom: None,
            own_ids: false,
        }
    }

    /// The user's sampler decides instead of `sampler`/`sampling_rate`: for every span that
    /// tracing-opentelemetry builds (the gate stands aside, so the sampler sees every span with
    /// its name, kind and the attributes known at creation), told about nothing else; with the
    /// tail rule, what it drops is still recorded for the rule.
    pub(crate) fn with_sampler(mut self, sampler: Option<Box<dyn ShouldSample>>) -> Plan {
        self.custom = sampler;
        self
    }

    /// Ids come from a generator of the user's.
    pub(crate) fn with_own_ids(mut self, own: bool) -> Plan {
        self.own_ids = own;
        self
    }

    /// The ratio at which a trace is sampled when its caller left the decision to this
    /// service (B3 without a sampling state, X-Ray `Sampled=?`): as if it were a local root.
    pub(crate) fn defer_rate(&self) -> f64 {
        match self.kind {
            SamplerKind::AlwaysOn | SamplerKind::ParentBasedAlwaysOn => 1.0,
            SamplerKind::AlwaysOff | SamplerKind::ParentBasedAlwaysOff => 0.0,
            SamplerKind::TraceIdRatio | SamplerKind::ParentBasedTraceIdRatio => self.rate,
        }
    }

    /// The tail rule, when `keep_errors` or `slow_threshold_ms` asks for one.
    pub(crate) fn tail_rule(&self) -> Option<TailRule> {
        self.tail
    }

    /// The gate, or `None` when skipping work is impossible: `always_on` and `traceidratio`
    /// may sample any span whatever its parent says, and the tail rule needs every span recorded.
    pub(crate) fn gate(&self) -> Option<gate::Gate> {
        if self.tail.is_some() || self.custom.is_some() || self.own_ids {
            return None;
        }
        let ratio = || {
            if self.rate >= 1.0 {
                gate::Root::Always
            } else if self.rate <= 0.0 || self.rate.is_nan() {
                gate::Root::Never
            } else {
                gate::Root::Ratio(ratio_bound(self.rate))
            }
        };
        let (root, parent_based) = match self.kind {
            SamplerKind::AlwaysOff => (gate::Root::Never, false),
            SamplerKind::ParentBasedAlwaysOn => (gate::Root::Always, true),
            SamplerKind::ParentBasedAlwaysOff => (gate::Root::Never, true),
            SamplerKind::ParentBasedTraceIdRatio => (ratio(), true),
            _ => return None,
        };
        Some(gate::Gate { root, parent_based })
    }

    /// A valid parent's sampled flag decides (the parent-based samplers): the tracer skips
    /// the sampler call for the common case.
    pub(crate) fn follows_sampled_parent(&self) -> bool {
        self.custom.is_none()
            && matches!(
                self.kind,
                SamplerKind::ParentBasedAlwaysOn
                    | SamplerKind::ParentBasedAlwaysOff
                    | SamplerKind::ParentBasedTraceIdRatio
            )
    }

    /// Every root is sampled (the default, `sampling_rate = 1.0`) and nothing waits for the tail
    /// rule: the tracer skips the sampler call for roots.
    pub(crate) fn keeps_every_root(&self) -> bool {
        self.tail.is_none()
            && self.custom.is_none()
            && match self.kind {
                SamplerKind::AlwaysOn | SamplerKind::ParentBasedAlwaysOn => true,
                SamplerKind::ParentBasedTraceIdRatio => self.rate >= 1.0,
                _ => false,
            }
    }

    /// The sampler for the SDK provider and tracewire's tracer: the configured one, told about
    /// roots the gate sampled, recording what it drops when the tail rule is on.
    pub(crate) fn sdk_sampler(&self) -> Box<dyn ShouldSample> {
        if let Some(custom) = &self.custom {
            return Box::new(HeadSampler {
                inner: Inner::Custom(custom.clone()),
                record_dropped: self.tail.is_some(),
            });
        }
        let ratio = || Sampler::TraceIdRatioBased(self.rate);
        let inner = match self.kind {
            SamplerKind::AlwaysOn => Sampler::AlwaysOn,
            SamplerKind::AlwaysOff => Sampler::AlwaysOff,
            SamplerKind::TraceIdRatio => ratio(),
            SamplerKind::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            SamplerKind::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            _ => Sampler::ParentBased(Box::new(ratio())),
        };
        Box::new(HeadSampler {
            inner: Inner::Sdk(inner),
            record_dropped: self.tail.is_some(),
        })
    }
}

/// The SDK's samplers by value (the default path: no second dynamic call), or the user's.
#[derive(Debug, Clone)]
enum Inner {
    Sdk(Sampler),
    Custom(Box<dyn ShouldSample>),
}

/// A context value: the gate sampled this root already, with another trace id than the one the
/// span will get; the sampler must not throw a second coin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadSampled;

/// The configured sampler, except that a root the gate sampled is sampled, and, with the tail
/// rule (`record_dropped`), what it drops is recorded for the rule (see `export/tail.rs`).
#[derive(Debug, Clone)]
struct HeadSampler {
    inner: Inner,
    record_dropped: bool,
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
        let mut r = match &self.inner {
            Inner::Sdk(s) => {
                s.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
            }
            Inner::Custom(s) => {
                s.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
            }
        };
        if self.record_dropped && r.decision == SamplingDecision::Drop {
            r.decision = SamplingDecision::RecordOnly;
        }
        r
    }
}

/// `TraceIdRatioBased`'s bound for a rate: a trace is sampled when its id's low 63 bits are
/// under it.
/// Whether a ratio sampler at `rate` samples `trace_id` (the rule of `TraceIdRatioBased`).
pub(crate) fn ratio_decides(trace_id: TraceId, rate: f64) -> bool {
    rate >= 1.0 || ratio_sampled(trace_id, ratio_bound(rate))
}

fn ratio_bound(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * (1u64 << 63) as f64) as u64
}

fn ratio_sampled(trace_id: TraceId, bound: u64) -> bool {
    let low = u128::from_be_bytes(trace_id.to_bytes()) as u64;
    (low >> 1) < bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::new_trace_id;

    fn plan(kind: SamplerKind, rate: f64, tail: bool) -> Plan {
        Plan::new(kind, rate, TailRule::new(tail, None, 100, 1 << 20))
    }

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
    fn gate_exists_only_where_it_can_skip_work() {
        assert!(plan(SamplerKind::AlwaysOn, 1.0, false).gate().is_none());
        assert!(plan(SamplerKind::TraceIdRatio, 0.5, false).gate().is_none());
        assert!(
            plan(SamplerKind::ParentBasedTraceIdRatio, 0.5, true)
                .gate()
                .is_none()
        );
        let g = plan(SamplerKind::ParentBasedTraceIdRatio, 0.0, false)
            .gate()
            .unwrap();
        assert_eq!(g.root, gate::Root::Never);
        let g = plan(SamplerKind::ParentBasedTraceIdRatio, 1.0, false)
            .gate()
            .unwrap();
        assert_eq!(g.root, gate::Root::Always);
    }

    #[test]
    fn the_tracer_shortcuts_follow_the_plan() {
        assert!(plan(SamplerKind::ParentBasedTraceIdRatio, 1.0, false).keeps_every_root());
        assert!(!plan(SamplerKind::ParentBasedTraceIdRatio, 0.5, false).keeps_every_root());
        assert!(!plan(SamplerKind::AlwaysOn, 1.0, true).keeps_every_root());
        assert!(!plan(SamplerKind::TraceIdRatio, 1.0, false).follows_sampled_parent());
    }
}
