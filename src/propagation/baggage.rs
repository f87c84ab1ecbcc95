//! W3C Baggage: `key=value;property;key2=value2` members, percent-encoded values, size limits.

pub(crate) const BAGGAGE: &str = "baggage";
/// The spec's limits a propagator must at least support; more is not propagated.
const MAX_MEMBERS: usize = 64;
const MAX_BYTES: usize = 8192;

use crate::text::is_token as token;

/// `baggage-octet`: what may appear unencoded in a value (`%` only as an escape).
fn baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// A value: baggage octets and `%XX` escapes of UTF-8, nothing else.
fn decode(v: &str) -> Option<String> {
    v.bytes()
        .all(|c| c == b'%' || baggage_octet(c))
        .then(|| crate::text::percent_decode_strict(v))
        .flatten()
}

fn encode(v: &str, out: &mut String) {
    for &b in v.as_bytes() {
        if baggage_octet(b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Parses every `baggage` value; invalid members are skipped, the rest kept, up to the limits.
/// Entries are `(key, value, properties)`.
pub(crate) fn parse(values: &[&str]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let mut bytes = 0;
    for value in values {
        for member in value.split(',') {
            bytes += member.len() + 1;
            if bytes > MAX_BYTES || out.len() >= MAX_MEMBERS {
                return out;
            }
            let mut parts = member.split(';');
            let Some((k, v)) = parts.next().and_then(|kv| kv.split_once('=')) else {
                continue;
            };
            let (k, v) = (ows(k), ows(v));
            let Some(value) = decode(v).filter(|_| token(k)) else {
                continue;
            };
            let props: Vec<&str> = parts.map(ows).collect();
            let props_ok = props.iter().all(|p| match p.split_once('=') {
                Some((pk, pv)) => token(ows(pk)) && decode(ows(pv)).is_some(),
                None => token(p),
            });
            if !props_ok {
                continue;
            }
            out.retain(|(k2, _, _)| k2 != k);
            out.push((k.to_string(), value, props.join(";")));
        }
    }
    out
}

/// The `baggage` header for these entries, within the limits (what does not fit is left out).
pub(crate) fn header<'a>(
    entries: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) -> Option<String> {
    let mut out = String::new();
    for (n, (k, v, meta)) in entries.enumerate() {
        if n >= MAX_MEMBERS || !token(k) {
            continue;
        }
        let mut member = String::with_capacity(k.len() + v.len() + 1);
        member.push_str(k);
        member.push('=');
        encode(v, &mut member);
        if !meta.is_empty() {
            member.push(';');
            member.push_str(meta);
        }
        if out.len() + member.len() + 1 > MAX_BYTES {
            continue;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&member);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(list: &[(String, String, String)]) -> Vec<(String, String, String)> {
        list.to_vec()
    }

    #[test]
    fn members_properties_and_percent_encoding() {
        let got = parse(&[
            "userId=alice%20smith ; sensitive;ttl=30, tenant = acme",
            "bad key=1,ok=%E2%9C%93",
        ]);
        assert_eq!(
            kv(&got),
            vec![
                (
                    "userId".into(),
                    "alice smith".into(),
                    "sensitive;ttl=30".into()
                ),
                ("tenant".into(), "acme".into(), "".into()),
                ("ok".into(), "✓".into(), "".into()),
            ]
        );
    }

    #[test]
    fn invalid_members_are_skipped() {
        assert!(parse(&["a=%zz", "b=\"q\"", "=v", "c", "d=1;bad prop"]).is_empty());
    }

    #[test]
    fn limits_hold() {
        let many: Vec<String> = (0..100).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse(&[&many.join(",")]).len(), MAX_MEMBERS);
        let huge = format!("k={}", "x".repeat(10_000));
        assert!(parse(&[&huge]).is_empty());
    }

    #[test]
    fn header_round_trips() {
        let parsed = parse(&["a=hello%2C%20world;p=1,b=%25"]);
        let h = header(
            parsed
                .iter()
                .map(|(k, v, m)| (k.as_str(), v.as_str(), m.as_str())),
        )
        .unwrap();
        assert_eq!(h, "a=hello%2C%20world;p=1,b=%25");
    }
}
