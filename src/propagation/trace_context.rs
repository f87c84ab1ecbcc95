//! W3C Trace Context Level 2: `traceparent` and `tracestate`, parsed and written back as the
//! current editor's draft says.
//!
//! OpenTelemetry's `TraceState` still checks keys by the older `tenant@system` rule (one `@`,
//! at most 13 characters after it), so it cannot hold every list Level 2 allows. Such a list is
//! kept as received ([`Received`], carried in the extracted context beside the members
//! `TraceState` could take), and written back whole as long as nobody changed the span's state.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

pub(crate) const TRACEPARENT: &str = "traceparent";
pub(crate) const TRACESTATE: &str = "tracestate";

/// Sampled (Level 1) and random (Level 2): the flags this version defines. Others are zeroed
/// when propagated, as the spec asks of vendors that do not know them.
const KNOWN_FLAGS: u8 = 0x01 | 0x02;
const MAX_MEMBERS: usize = 32;
/// Longest `tracestate` propagated unchanged (commas included, optional white space not); a
/// longer list is truncated as the spec describes. The spec asks for at least 512 and sets no
/// maximum; 8192 is what the W3C Baggage header allows and what HTTP servers commonly accept in
/// one header line, so any list a real system sends goes on whole (a list can only exceed it
/// with members averaging over 256 characters) without making downstream requests fail.
pub(crate) const TRACESTATE_MAX: usize = 8192;
/// Input beyond this is not examined: headers from the internet can be arbitrarily long.
pub(crate) const INPUT_MAX: usize = 8192;
/// `tracestate` input beyond this is not examined (room for optional white space around a
/// list of [`TRACESTATE_MAX`]); the list is then dropped.
const TRACESTATE_INPUT_MAX: usize = 2 * TRACESTATE_MAX;

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

/// `key = (lcalpha / DIGIT) 0*255(keychar)`, `keychar = lcalpha / DIGIT / "_" / "-" / "*" /
/// "/" / "@"` (Level 2: `@` anywhere after the first character, any number of times).
fn valid_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
        })
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

/// A `tracestate` list that OpenTelemetry's `TraceState` could not hold whole: the header as
/// received (after the spec's checks and truncation), for the trace it came with, beside the
/// members that `TraceState` did take. `inject_context` writes `header` while the span's state
/// is still `held`, i.e. nobody changed it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) trace_id: TraceId,
    pub(crate) held: TraceState,
    pub(crate) header: String,
}

/// Parses every `tracestate` value (repeated headers are joined): the members OpenTelemetry's
/// `TraceState` holds, and the whole list when it could not hold them all. `None` when the list
/// is invalid: it is then dropped as a whole, the trace itself continues. A repeated key keeps
/// its first member (the spec lets a duplicate go, never the list for it).
pub(crate) fn parse_tracestate(values: &[&str]) -> Option<(TraceState, Option<String>)> {
    let mut members: Vec<(&str, &str)> = Vec::new();
    let mut seen = 0usize;
    for value in values {
        seen += value.len() + 1;
        if seen > TRACESTATE_INPUT_MAX {
            return None;
        }
        for member in value.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let (k, v) = member.split_once('=')?;
            if !valid_key(k) || !valid_value(v) {
                return None;
            }
            if members.iter().any(|(k2, _)| *k2 == k) {
                continue;
            }
            members.push((k, v));
            if members.len() > MAX_MEMBERS {
                return None;
            }
        }
    }
    truncate(&mut members);
    if let Ok(ts) = TraceState::from_key_value(members.iter().copied()) {
        return Some((ts, None));
    }
    // Rare: a Level 2 key `TraceState` refuses. Keep what it takes, and the list as received.
    let held = members
        .iter()
        .filter(|m| TraceState::from_key_value([**m]).is_ok())
        .copied();
    let held = TraceState::from_key_value(held).unwrap_or_default();
    Some((held, Some(join(&members))))
}

fn join(members: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(list_len(members));
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn list_len(m: &[(&str, &str)]) -> usize {
    m.iter().map(|(k, v)| k.len() + v.len() + 1).sum::<usize>() + m.len().saturating_sub(1)
}

/// The spec's truncation, whole members only: first members longer than 128 characters, from
/// the right, until the list fits; then members from the right.
fn truncate(members: &mut Vec<(&str, &str)>) {
    while list_len(members) > TRACESTATE_MAX {
        match members
            .iter()
            .rposition(|(k, v)| k.len() + v.len() + 1 > 128)
        {
            Some(i) => members.remove(i),
            None => members.pop().unwrap_or_default(),
        };
    }
}

/// The remote span context of a `traceparent` (exactly one) and `tracestate` (any number), and
/// the list as received when `TraceState` could not hold it whole.
pub(crate) fn extract(
    traceparents: &[&str],
    tracestates: &[&str],
) -> Option<(SpanContext, Option<Received>)> {
    let [one] = traceparents else {
        // Absent, or repeated: a repeated traceparent is invalid.
        return None;
    };
    let (trace_id, span_id, flags) = parse_traceparent(one)?;
    let (state, whole) = parse_tracestate(tracestates).unwrap_or_default();
    let received = whole.map(|header| Received {
        trace_id,
        held: state.clone(),
        header,
    });
    Some((
        SpanContext::new(trace_id, span_id, flags, true, state),
        received,
    ))
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

    /// The header `inject_context` would write for these values.
    fn written(values: &[&str]) -> Option<String> {
        let (ts, whole) = parse_tracestate(values)?;
        Some(whole.unwrap_or_else(|| ts.header()))
    }

    #[test]
    fn tracestate_members_are_joined_and_checked() {
        assert_eq!(
            written(&["a=1,b@tenant=2", " c=3 ,,"]).unwrap(),
            "a=1,b@tenant=2,c=3"
        );
        assert!(written(&["A=1"]).is_none(), "uppercase key");
        assert!(written(&["a=1 "]).is_some(), "trailing OWS is trimmed");
        assert!(written(&["a=x=y"]).is_none(), "= in value");
        assert!(written(&["a"]).is_none());
        assert!(written(&["_a=1"]).is_none(), "first character");
        assert!(written(&["a=1,b=\u{7f}"]).is_none(), "value characters");
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(written(&[&many.join(",")]).is_none(), "at most 32 members");
        let ok: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert_eq!(written(&[&ok.join(",")]).unwrap(), ok.join(","));
    }

    #[test]
    fn level_2_keys_round_trip() {
        // `@` anywhere after the first character, any number of times, any split of lengths.
        let system = format!("t{}@{}", "a".repeat(100), "v".repeat(150));
        for list in [
            "foo@=1".to_string(),
            "1tenant@sys=1".to_string(),
            "t@1sys=1".to_string(),
            "t@fifteenchars15=1".to_string(),
            "a@b@c=1,x=2".to_string(),
            format!("{system}=x,congo=t61rcWkgMzE"),
            format!("{}=v", "k".repeat(256)),
        ] {
            assert_eq!(written(&[&list]).as_deref(), Some(list.as_str()));
        }
        assert!(written(&[&format!("{}=v", "k".repeat(257))]).is_none());
        // What OpenTelemetry's TraceState can hold is still held there.
        let (held, whole) = parse_tracestate(&["a@b@c=1,x=2"]).unwrap();
        assert_eq!(held.header(), "x=2");
        assert_eq!(whole.as_deref(), Some("a@b@c=1,x=2"));
    }

    #[test]
    fn duplicate_keys_keep_the_list() {
        assert_eq!(written(&["a=1,b=2,a=3"]).unwrap(), "a=1,b=2");
        assert_eq!(written(&["a=1", "a=2,c=3"]).unwrap(), "a=1,c=3");
    }

    #[test]
    fn long_tracestate_is_truncated_as_the_spec_says() {
        // 20 members of 447 characters and 4 short ones: ~9k, over the limit. Long members go
        // first, from the right, only as many as needed; short ones stay.
        let long = |i: usize| format!("long{i:02}{}={}", "k".repeat(190), "x".repeat(250));
        let mut members: Vec<String> = (0..20).map(long).collect();
        members.extend((0..4).map(|i| format!("short{i}=v")));
        let header = written(&[&members.join(",")]).unwrap();
        assert!(header.len() <= TRACESTATE_MAX, "{}", header.len());
        assert!(
            header.starts_with("long00k"),
            "from the right: {header:.20}"
        );
        assert!(header.ends_with("short0=v,short1=v,short2=v,short3=v"));
        let kept = header.split(',').count();
        assert!(
            header.len() + 448 > TRACESTATE_MAX,
            "no more removed than needed ({kept} kept)"
        );
        // Only short members, too many characters: from the right.
        let shorts: Vec<String> = (0..32)
            .map(|i| format!("s{i:02}={}", "v".repeat(255)))
            .collect();
        let cut = written(&[&shorts.join(",")]).unwrap();
        assert!(cut.len() <= TRACESTATE_MAX);
        assert!(
            shorts.join(",").starts_with(&cut),
            "a prefix of whole members"
        );
    }

    #[test]
    fn traceparent_round_trips() {
        let (sc, _) = extract(&[TP], &[]).unwrap();
        assert_eq!(traceparent(&sc), TP);
    }
}
