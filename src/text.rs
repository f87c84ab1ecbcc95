//! Small text grammars shared by settings, baggage and redaction: `%XX` decoding and the HTTP
//! token. One copy each, so that `OTEL_EXPORTER_OTLP_HEADERS`, a `baggage` header and a field
//! name read the same bytes the same way.

use std::borrow::Cow;

/// An RFC 9110 token (header names, baggage keys): letters, digits and ``!#$%&'*+-.^_`|~``.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8 — for values
/// a user or a peer wrote, where guessing would send something else than was meant.
pub(crate) fn percent_decode_strict(s: &str) -> Option<String> {
    decode(s, false).map(Cow::into_owned)
}

/// Decodes `%XX` escapes, keeping broken ones as they are and replacing bytes that are not
/// UTF-8 — for names that are only looked at (redaction), where `pass%77ord` is `password`
/// and nothing may fail.
pub(crate) fn percent_decode_lenient(s: &str) -> Cow<'_, str> {
    decode(s, true).unwrap_or(Cow::Borrowed(s))
}

fn decode(s: &str, lenient: bool) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            if !lenient {
                return None;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Some(match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) if !lenient => return None,
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_refuses_what_lenient_keeps() {
        assert_eq!(percent_decode_strict("b%20c").as_deref(), Some("b c"));
        assert_eq!(percent_decode_strict("100%"), None);
        assert_eq!(percent_decode_strict("%zz"), None);
        assert_eq!(percent_decode_strict("%ff"), None, "not UTF-8");
        assert_eq!(percent_decode_lenient("pass%77ord"), "password");
        assert_eq!(percent_decode_lenient("100%"), "100%");
        assert_eq!(percent_decode_lenient("%zz%41"), "%zzA");
        assert_eq!(percent_decode_lenient("%ff"), "\u{fffd}");
    }

    #[test]
    fn tokens() {
        assert!(is_token("x-api-key"));
        assert!(!is_token("bad header"));
        assert!(!is_token(""));
    }
}
