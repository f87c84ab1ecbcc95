//! The tail rule: keep every error and every slow request, whatever the head sampler said.
//!
//! With `keep_errors` or `slow_threshold_ms`, spans the head sampler would drop are recorded
//! anyway (RecordOnly) and held here, per trace, until the trace's local root ends. The trace is
//! then exported if any of its spans has status Error (`keep_errors`) or the root took at least
//! `slow_threshold_ms`; otherwise it is discarded, as sampling intends (not counted as a loss).
//! Services downstream already saw the head decision (`trace_flags` 00): they keep or drop their
//! part on their own.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::trace::{SpanContext, SpanId, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

use super::Counters;

/// What the rule keeps, and how much it may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) keep_errors: bool,
    pub(crate) slow: Option<Duration>,
    pub(crate) max_spans: usize,
}

#[derive(Debug)]
pub(crate) struct Tail {
    rule: Rule,
    traces: HashMap<TraceId, Vec<SpanData>>,
    held: usize,
    /// Recent decisions, for spans that end after their local root (detached tasks).
    decided: HashMap<TraceId, bool>,
    order: VecDeque<TraceId>,
}

const DECISIONS_KEPT: usize = 4096;

impl Tail {
    pub(crate) fn new(rule: Rule) -> Tail {
        Tail {
            rule,
            traces: HashMap::new(),
            held: 0,
            decided: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Takes an unsampled but recorded span; returns the spans to export now (marked sampled).
    pub(crate) fn on_end(&mut self, span: SpanData, counters: &Counters) -> Vec<SpanData> {
        let trace_id = span.span_context.trace_id();
        if let Some(&keep) = self.decided.get(&trace_id) {
            return if keep {
                vec![sampled(span)]
            } else {
                Vec::new()
            };
        }
        let local_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
        if !local_root {
            if self.held >= self.rule.max_spans {
                counters.dropped_tail_buffer.fetch_add(1, Ordering::Relaxed);
                return Vec::new();
            }
            self.held += 1;
            self.traces.entry(trace_id).or_default().push(span);
            return Vec::new();
        }
        let mut spans = self.traces.remove(&trace_id).unwrap_or_default();
        self.held -= spans.len();
        let slow = self.rule.slow.is_some_and(|t| {
            span.end_time
                .duration_since(span.start_time)
                .unwrap_or_default()
                >= t
        });
        spans.push(span);
        let error = self.rule.keep_errors
            && spans
                .iter()
                .any(|s| matches!(s.status, Status::Error { .. }));
        let keep = slow || error;
        self.decided.insert(trace_id, keep);
        self.order.push_back(trace_id);
        if self.order.len() > DECISIONS_KEPT
            && let Some(old) = self.order.pop_front()
        {
            self.decided.remove(&old);
        }
        if keep {
            spans.into_iter().map(sampled).collect()
        } else {
            Vec::new()
        }
    }
}

fn sampled(mut span: SpanData) -> SpanData {
    let sc = &span.span_context;
    span.span_context = SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().with_sampled(true),
        sc.is_remote(),
        sc.trace_state().clone(),
    );
    span
}
