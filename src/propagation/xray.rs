//! AWS X-Ray's `X-Amzn-Trace-Id: Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled={0|1|?}`.
//!
//! The W3C trace id is the root without its version and dashes (and back); `Parent` is the span
//! id; `Sampled=?` (or no `Sampled`) leaves the decision to this service. Other keys (`Self`,
//! `Lineage`) are allowed and not carried. Ids made by tracewire are random, so the time
//! X-Ray reads from a root's first 8 digits is not a real one: AWS X-Ray accepts such W3C ids
//! today; a service that needs time-based roots sets an id generator of its own.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};

use super::{Extract, Inject, Sampling, id_from_hex, remote};

pub(crate) const HEADER: &str = "x-amzn-trace-id";
/// Room for `Lineage` and `Self` beside the three keys tracewire reads.
const INPUT_MAX: usize = 1024;

/// The context of `X-Amzn-Trace-Id`; `None` when it is absent or has no valid root and parent.
pub(crate) fn extract<C: Extract + ?Sized>(
    carrier: &C,
    defer: impl Fn(&SpanContext) -> bool,
) -> Option<SpanContext> {
    let values = carrier.get_all(HEADER);
    let value = values.first()?.trim();
    if value.len() > INPUT_MAX {
        return None;
    }
    let (mut root, mut parent, mut sampling) = (None, None, Sampling::Deferred);
    for part in value.split(';') {
        let (k, v) = part.split_once('=')?;
        match k.trim() {
            "Root" => root = Some(v.trim()),
            "Parent" => parent = Some(v.trim()),
            "Sampled" => {
                sampling = match v.trim() {
                    "1" => Sampling::Sampled,
                    "0" => Sampling::NotSampled,
                    "?" => Sampling::Deferred,
                    _ => return None,
                }
            }
            _ => {}
        }
    }
    let root = root?;
    let (version, rest) = root.split_once('-')?;
    let (time, random) = rest.split_once('-')?;
    if version != "1" || time.len() != 8 || random.len() != 24 {
        return None;
    }
    let mut trace = [0u8; 32];
    trace[..8].copy_from_slice(time.as_bytes());
    trace[8..].copy_from_slice(random.as_bytes());
    let trace = std::str::from_utf8(&trace).ok()?;
    let parent = parent?;
    if parent.len() != 16 {
        return None;
    }
    let sc = SpanContext::new(
        TraceId::from_bytes(id_from_hex::<16>(trace, 32)?),
        SpanId::from_bytes(id_from_hex::<8>(parent, 16)?),
        TraceFlags::default(),
        true,
        Default::default(),
    );
    Some(remote(sc, sampling, defer))
}

/// `X-Amzn-Trace-Id: Root=1-{8}-{24};Parent={16};Sampled={1|0}`.
pub(crate) fn inject<C: Inject + ?Sized>(sc: &SpanContext, carrier: &mut C) {
    let trace = sc.trace_id().to_string();
    carrier.set(
        "X-Amzn-Trace-Id",
        format!(
            "Root=1-{}-{};Parent={};Sampled={}",
            &trace[..8],
            &trace[8..],
            sc.span_id(),
            if sc.is_sampled() { '1' } else { '0' }
        ),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const V: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn read(v: &str, defer: bool) -> Option<(String, String, bool)> {
        let h: HashMap<String, String> = [(HEADER.to_string(), v.to_string())].into();
        extract(&h, |_| defer).map(|sc| {
            (
                sc.trace_id().to_string(),
                sc.span_id().to_string(),
                sc.is_sampled(),
            )
        })
    }

    #[test]
    fn reads_the_xray_format() {
        assert_eq!(
            read(V, false),
            Some((
                "5759e988bd862e3fe1be46a994272793".into(),
                "53995c3f42cd8ad8".into(),
                true
            ))
        );
        let other_order = "Sampled=0;Self=1-67891234-12456789abcdef012345678;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a87bd80c:1|68fd508a:5";
        assert!(!read(other_order, true).unwrap().2);
        let deferred = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?";
        assert!(read(deferred, true).unwrap().2);
        assert!(!read(deferred, false).unwrap().2);
    }

    #[test]
    fn garbage_starts_nothing() {
        for bad in [
            "",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e98-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a99427279x;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=yes",
            "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
            "Root;Parent",
            &format!("{V};Lineage={}", "a".repeat(2000)),
        ] {
            assert_eq!(read(bad, false), None, "{bad:?}");
        }
    }

    #[test]
    fn inject_round_trips() {
        let h: HashMap<String, String> = [(HEADER.to_string(), V.to_string())].into();
        let sc = extract(&h, |_| false).unwrap();
        let mut out: HashMap<String, String> = HashMap::new();
        inject(&sc, &mut out);
        assert_eq!(out["X-Amzn-Trace-Id"], V);
    }
}
