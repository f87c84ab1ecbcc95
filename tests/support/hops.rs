//! What the propagation matrices (`propagation_http_matrix`, `propagation_nats_matrix`) send and
//! expect: the incoming contexts, and what the specification says must come out of a hop.

use std::collections::BTreeSet;

/// Valid under Trace Context Level 2's key grammar (`@` anywhere after the first character),
/// including keys that OpenTelemetry's stricter `tenant@system` reading rejects.
pub const STATE: &str = "congo=t61rcWkgMzE,foo@bar@baz=1,t0123456789abcdef@vendor-with-a-long-name=x,rojo=00f067aa0ba902b7,foo@=v a";
pub const BAGGAGE: &str = "user.id=42,tenant=acme%20corp;prop=1";
/// The caller's span id in every incoming `traceparent`.
pub const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// What arrives at the first hop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Incoming {
    Nothing,
    /// A valid `traceparent` with these flags, `tracestate` and `baggage`.
    Flags(u8),
    /// `baggage` and no trace context.
    BaggageOnly,
    /// An uppercase trace id (invalid: a new trace; `tracestate` dropped), and `baggage`.
    Invalid,
}

pub const ALL: [Incoming; 7] = [
    Incoming::Nothing,
    Incoming::Flags(0x00),
    Incoming::Flags(0x01),
    Incoming::Flags(0x02),
    Incoming::Flags(0x03),
    Incoming::BaggageOnly,
    Incoming::Invalid,
];

impl Incoming {
    /// `(name, value)` headers for a caller in trace `trace_id`.
    pub fn headers(self, trace_id: &str) -> Vec<(&'static str, String)> {
        let tp = |id: &str, f: u8| format!("00-{id}-{CALLER_SPAN}-{f:02x}");
        let mut h = vec![];
        match self {
            Incoming::Flags(f) => h.push(("traceparent", tp(trace_id, f))),
            Incoming::Invalid => h.push(("traceparent", tp(&trace_id.to_ascii_uppercase(), 1))),
            Incoming::Nothing | Incoming::BaggageOnly => {}
        }
        if matches!(self, Incoming::Flags(_) | Incoming::Invalid) {
            h.push(("tracestate", STATE.to_string()));
        }
        if self != Incoming::Nothing {
            h.push(("baggage", BAGGAGE.to_string()));
        }
        h
    }

    /// Level 2: a continued trace keeps the caller's random flag; tracewire's new trace ids are
    /// random, so a new trace sets it.
    pub fn random_flag(self, continued: bool) -> u8 {
        match self {
            Incoming::Flags(f) if continued => f & 0x02,
            _ => 0x02,
        }
    }

    /// The sampling decision the spec fixes, for a parent-based sampler at `rate`; `None` when
    /// it is a coin (a new trace at 0 < rate < 1).
    pub fn decision(self, continued: bool, rate: f64) -> Option<bool> {
        match self {
            Incoming::Flags(f) if continued => Some(f & 0x01 == 1),
            _ if rate >= 1.0 => Some(true),
            _ if rate <= 0.0 => Some(false),
            _ => None,
        }
    }
}

/// Baggage members, order aside (OpenTelemetry's baggage is a map).
pub fn baggage_members(baggage: &str) -> BTreeSet<String> {
    baggage.split(',').map(|m| m.trim().to_string()).collect()
}

/// Sampled and unsampled new traces counted at a ratio: both outcomes must appear.
#[derive(Debug, Default)]
pub struct Coins {
    pub sampled: usize,
    pub dropped: usize,
}

impl Coins {
    pub fn add(&mut self, sampled: bool) {
        if sampled {
            self.sampled += 1;
        } else {
            self.dropped += 1;
        }
    }

    /// With 100+ coins at 10%, the chance that one side never appears is below 1e-4.
    pub fn assert_both(&self, what: &str) {
        assert!(
            self.sampled > 0 && self.dropped > 0,
            "{what}: new traces sampled/not: {self:?}"
        );
    }
}
