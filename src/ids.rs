//! Trace and span ids: a per-thread SplitMix64 generator, no lock and no system call per id.
//!
//! The OpenTelemetry SDK's `RandomIdGenerator` goes through `rand`'s thread RNG; tracewire makes
//! ids for spans the SDK never sees (unsampled spans, see `sampling`), on the hot path of every
//! span, so it keeps a 64-bit state per thread seeded from the standard library's random hasher
//! keys. Ids are random, not secret: W3C Trace Context Level 2 asks for random trace ids (flag
//! `02`), which these are, not for unpredictability against an attacker.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering;

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

/// W3C Trace Context Level 2's `random` flag: set on every trace tracewire starts.
pub(crate) const RANDOM: TraceFlags = TraceFlags::new(0x02);

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
pub(crate) fn next_u64() -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct() {
        assert_ne!(new_trace_id(), new_trace_id());
        assert_ne!(new_span_id(), new_span_id());
        assert_ne!(new_trace_id(), TraceId::INVALID);
    }
}
