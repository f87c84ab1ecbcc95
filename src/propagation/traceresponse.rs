//! TraceResponse sampling across services: W3C Trace Context Level 2's `traceresponse` response
//! header (`spec/21-http_response_header_format.md`, "Load Balancer TraceResponse Sampling"; a Level
//! 2 draft), on top of the tail rule.
//!
//! A server layer answers with `traceresponse: 00-{trace}-{its span}-{flags}` when this service
//! keeps a trace its caller did not sample: the head said no, but the tail rule will keep it (an
//! error, a slow request) or a callee said it kept its part. A client layer that reads a valid
//! `traceresponse` with the sampled flag, for its own trace, tells the tail rule's buffer to keep
//! the trace here too (the spans it holds, and the rest as they end), and this service's own
//! server layer then passes the word up. So a failure three hops down brings back the whole trace
//! without a tail-sampling collector, as long as every hop runs tracewire with the tail rule on.
//!
//! A callee is not trusted blindly: at most `traceresponse_max_promotions_per_second` traces a
//! second are promoted (a token bucket; the rest refused and counted), a value that is malformed,
//! for another trace or not sampled is ignored, and a request's own `traceresponse` is never sent
//! back (the server layer writes one of its own, or none).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt as _};

use crate::export::BatchProcessor;
use crate::export::tail::Promotion;
use crate::lock::LockExt as _;
use crate::settings::TraceResponseMode;

/// The response header's name.
pub(crate) const TRACERESPONSE: &str = "traceresponse";

/// What one stack does with `traceresponse`.
#[derive(Debug)]
pub(crate) struct TraceResponse {
    mode: TraceResponseMode,
    keep_errors: bool,
    slow: Option<Duration>,
    /// The tail rule's buffer: without it an unsampled trace's spans were never recorded, and a
    /// callee's answer cannot bring them back.
    processor: Option<Arc<BatchProcessor>>,
    bucket: Mutex<Bucket>,
}

/// A request that may get a `traceresponse` (see [`TraceResponse::begin`]).
#[derive(Debug)]
pub(crate) struct Pending {
    deferred: Arc<TraceResponse>,
    caller: SpanContext,
    restarted: bool,
    /// When the request started, for `slow_threshold_ms` (only taken with it).
    started: Option<Instant>,
}

impl Pending {
    /// The `traceresponse` to answer with, for the server span `span`, answered as `failed`
    /// (5xx, a failing gRPC status).
    pub(crate) fn value(&self, span: &tracing::Span, failed: bool) -> Option<String> {
        if span.is_none() {
            return None;
        }
        let d = &self.deferred;
        let cx = super::span_context(span);
        let sc = cx.span().span_context().clone();
        if !sc.is_valid() {
            return None;
        }
        let elapsed = self.started.map(|t| t.elapsed()).unwrap_or_default();
        let kept = sc.is_sampled() || d.tail_keeps(&sc, failed, elapsed);
        let send = match d.mode {
            TraceResponseMode::Off => false,
            TraceResponseMode::On => kept || self.restarted,
            TraceResponseMode::Changed => {
                self.restarted
                    || (kept
                        && self.caller.is_valid()
                        && !self.caller.is_sampled()
                        && self.caller.trace_id() == sc.trace_id())
            }
        };
        send.then(|| {
            let flags = (sc.trace_flags().to_u8() & 0x02) | u8::from(kept);
            format!("00-{}-{}-{flags:02x}", sc.trace_id(), sc.span_id())
        })
    }

    /// [`value`](Self::value) as a header value.
    #[cfg_attr(not(any(feature = "http-server", feature = "tonic")), allow(dead_code))]
    pub(crate) fn header(&self, span: &tracing::Span, failed: bool) -> Option<http::HeaderValue> {
        http::HeaderValue::try_from(self.value(span, failed)?).ok()
    }
}

/// Promotions allowed: `rate` a second, up to `rate` at once.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl TraceResponse {
    /// `mode` and at most `max_promotions_per_second`; `keep_errors` and `slow`: the tail rule's
    /// keys, for whether this service keeps a trace its caller did not sample; `processor`: the
    /// tail rule's buffer, which callees' answers promote traces in.
    pub(crate) fn new(
        mode: TraceResponseMode,
        max_promotions_per_second: u32,
        keep_errors: bool,
        slow: Option<Duration>,
        processor: Option<Arc<BatchProcessor>>,
    ) -> TraceResponse {
        let rate = f64::from(max_promotions_per_second);
        TraceResponse {
            mode,
            keep_errors,
            slow,
            processor,
            bucket: Mutex::new(Bucket {
                rate,
                tokens: rate,
                at: Instant::now(),
            }),
        }
    }

    /// The server side, when a request arrives with `incoming` (the caller's context;
    /// `has_traceparent`: whether it carried a `traceparent` header at all): what a
    /// `traceresponse` for it will need, or `None` when none can be sent, decided now so that the
    /// common cases cost nothing more: `changed` sends nothing to a caller that sampled, or that
    /// sent no trace at all.
    #[cfg_attr(
        not(any(feature = "http-server", feature = "tonic", feature = "actix-web")),
        allow(dead_code)
    )]
    pub(crate) fn begin(
        self: &Arc<Self>,
        incoming: &Context,
        has_traceparent: impl FnOnce() -> bool,
    ) -> Option<Pending> {
        if self.mode == TraceResponseMode::Off {
            return None;
        }
        let span = incoming.span();
        let caller = span.span_context();
        let caller_unsampled = caller.is_valid() && !caller.is_sampled();
        // A `traceparent` that was not valid: this is a new trace, which the answer says.
        let restarted = !caller.is_valid() && has_traceparent();
        if self.mode == TraceResponseMode::Changed && !restarted && !caller_unsampled {
            return None;
        }
        Some(Pending {
            deferred: Arc::clone(self),
            caller: caller.clone(),
            restarted,
            started: self.slow.map(|_| Instant::now()),
        })
    }

    /// Whether the tail rule keeps this unsampled trace, the server span's outcome included.
    fn tail_keeps(&self, sc: &SpanContext, failed: bool, elapsed: Duration) -> bool {
        let Some(p) = &self.processor else {
            return false;
        };
        (self.keep_errors && failed)
            || self.slow.is_some_and(|t| elapsed >= t)
            || p.keeps(sc.trace_id())
    }

    /// The client side: a callee answered `value` to the request of the client span `span`.
    pub(crate) fn callee_answered(&self, span: &tracing::Span, value: &str) {
        if self.mode == TraceResponseMode::Off {
            return;
        }
        let Some(p) = &self.processor else {
            return;
        };
        let Some((trace_id, _, flags)) = super::parse_traceresponse(value) else {
            return;
        };
        let cx = super::span_context(span);
        let sc = cx.span().span_context().clone();
        if !flags.is_sampled() || sc.trace_id() != trace_id || sc.is_sampled() {
            return;
        }
        let counters = p.counters();
        let outcome = p.promote(trace_id, || self.bucket.lock_or_recover().take());
        use std::sync::atomic::Ordering::Relaxed;
        match outcome {
            Some(Promotion::Promoted) => {
                counters.traces_promoted.fetch_add(1, Relaxed);
            }
            Some(Promotion::Refused | Promotion::TooLate) => {
                counters.promotions_refused.fetch_add(1, Relaxed);
            }
            Some(Promotion::Already) | None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_its_rate() {
        let mut b = Bucket {
            rate: 3.0,
            tokens: 3.0,
            at: Instant::now(),
        };
        let allowed = (0..10).filter(|_| b.take()).count();
        assert_eq!(allowed, 3);
        b.at -= Duration::from_secs(1);
        assert!(b.take(), "refilled after a second");
    }
}
