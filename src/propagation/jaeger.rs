//! Jaeger's `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}` (Jaeger client
//! libraries' wire format, which OpenTelemetry's `jaeger` propagator reads and writes).
//!
//! Receivers left-pad short ids (the format allows leading zeros to be dropped), ignore the
//! deprecated parent id, and read the sampled flag `0x01` alone: debug (`0x02`) is defined only
//! together with it, and Python's SDK writes its W3C random flag (`0x02`) into that bit for
//! unsampled traces, so reading `0x02` alone as "sampled" would turn its unsampled traces on.
//! A value whose colons arrived percent-encoded (`%3A`) is decoded first. Sent as
//! `{trace}:{span}:0:{01|00}`. Jaeger's baggage headers (`uberctx-*`) are not carried: use the
//! W3C `baggage` propagator beside it.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};

use super::{Extract, Inject, Sampling, id_from_hex, remote};

pub(crate) const HEADER: &str = "uber-trace-id";
const INPUT_MAX: usize = 128;

/// The context of `uber-trace-id`; `None` when it is absent or invalid.
pub(crate) fn extract<C: Extract + ?Sized>(
    carrier: &C,
    defer: impl Fn(&SpanContext) -> bool,
) -> Option<SpanContext> {
    let values = carrier.get_all(HEADER);
    let raw = values.first()?.trim();
    if raw.len() > INPUT_MAX {
        return None;
    }
    let decoded;
    let value = if !raw.contains(':') && (raw.contains("%3A") || raw.contains("%3a")) {
        decoded = raw.replace("%3A", ":").replace("%3a", ":");
        decoded.as_str()
    } else {
        raw
    };
    let mut parts = value.split(':');
    let (trace, span, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || flags.is_empty() || flags.len() > 2 {
        return None;
    }
    // The parent id is deprecated and unused, but a malformed one makes the header invalid;
    // a root's is zero, written `0` or as 16 zeros (Python's SDK).
    let zero = !parent.is_empty() && parent.len() <= 16 && parent.bytes().all(|b| b == b'0');
    if !zero {
        id_from_hex::<8>(parent, 16)?;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let sampling = if flags & 0x01 != 0 {
        Sampling::Sampled
    } else {
        Sampling::NotSampled
    };
    let sc = SpanContext::new(
        TraceId::from_bytes(id_from_hex::<16>(trace, 32)?),
        SpanId::from_bytes(id_from_hex::<8>(span, 16)?),
        TraceFlags::default(),
        true,
        Default::default(),
    );
    Some(remote(sc, sampling, defer))
}

/// `uber-trace-id: {trace}:{span}:0:{01|00}`.
pub(crate) fn inject<C: Inject + ?Sized>(sc: &SpanContext, carrier: &mut C) {
    let flags = if sc.is_sampled() { "01" } else { "00" };
    carrier.set(
        HEADER,
        format!("{}:{}:0:{flags}", sc.trace_id(), sc.span_id()),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(v: &str) -> Option<(String, String, bool)> {
        let h: HashMap<String, String> = [(HEADER.to_string(), v.to_string())].into();
        extract(&h, |_| false).map(|sc| {
            (
                sc.trace_id().to_string(),
                sc.span_id().to_string(),
                sc.is_sampled(),
            )
        })
    }

    #[test]
    fn reads_the_jaeger_format() {
        let got = read("80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:05e3ac9a4f6e3b90:1");
        assert_eq!(
            got,
            Some((
                "80f198ee56343ba864fe8b2a57d3eff7".into(),
                "e457b5a2e4d86bd1".into(),
                true
            ))
        );
        assert!(!read("80f198ee56343ba8:e457b5a2e4d86bd1:0:0").unwrap().2);
        assert!(
            read("80f198ee56343ba8:e457b5a2e4d86bd1:0:3").unwrap().2,
            "debug"
        );
        assert!(
            !read("80f198ee56343ba8:e457b5a2e4d86bd1:0:2").unwrap().2,
            "debug alone is not sampled"
        );
        assert!(
            read("80f198ee56343ba8%3Ae457b5a2e4d86bd1%3A0%3A1")
                .unwrap()
                .2
        );
    }

    #[test]
    fn short_ids_are_left_padded() {
        let (trace, span, _) = read("abc:def:0:1").unwrap();
        assert_eq!(trace, format!("{}abc", "0".repeat(29)));
        assert_eq!(span, format!("{}def", "0".repeat(13)));
    }

    #[test]
    fn garbage_starts_nothing() {
        for bad in [
            "",
            "1:2:3",
            "0:e457b5a2e4d86bd1:0:1",
            "abc:0:0:1",
            "abc:def:0:1:5",
            "abc:def:0:zz",
            "abc:def:0:",
            "abc:def:0:100",
            "xyz:def:0:1",
            &format!("{}:def:0:1", "a".repeat(33)),
            &"a:".repeat(100),
        ] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn inject_round_trips() {
        let v = "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:01";
        let h: HashMap<String, String> = [(HEADER.to_string(), v.to_string())].into();
        let sc = extract(&h, |_| false).unwrap();
        let mut out = HashMap::new();
        inject(&sc, &mut out);
        assert_eq!(out[HEADER], v);
    }
}
