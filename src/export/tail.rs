//! The tail rule: keep every error and every slow request, whatever the head sampler said.
//!
//! With `keep_errors` or `slow_threshold_ms`, spans the head sampler would drop are recorded
//! anyway (RecordOnly) and held here, per trace, until the trace's local root ends. The trace is
//! then exported if any of its spans has status Error (`keep_errors`) or the root took at least
//! `slow_threshold_ms` from its start to its close (not to its last exit: a root held open while
//! its children work is as slow as it looks); otherwise it is discarded, as sampling intends (not
//! counted as a loss). Services downstream already saw the head decision (`trace_flags` 00): they
//! keep or drop their part on their own.
//!
//! The buffer is bounded in spans (`tail_max_buffered_spans`) and bytes
//! (`tail_max_buffered_bytes`), and shared fairly: when it is full, the trace holding the most
//! gives up its latest spans, so one runaway trace (a root that never ends, with thousands of
//! children) cannot starve the others. A trace undecided for [`MAX_AGE`] is evicted. Everything
//! evicted or refused is counted in `dropped_tail_buffer`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

use super::Counters;
use crate::sampling::TailRule as Rule;

/// A trace whose local root has not ended after this long is evicted: its spans were held for
/// a decision that is not coming (a root leaked or held for the process's life).
pub(crate) const MAX_AGE: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
struct Held {
    spans: Vec<(SpanData, usize)>,
    bytes: usize,
}

#[derive(Debug)]
pub(crate) struct Tail {
    rule: Rule,
    traces: HashMap<TraceId, Held>,
    /// When each undecided trace was first seen, oldest first (entries of decided traces are
    /// skipped when they come up).
    ages: VecDeque<(Instant, TraceId)>,
    held_spans: usize,
    held_bytes: usize,
    /// Recent decisions, for spans that end after their local root (detached tasks).
    decided: HashMap<TraceId, bool>,
    order: VecDeque<TraceId>,
    /// The trace holding the most spans (kept up to date on insert; found again by a scan only
    /// when it leaves), so that making room costs no scan of every trace.
    largest: Option<TraceId>,
    /// Undecided traces a callee's `traceresponse` said to keep, oldest first (bounded as the
    /// decisions are).
    promoted: VecDeque<TraceId>,
}

/// What a callee's "keep this trace" came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Promotion {
    /// Now kept because of it.
    Promoted,
    /// Kept already (an error here, or another callee said so first).
    Already,
    /// Its local root ended, dropped, before the answer came.
    TooLate,
    /// Over the per-second cap.
    Refused,
}

const DECISIONS_KEPT: usize = 4096;

impl Tail {
    pub(crate) fn new(rule: Rule) -> Tail {
        Tail {
            rule,
            traces: HashMap::new(),
            ages: VecDeque::new(),
            held_spans: 0,
            held_bytes: 0,
            decided: HashMap::new(),
            order: VecDeque::new(),
            largest: None,
            promoted: VecDeque::new(),
        }
    }

    /// A callee kept `trace_id` (its `traceresponse` said sampled): keep it here too when its
    /// local root ends, if `allow()` (the per-second cap) agrees.
    pub(crate) fn promote(&mut self, trace_id: TraceId, allow: impl FnOnce() -> bool) -> Promotion {
        match self.decided.get(&trace_id) {
            Some(true) => return Promotion::Already,
            Some(false) => return Promotion::TooLate,
            None => {}
        }
        if self.promoted.contains(&trace_id) || self.has_error(&trace_id) {
            return Promotion::Already;
        }
        if !allow() {
            return Promotion::Refused;
        }
        self.promoted.push_back(trace_id);
        if self.promoted.len() > DECISIONS_KEPT {
            self.promoted.pop_front();
        }
        Promotion::Promoted
    }

    /// Whether `trace_id` is kept as things stand: promoted by a callee, decided kept, or (with
    /// `keep_errors`) holding an error already.
    pub(crate) fn keeps(&self, trace_id: TraceId) -> bool {
        self.decided.get(&trace_id) == Some(&true)
            || self.promoted.contains(&trace_id)
            || self.has_error(&trace_id)
    }

    fn has_error(&self, trace_id: &TraceId) -> bool {
        self.rule.keep_errors
            && self.traces.get(trace_id).is_some_and(|h| {
                h.spans
                    .iter()
                    .any(|(s, _)| matches!(s.status, Status::Error { .. }))
            })
    }

    fn count(&self, t: &TraceId) -> usize {
        self.traces.get(t).map_or(0, |h| h.spans.len())
    }

    /// The trace holding the most spans.
    fn largest(&mut self) -> Option<TraceId> {
        if let Some(l) = self.largest
            && self.traces.contains_key(&l)
        {
            return Some(l);
        }
        self.largest = self
            .traces
            .iter()
            .max_by_key(|(_, h)| (h.spans.len(), h.bytes))
            .map(|(t, _)| *t);
        self.largest
    }

    /// Takes an unsampled but recorded span, already bounded in size (`size` bytes), that ended
    /// (closed) at `closed`; returns the spans to export now (marked sampled).
    pub(crate) fn on_end(
        &mut self,
        span: SpanData,
        size: usize,
        closed: SystemTime,
        counters: &Counters,
    ) -> Vec<SpanData> {
        self.on_end_at(span, size, closed, Instant::now(), counters)
    }

    fn on_end_at(
        &mut self,
        span: SpanData,
        size: usize,
        closed: SystemTime,
        now: Instant,
        counters: &Counters,
    ) -> Vec<SpanData> {
        let trace_id = span.span_context.trace_id();
        if let Some(&keep) = self.decided.get(&trace_id) {
            return if keep {
                vec![sampled(span)]
            } else {
                Vec::new()
            };
        }
        self.evict_old(now, counters);
        let local_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
        if !local_root {
            self.hold(trace_id, span, size, now, counters);
            return Vec::new();
        }
        let held = self.traces.remove(&trace_id).unwrap_or_default();
        self.held_spans -= held.spans.len();
        self.held_bytes -= held.bytes;
        let slow = self.rule.slow.is_some_and(|t| {
            let end = closed.max(span.end_time);
            end.duration_since(span.start_time).unwrap_or_default() >= t
        });
        let mut spans: Vec<SpanData> = held.spans.into_iter().map(|(s, _)| s).collect();
        spans.push(span);
        let error = self.rule.keep_errors
            && spans
                .iter()
                .any(|s| matches!(s.status, Status::Error { .. }));
        let promoted = match self.promoted.iter().position(|t| *t == trace_id) {
            Some(i) => {
                self.promoted.remove(i);
                true
            }
            None => false,
        };
        let keep = slow || error || promoted;
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

    /// Holds a span of an undecided trace, making room fairly when the buffer is full.
    fn hold(
        &mut self,
        trace_id: TraceId,
        span: SpanData,
        size: usize,
        now: Instant,
        counters: &Counters,
    ) {
        let dropped = |n: usize| {
            counters
                .dropped_tail_buffer
                .fetch_add(n as u64, Ordering::Relaxed)
        };
        if size > self.rule.max_bytes {
            dropped(1);
            return;
        }
        let own = self.count(&trace_id);
        while self.held_spans + 1 > self.rule.max_spans
            || self.held_bytes + size > self.rule.max_bytes
        {
            // The trace holding the most pays: if that is this span's own trace, the new span
            // is the one refused.
            let Some(largest) = self.largest() else {
                break;
            };
            if largest == trace_id || self.count(&largest) <= own {
                dropped(1);
                return;
            }
            let h = self.traces.get_mut(&largest).expect("found above");
            let (_, freed) = h.spans.pop().expect("a held trace has spans");
            h.bytes -= freed;
            self.held_spans -= 1;
            self.held_bytes -= freed;
            if h.spans.is_empty() {
                self.traces.remove(&largest);
            }
            dropped(1);
        }
        let h = self.traces.entry(trace_id).or_insert_with(|| {
            self.ages.push_back((now, trace_id));
            Held::default()
        });
        h.spans.push((span, size));
        h.bytes += size;
        let n = h.spans.len();
        self.held_spans += 1;
        self.held_bytes += size;
        if self
            .largest
            .is_none_or(|l| l == trace_id || self.count(&l) < n)
        {
            self.largest = Some(trace_id);
        }
    }

    /// Evicts undecided traces first seen more than [`MAX_AGE`] ago.
    fn evict_old(&mut self, now: Instant, counters: &Counters) {
        while let Some(&(seen, trace_id)) = self.ages.front() {
            if now.saturating_duration_since(seen) < MAX_AGE {
                break;
            }
            self.ages.pop_front();
            if let Some(h) = self.traces.remove(&trace_id) {
                self.held_spans -= h.spans.len();
                self.held_bytes -= h.bytes;
                counters
                    .dropped_tail_buffer
                    .fetch_add(h.spans.len() as u64, Ordering::Relaxed);
            }
        }
        // Entries of traces decided meanwhile would otherwise pile up.
        if self.ages.len() > 4 * (self.traces.len() + DECISIONS_KEPT) {
            let traces = &self.traces;
            self.ages.retain(|(_, t)| traces.contains_key(t));
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{SpanKind, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    fn span(trace: u128, id: u64, parent: u64) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace),
                SpanId::from(id),
                TraceFlags::default(),
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "s".into(),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    fn rule(max_spans: usize) -> Rule {
        Rule {
            keep_errors: true,
            slow: None,
            max_spans,
            max_bytes: usize::MAX,
        }
    }

    #[test]
    fn the_largest_trace_pays_for_room() {
        let c = Counters::default();
        let mut tail = Tail::new(rule(10));
        let t0 = Instant::now();
        for i in 0..50 {
            tail.on_end_at(span(1, 100 + i, 1), 10, SystemTime::UNIX_EPOCH, t0, &c);
        }
        assert_eq!(
            tail.count(&TraceId::from(1)),
            10,
            "the runaway fills the buffer"
        );
        for i in 0..5 {
            tail.on_end_at(span(2, 200 + i, 2), 10, SystemTime::UNIX_EPOCH, t0, &c);
        }
        assert_eq!(
            tail.count(&TraceId::from(2)),
            5,
            "another trace still gets room"
        );
        assert_eq!(tail.count(&TraceId::from(1)), 5);
        assert_eq!(tail.held_spans, 10);
        assert_eq!(c.dropped_tail_buffer.load(Ordering::Relaxed), 45);
        // Its error decides it, with every span it had.
        let mut root = span(2, 2, 0);
        root.status = Status::error("boom");
        let kept = tail.on_end_at(root, 10, SystemTime::UNIX_EPOCH, t0, &c);
        assert_eq!(kept.len(), 6);
    }

    #[test]
    fn a_promoted_trace_is_kept_when_its_root_ends() {
        let c = Counters::default();
        let mut tail = Tail::new(rule(100));
        let t0 = Instant::now();
        tail.on_end_at(span(1, 11, 1), 10, SystemTime::UNIX_EPOCH, t0, &c);
        assert!(!tail.keeps(TraceId::from(1)));
        assert_eq!(tail.promote(TraceId::from(1), || false), Promotion::Refused);
        assert_eq!(tail.promote(TraceId::from(1), || true), Promotion::Promoted);
        assert_eq!(tail.promote(TraceId::from(1), || true), Promotion::Already);
        assert!(tail.keeps(TraceId::from(1)));
        let kept = tail.on_end_at(span(1, 1, 0), 10, SystemTime::UNIX_EPOCH, t0, &c);
        assert_eq!(kept.len(), 2, "the root and what was held");
        // Another trace ends unpromoted: dropped; a promotion after that is too late.
        tail.on_end_at(span(2, 2, 0), 10, SystemTime::UNIX_EPOCH, t0, &c);
        assert_eq!(tail.promote(TraceId::from(2), || true), Promotion::TooLate);
    }

    #[test]
    fn undecided_traces_are_evicted_by_age() {
        let c = Counters::default();
        let mut tail = Tail::new(rule(100));
        let t0 = Instant::now();
        tail.on_end_at(span(1, 11, 1), 10, SystemTime::UNIX_EPOCH, t0, &c);
        tail.on_end_at(span(1, 12, 1), 10, SystemTime::UNIX_EPOCH, t0, &c);
        let later = t0 + MAX_AGE + Duration::from_secs(1);
        tail.on_end_at(span(2, 21, 2), 10, SystemTime::UNIX_EPOCH, later, &c);
        assert_eq!(tail.count(&TraceId::from(1)), 0);
        assert_eq!(tail.held_spans, 1);
        assert_eq!(c.dropped_tail_buffer.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_byte_budget_holds_too() {
        let c = Counters::default();
        let mut tail = Tail::new(Rule {
            max_bytes: 100,
            ..rule(1_000)
        });
        let t0 = Instant::now();
        for i in 0..20 {
            tail.on_end_at(span(1, 100 + i, 1), 30, SystemTime::UNIX_EPOCH, t0, &c);
        }
        assert_eq!(tail.held_bytes, 90);
        assert_eq!(c.dropped_tail_buffer.load(Ordering::Relaxed), 17);
    }
}
