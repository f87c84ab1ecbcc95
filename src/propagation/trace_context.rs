//! W3C Trace Context: `traceparent` and `tracestate`, parsed as Level 1 says (with Level 2's
//! random flag kept), and written back the same way.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

pub(crate) const TRACEPARENT: &str = "traceparent";
pub(crate) const TRACESTATE: &str = "tracestate";

/// Sampled (Level 1) and random (Level 2): the flags this version defines. Others are zeroed
/// when propagated, as the spec asks of vendors that do not know them.
const KNOWN_FLAGS: u8 = 0x01 | 0x02;
const MAX_MEMBERS: usize = 32;
/// Longest `tracestate` propagated (the spec's recommended minimum to carry); longer lists
/// are truncated as the spec describes.
const TRACESTATE_MAX: usize = 512;
/// Input beyond this is not examined: headers from the internet can be arbitrarily long.
pub(crate) const INPUT_MAX: usize = 8192;

fn lower_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses one `traceparent` value; `None` when it is invalid (start a new trace).
pub(crate) fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let v = value.trim_matches([' ', '\t']);
    if v.len() < 55 || v.len() > INPUT_MAX || !v.is_ascii() {
        return None;
    }
    let (version, trace, parent, flags) = (&v[0..2], &v[3..35], &v[36..52], &v[53..55]);
    let b = v.as_bytes();
    if b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    if !lower_hex(version)
        || version == "ff"
        || !lower_hex(trace)
        || !lower_hex(parent)
        || !lower_hex(flags)
    {
        return None;
    }
    // Version 00 has exactly these fields; a higher version may append fields after a dash.
    if version == "00" && v.len() != 55 {
        return None;
    }
    if v.len() > 55 && b[55] != b'-' {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(parent).ok()?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()? & KNOWN_FLAGS;
    Some((trace_id, span_id, TraceFlags::new(flags)))
}

fn valid_key(k: &str) -> bool {
    let simple_char = |c: u8| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/')
    };
    match k.split_once('@') {
        None => {
            let b = k.as_bytes();
            !b.is_empty()
                && b.len() <= 256
                && b[0].is_ascii_lowercase()
                && b.iter().all(|&c| simple_char(c))
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            !t.is_empty()
                && t.len() <= 241
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && t.iter().all(|&c| simple_char(c))
                && !s.is_empty()
                && s.len() <= 14
                && s[0].is_ascii_lowercase()
                && s.iter().all(|&c| simple_char(c))
        }
    }
}

fn valid_value(v: &str) -> bool {
    // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
    let nblk = |c: u8| matches!(c, 0x21..=0x2B | 0x2D..=0x3C | 0x3E..=0x7E);
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && nblk(b[b.len() - 1])
        && b.iter().all(|&c| c == 0x20 || nblk(c))
}

/// Parses every `tracestate` value (repeated headers are joined). `None` when the list is
/// invalid: it is then dropped as a whole, the trace itself continues.
pub(crate) fn parse_tracestate(values: &[&str]) -> Option<TraceState> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut seen = 0usize;
    for value in values {
        seen += value.len() + 1;
        if seen > INPUT_MAX {
            return None;
        }
        for member in value.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (k, v) = member.split_once('=')?;
            if !valid_key(k) || !valid_value(v) || members.iter().any(|(k2, _)| *k2 == k) {
                return None;
            }
            members.push((k, v));
            if members.len() > MAX_MEMBERS {
                return None;
            }
        }
    }
    truncate(&mut members);
    TraceState::from_key_value(members).ok()
}

/// The spec's truncation: first drop members longer than 128 characters, then drop from the
/// right until the list fits.
fn truncate(members: &mut Vec<(&str, &str)>) {
    let len = |m: &[(&str, &str)]| {
        m.iter().map(|(k, v)| k.len() + v.len() + 1).sum::<usize>() + m.len().saturating_sub(1)
    };
    if len(members) <= TRACESTATE_MAX {
        return;
    }
    members.retain(|(k, v)| k.len() + v.len() < 128);
    while len(members) > TRACESTATE_MAX {
        members.pop();
    }
}

/// The remote span context of a `traceparent` (exactly one) and `tracestate` (any number).
pub(crate) fn extract(traceparents: &[&str], tracestates: &[&str]) -> Option<SpanContext> {
    let [one] = traceparents else {
        // Absent, or repeated: a repeated traceparent is invalid.
        return None;
    };
    let (trace_id, span_id, flags) = parse_traceparent(one)?;
    let state = parse_tracestate(tracestates).unwrap_or_default();
    Some(SpanContext::new(trace_id, span_id, flags, true, state))
}

/// `traceparent` for a span context.
pub(crate) fn traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8() & KNOWN_FLAGS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn valid_traceparent() {
        let (t, s, f) = parse_traceparent(TP).unwrap();
        assert_eq!(t.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s.to_string(), "00f067aa0ba902b7");
        assert!(f.is_sampled());
    }

    #[test]
    fn invalid_traceparents_start_a_new_trace() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // uppercase
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // 00 is exact
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", // no dash after flags
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn higher_versions_parse_their_first_fields() {
        let v = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds";
        assert!(parse_traceparent(v).is_some());
        assert!(parse_traceparent(&v[..55]).is_some());
    }

    #[test]
    fn random_flag_is_kept_unknown_flags_are_not() {
        let (_, _, f) =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff").unwrap();
        assert_eq!(f.to_u8(), 0x03);
    }

    #[test]
    fn repeated_traceparent_is_invalid() {
        assert!(extract(&[TP, TP], &[]).is_none());
        assert!(extract(&[TP], &[]).is_some());
    }

    #[test]
    fn tracestate_members_are_joined_and_checked() {
        let ts = parse_tracestate(&["a=1,b@tenant=2", " c=3 ,,"]).unwrap();
        assert_eq!(ts.header(), "a=1,b@tenant=2,c=3");
        assert!(parse_tracestate(&["a=1,a=2"]).is_none(), "duplicate keys");
        assert!(parse_tracestate(&["A=1"]).is_none(), "uppercase key");
        assert!(
            parse_tracestate(&["a=1 "]).is_some(),
            "trailing OWS is trimmed"
        );
        assert!(parse_tracestate(&["a=x=y"]).is_none(), "= in value");
        assert!(parse_tracestate(&["a"]).is_none());
        assert!(
            parse_tracestate(&["1tenant@sys=1"]).is_some(),
            "tenant may start with a digit"
        );
        assert!(
            parse_tracestate(&["t@1sys=1"]).is_none(),
            "system id starts with a letter"
        );
        assert!(
            parse_tracestate(&["t@fifteenchars15=1"]).is_none(),
            "system id is at most 14"
        );
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(
            parse_tracestate(&[&many.join(",")]).is_none(),
            "at most 32 members"
        );
        let ok: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert!(parse_tracestate(&[&ok.join(",")]).is_some());
    }

    #[test]
    fn long_tracestate_is_truncated_as_the_spec_says() {
        let long = format!("big={}", "x".repeat(200));
        let mut members = vec![long];
        members.extend((0..30).map(|i| format!("key{i:02}={}", "v".repeat(20))));
        let ts = parse_tracestate(&[&members.join(",")]).unwrap();
        let header = ts.header();
        assert!(header.len() <= 512, "{}", header.len());
        assert!(ts.get("big").is_none(), "members over 128 chars go first");
        assert!(ts.get("key00").is_some(), "then from the right");
    }

    #[test]
    fn traceparent_round_trips() {
        let sc = extract(&[TP], &[]).unwrap();
        assert_eq!(traceparent(&sc), TP);
    }
}
