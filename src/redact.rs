//! Secrets never leave the process by default: values of fields and attributes whose names look
//! sensitive are replaced by a fixed marker, in log lines and in exported spans, and credentials
//! found inside any value are scrubbed.
//!
//! **Names.** One normalisation for field names, attribute names and URL query keys: the name is
//! percent-decoded, then split into words at every non-alphanumeric character, at lower→upper
//! case changes and at the end of an acronym (`DBPassword` → `db password`, `APIToken` → `api
//! token`), and lower-cased. A pattern (also split into words) matches when consecutive words of
//! the name, written together, spell the pattern written together, or its plural: `password`
//! matches `user.password`, `passWord`, `DB_PASSWORD`, `DBPassword`, `passwords` and
//! `pass%77ord`; `session_id` matches `sessionid` and `sessionId`; `api_key` matches `x-api-key`
//! and `apiKey`. A name never matches inside a word: `tokenizer` and `keyboard` do not match
//! `token` and `key`. One exception, for the semantic conventions' counters: `token` in the plural
//! after `input`, `output`, `total`, `prompt`, `completion`, `cached` or `reasoning`
//! (`gen_ai.usage.input_tokens`) is a count, not a secret.
//!
//! **Values.** In every string value (log messages and fields, span names, attributes, event
//! names, status messages), whatever its name: the user and password of a URL
//! (`postgres://user:pass@host/db` → `postgres://REDACTED:REDACTED@host/db`), the credentials
//! after `Bearer ` or `Basic ` (any case), and JSON Web Tokens (`eyJ…`.`…`.`…`) become
//! `[REDACTED]`. Not covered: a secret with no recognisable shape in a field with an innocent
//! name (`note = "the code is 1234"`): name such fields in `redact_fields`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::lock::LockExt as _;
use tracing_core::callsite::Identifier;
use tracing_core::field::FieldSet;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The configured patterns, normalised once (their words written together).
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    patterns: Arc<[String]>,
    /// Per callsite, a bit per field: sensitive or not. Field names are fixed per callsite, so
    /// each is judged once, and a log line or span pays one lookup instead of one per field.
    masks: Arc<RwLock<HashMap<Identifier, u64, PtrHash>>>,
    /// Attribute names already judged, for the export task (names repeat from span to span).
    names: Arc<std::sync::Mutex<HashMap<String, bool>>>,
}

/// The words of a name: see the module documentation.
fn words(name: &str) -> Vec<String> {
    let name = crate::text::percent_decode_lenient(name);
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && !cur.is_empty()
            && match prev {
                // camelCase: `accessToken`.
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                // The end of an acronym: `DBPassword`, `APIToken`.
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                _ => false,
            };
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Plural `token` after these words is one of the semantic conventions' counts.
const COUNT_WORDS: &[&str] = &[
    "input",
    "output",
    "total",
    "prompt",
    "completion",
    "cached",
    "reasoning",
];

/// Whether some run of consecutive `words`, written together, spells `pattern` (or its plural).
fn spells(words: &[String], pattern: &str) -> bool {
    for start in 0..words.len() {
        let mut joined = String::new();
        for end in start..words.len() {
            joined.push_str(&words[end]);
            if joined.len() > pattern.len() + 2 {
                break;
            }
            if joined == pattern {
                return true;
            }
            let plural = joined
                .strip_suffix("es")
                .filter(|j| *j == pattern)
                .or_else(|| joined.strip_suffix('s').filter(|j| *j == pattern))
                .is_some();
            if plural {
                let counted = pattern == "token"
                    && start > 0
                    && COUNT_WORDS.contains(&words[start - 1].as_str());
                if !counted {
                    return true;
                }
            }
        }
    }
    false
}

impl Redactor {
    pub(crate) fn new(patterns: &[String]) -> Self {
        Redactor {
            patterns: patterns
                .iter()
                .map(|p| words(p).concat())
                .filter(|w| !w.is_empty())
                .collect(),
            masks: Arc::default(),
            names: Arc::default(),
        }
    }

    pub(crate) fn is_sensitive(&self, name: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let w = words(name);
        self.patterns.iter().any(|p| spells(&w, p))
    }

    /// [`is_sensitive`](Self::is_sensitive), remembered by name (at most 4096 names).
    pub(crate) fn is_sensitive_cached(&self, name: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let mut names = self.names.lock_or_recover();
        if let Some(&v) = names.get(name) {
            return v;
        }
        let v = self.is_sensitive(name);
        if names.len() >= 4096 {
            names.clear();
        }
        names.insert(name.to_string(), v);
        v
    }

    /// Which fields of this callsite are sensitive: bit `i` for the field of index `i`.
    pub(crate) fn mask(&self, fields: &FieldSet) -> u64 {
        if self.patterns.is_empty() {
            return 0;
        }
        // A field knows its callsite; a callsite without fields has nothing to redact.
        let Some(id) = fields.iter().next().map(|f| f.callsite()) else {
            return 0;
        };
        if let Some(&m) = self
            .masks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return m;
        }
        let m = fields
            .iter()
            .filter(|f| f.index() < 64 && self.is_sensitive(f.name()))
            .fold(0u64, |m, f| m | 1 << f.index());
        self.masks
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, m);
        m
    }
}

/// Whether `s` may hold a credential [`scrub`] would remove: a cheap test for the common case.
pub(crate) fn may_hold_credential(s: &str) -> bool {
    let b = s.as_bytes();
    // `://` (URL user info), `bearer `/`basic ` in any case (Authorization schemes), `eyJ` (a
    // JSON Web Token): each has one of `:`, ` `, `J` at a fixed place. Every log message and
    // string field passes here, so the search is memchr's, not a byte loop.
    memchr::memchr3_iter(b':', b' ', b'J', b).any(|i| match b[i] {
        b':' => b[i..].starts_with(b"://"),
        b' ' => {
            i >= 2
                && matches!(
                    &b[i - 2..i],
                    b"er" | b"ER" | b"eR" | b"Er" | b"ic" | b"IC" | b"iC" | b"Ic"
                )
        }
        _ => i >= 2 && &b[i - 2..i] == b"ey",
    })
}

/// `s` with credentials inside it replaced (see the module documentation), or `None` when it
/// holds none. Works on plain text and on JSON-escaped text alike: every shape it looks for
/// ends before a quote or a backslash.
pub(crate) fn scrub(s: &str) -> Option<String> {
    if !may_hold_credential(s) {
        return None;
    }
    let stop =
        |c: char| c.is_whitespace() || matches!(c, '"' | '\\' | ',' | ';' | '\'' | '<' | '>');
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    while !rest.is_empty() {
        // URL user info: `scheme://user:pass@host` → `scheme://REDACTED:REDACTED@host`.
        if let Some(after) = rest.strip_prefix("://") {
            let authority_end = after
                .find(|c: char| stop(c) || matches!(c, '/' | '?' | '#'))
                .unwrap_or(after.len());
            if let Some(at) = after[..authority_end].rfind('@') {
                out.push_str("://REDACTED:REDACTED");
                rest = &after[at..];
                changed = true;
                continue;
            }
        }
        // `Bearer <token>`, `Basic <credentials>`, in any case.
        let scheme = ["bearer ", "basic "].into_iter().find(|p| {
            rest.len() > p.len() && rest.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        });
        if let Some(p) = scheme {
            let after = &rest[p.len()..];
            let end = after
                .find(|c: char| {
                    !(c.is_ascii_alphanumeric()
                        || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '='))
                })
                .unwrap_or(after.len());
            // Credentials are long; `the bearer of bad news` is prose.
            if end >= 8 {
                out.push_str(&rest[..p.len()]);
                out.push_str(REDACTED);
                rest = &after[end..];
                changed = true;
                continue;
            }
        }
        // A JSON Web Token: base64url header starting `eyJ`, then two more dot-separated parts.
        if rest.starts_with("eyJ") {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')))
                .unwrap_or(rest.len());
            if rest[..end].matches('.').count() >= 2 {
                out.push_str(REDACTED);
                rest = &rest[end..];
                changed = true;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    changed.then_some(out)
}

/// Callsite identifiers are pointers: a multiply is hash enough, and SipHash would cost more
/// than the rest of the lookup.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PtrHash;

impl std::hash::BuildHasher for PtrHash {
    type Hasher = PtrHasher;
    fn build_hasher(&self) -> PtrHasher {
        PtrHasher(0)
    }
}

#[derive(Debug)]
pub(crate) struct PtrHasher(u64);

impl std::hash::Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_usize(&mut self, v: usize) {
        self.0 = (self.0.rotate_left(5) ^ v as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Whether field `index` is set in a [`Redactor::mask`].
pub(crate) fn masked(mask: u64, index: usize) -> bool {
    index < 64 && mask & (1 << index) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DEFAULT_REDACT;

    fn default() -> Redactor {
        Redactor::new(
            &DEFAULT_REDACT
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn sensitive_names_match_by_words() {
        let r = default();
        for yes in [
            "password",
            "user.password",
            "DB_PASSWORD",
            "x-api-key",
            "api_key",
            "apiKey",
            "accessToken",
            "access_token",
            "http.request.header.authorization",
            "http.response.header.set-cookie",
            "client_secret",
            "passwd",
        ] {
            assert!(r.is_sensitive(yes), "{yes}");
        }
        for no in [
            "gen_ai.usage.input_tokens",
            "user.id",
            "order_id",
            "tokenizer",
            "keyboard",
            "http.route",
        ] {
            assert!(!r.is_sensitive(no), "{no}");
        }
    }

    #[test]
    fn names_are_normalised_once_for_every_use() {
        let r = default();
        for yes in [
            "passWord",
            "DBPassword",
            "APIToken",
            "passwords",
            "sessionid",
            "sessionId",
            "SESSION_ID",
            "user_password",
            "Authorization",
            "api-key",
            "private_key",
            "auth_token",
            "pass%77ord",
            "token%00",
            "%20token",
            "jwt",
            "access_key",
            "bearer",
            "dsn",
            "connection_string",
            "ConnectionString",
            "pwd",
            "db.pwd",
            "cookies",
            "refresh_tokens",
        ] {
            assert!(r.is_sensitive(yes), "{yes}");
        }
        for no in [
            "gen_ai.usage.output_tokens",
            "total_tokens",
            "passage",
            "keystone",
            "author",
        ] {
            assert!(!r.is_sensitive(no), "{no}");
        }
    }

    #[test]
    fn credentials_inside_values_are_scrubbed() {
        for (value, want) in [
            (
                "postgres://user:pass@host/db",
                "postgres://REDACTED:REDACTED@host/db",
            ),
            (
                "connecting to redis://:s3cret@cache:6379 now",
                "connecting to redis://REDACTED:REDACTED@cache:6379 now",
            ),
            ("Bearer eyJhbGciOi.eyJzdWIi.sig", "Bearer [REDACTED]"),
            (
                "authorization: basic dXNlcjpwYXNz",
                "authorization: basic [REDACTED]",
            ),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_ here",
                "token [REDACTED] here",
            ),
            (
                r#"{\"url\":\"https://a:b@h/\"}"#,
                r#"{\"url\":\"https://REDACTED:REDACTED@h/\"}"#,
            ),
        ] {
            assert_eq!(scrub(value).as_deref(), Some(want), "{value}");
        }
        for clean in [
            "https://example.com/path?q=1",
            "a plain message",
            "the bearer of bad news",
            "eyJust.one",
            "",
        ] {
            assert_eq!(scrub(clean), None, "{clean}");
        }
    }

    #[test]
    fn an_empty_list_redacts_nothing() {
        assert!(!Redactor::new(&[]).is_sensitive("password"));
    }
}
