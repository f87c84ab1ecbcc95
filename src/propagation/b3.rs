//! Zipkin's B3 headers (openzipkin/b3-propagation), as the OpenTelemetry specification's B3
//! requirements read them: the single `b3` header first, then the `X-B3-*` headers; debug
//! means sampled; `X-B3-ParentSpanId` is never sent and, when received, never used; a 64-bit
//! trace id is left-padded with zeros. `b3` injects the single header, `b3multi` the
//! `X-B3-*` ones.

use opentelemetry::trace::{SpanContext, TraceFlags};

use super::{Extract, Inject, Sampling, id_from_hex, remote};

pub(crate) const SINGLE: &str = "b3";
pub(crate) const TRACE_ID: &str = "x-b3-traceid";
pub(crate) const SPAN_ID: &str = "x-b3-spanid";
pub(crate) const SAMPLED: &str = "x-b3-sampled";
pub(crate) const FLAGS: &str = "x-b3-flags";
/// Longest value examined: `{32}-{16}-d-{16}` is 68 characters.
const INPUT_MAX: usize = 128;

/// The context of the `b3` header, else of the `X-B3-*` headers; `None` when neither holds
/// valid ids (a sampling state alone, `b3: 0`, starts nothing here). `defer` decides a trace
/// whose caller left the decision to this service.
pub(crate) fn extract<C: Extract + ?Sized>(
    carrier: &C,
    defer: impl Fn(&SpanContext) -> bool,
) -> Option<SpanContext> {
    let (sc, sampling) = single(carrier).or_else(|| multi(carrier))?;
    Some(remote(sc, sampling, defer))
}

fn single<C: Extract + ?Sized>(carrier: &C) -> Option<(SpanContext, Sampling)> {
    let values = carrier.get_all(SINGLE);
    let value = values.first()?.trim();
    if value.len() > INPUT_MAX {
        return None;
    }
    let mut parts = value.split('-');
    let (trace, span) = (parts.next()?, parts.next()?);
    let sampling = match parts.next() {
        None => Sampling::Deferred,
        Some("1" | "d") => Sampling::Sampled,
        Some("0") => Sampling::NotSampled,
        Some(_) => return None,
    };
    // The parent span id, if any, must still be an id; nothing may follow it.
    if let Some(parent) = parts.next() {
        id_from_hex::<8>(parent, 16)?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((ids(trace, span)?, sampling))
}

fn multi<C: Extract + ?Sized>(carrier: &C) -> Option<(SpanContext, Sampling)> {
    // The first value of each header wins, as the B3 specification says.
    let first = |name| carrier.get_all(name).first().map(|v| v.trim());
    let (trace, span) = (first(TRACE_ID)?, first(SPAN_ID)?);
    if trace.len() > INPUT_MAX || span.len() > INPUT_MAX {
        return None;
    }
    let sampling = if first(FLAGS) == Some("1") {
        Sampling::Sampled
    } else {
        match first(SAMPLED) {
            None => Sampling::Deferred,
            Some(s) if s == "1" || s.eq_ignore_ascii_case("true") => Sampling::Sampled,
            Some(s) if s == "0" || s.eq_ignore_ascii_case("false") => Sampling::NotSampled,
            Some(_) => return None,
        }
    };
    Some((ids(trace, span)?, sampling))
}

/// A 16- or 32-digit trace id and a 16-digit span id.
fn ids(trace: &str, span: &str) -> Option<SpanContext> {
    if trace.len() != 16 && trace.len() != 32 || span.len() != 16 {
        return None;
    }
    let trace_id = id_from_hex::<16>(trace, 32)?;
    let span_id = id_from_hex::<8>(span, 16)?;
    Some(SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes(trace_id),
        opentelemetry::trace::SpanId::from_bytes(span_id),
        TraceFlags::default(),
        true,
        Default::default(),
    ))
}

/// `b3: {trace}-{span}-{1|0}`.
pub(crate) fn inject_single<C: Inject + ?Sized>(sc: &SpanContext, carrier: &mut C) {
    let sampled = if sc.is_sampled() { '1' } else { '0' };
    carrier.set(
        SINGLE,
        format!("{}-{}-{sampled}", sc.trace_id(), sc.span_id()),
    );
}

/// `X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`.
pub(crate) fn inject_multi<C: Inject + ?Sized>(sc: &SpanContext, carrier: &mut C) {
    carrier.set(TRACE_ID, sc.trace_id().to_string());
    carrier.set(SPAN_ID, sc.span_id().to_string());
    carrier.set(SAMPLED, if sc.is_sampled() { "1" } else { "0" }.into());
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn read(pairs: &[(&str, &str)]) -> Option<(String, String, bool)> {
        extract(&headers(pairs), |_| false).map(|sc| {
            (
                sc.trace_id().to_string(),
                sc.span_id().to_string(),
                sc.is_sampled(),
            )
        })
    }

    const T: &str = "80f198ee56343ba864fe8b2a57d3eff7";
    const S: &str = "e457b5a2e4d86bd1";

    #[test]
    fn single_header_states() {
        for (state, sampled) in [("-1", true), ("-d", true), ("-0", false), ("", false)] {
            let v = format!("{T}-{S}{state}");
            assert_eq!(
                read(&[("b3", &v)]),
                Some((T.into(), S.into(), sampled)),
                "{v}"
            );
        }
        let with_parent = format!("{T}-{S}-1-05e3ac9a4f6e3b90");
        assert!(read(&[("b3", &with_parent)]).unwrap().2);
    }

    #[test]
    fn a_64_bit_trace_id_is_left_padded() {
        let v = format!("{}-{S}-1", &T[16..]);
        let (trace, _, _) = read(&[("b3", &v)]).unwrap();
        assert_eq!(trace, format!("0000000000000000{}", &T[16..]));
    }

    #[test]
    fn multi_headers_and_debug() {
        let got = read(&[
            ("X-B3-TraceId", T),
            ("X-B3-SpanId", S),
            ("X-B3-Sampled", "1"),
        ]);
        assert_eq!(got, Some((T.into(), S.into(), true)));
        let got = read(&[("x-b3-traceid", T), ("x-b3-spanid", S), ("x-b3-flags", "1")]);
        assert!(got.unwrap().2, "debug means sampled");
        let got = read(&[
            ("x-b3-traceid", T),
            ("x-b3-spanid", S),
            ("x-b3-sampled", "true"),
        ]);
        assert!(got.unwrap().2);
    }

    #[test]
    fn single_wins_over_multi() {
        let v = format!("{T}-{S}-0");
        let got = read(&[
            ("b3", &v),
            ("x-b3-traceid", "a".repeat(32).as_str()),
            ("x-b3-spanid", S),
        ]);
        assert_eq!(got.unwrap().0, T);
    }

    #[test]
    fn garbage_starts_nothing() {
        let long = "a".repeat(500);
        for bad in [
            "0",
            "1",
            "",
            "xyz",
            &format!("{T}-{S}-2"),
            &format!("{T}-{S}-1-zz"),
            &format!("{T}-{S}-1-{S}-extra"),
            &format!("{}-{S}-1", "0".repeat(32)),
            &format!("{T}-{}-1", "0".repeat(16)),
            &format!("{}-{S}-1", &T[..20]),
            &format!("{T}-{S}\n-1"),
            &long,
        ] {
            assert_eq!(read(&[("b3", bad)]), None, "{bad:?}");
        }
        assert_eq!(read(&[("x-b3-traceid", T)]), None, "no span id");
    }

    #[test]
    fn deferred_is_decided_here() {
        let v = format!("{T}-{S}");
        let sc = extract(&headers(&[("b3", &v)]), |_| true).unwrap();
        assert!(sc.is_sampled());
    }

    #[test]
    fn inject_round_trips() {
        let sc = extract(&headers(&[("b3", &format!("{T}-{S}-1"))]), |_| false).unwrap();
        let mut single = HashMap::new();
        inject_single(&sc, &mut single);
        assert_eq!(single["b3"], format!("{T}-{S}-1"));
        let mut multi: HashMap<String, String> = HashMap::new();
        inject_multi(&sc, &mut multi);
        assert_eq!(multi["x-b3-traceid"], T);
        assert_eq!(multi["x-b3-spanid"], S);
        assert_eq!(multi["x-b3-sampled"], "1");
        assert!(!multi.contains_key("x-b3-parentspanid"));
    }
}
