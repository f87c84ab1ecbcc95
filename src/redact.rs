//! Secrets never leave the process by default: values of fields and attributes whose names look
//! sensitive are replaced by a fixed marker, in log lines and in exported spans.
//!
//! A name matches a pattern when the pattern's words appear as consecutive words of the name,
//! words being split at `.`, `_`, `-`, any other non-alphanumeric character, and lower→upper
//! case changes: `user.password`, `x-api-key`, `accessToken` and `http.request.header.authorization`
//! match; `gen_ai.usage.input_tokens` does not match `token`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tracing_core::callsite::Identifier;
use tracing_core::field::FieldSet;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The configured patterns, split into words once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    patterns: Arc<[Vec<String>]>,
    /// Per callsite, a bit per field: sensitive or not. Field names are fixed per callsite, so
    /// each is judged once, and a log line or span pays one lookup instead of one per field.
    masks: Arc<RwLock<HashMap<Identifier, u64, PtrHash>>>,
    /// Attribute names already judged, for the export task (names repeat from span to span).
    names: Arc<std::sync::Mutex<HashMap<String, bool>>>,
}

fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Redactor {
    pub(crate) fn new(patterns: &[String]) -> Self {
        Redactor {
            patterns: patterns
                .iter()
                .map(|p| words(p))
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
        self.patterns
            .iter()
            .any(|p| p.len() <= w.len() && w.windows(p.len()).any(|win| win == p.as_slice()))
    }

    /// [`is_sensitive`](Self::is_sensitive), remembered by name (at most 4096 names).
    pub(crate) fn is_sensitive_cached(&self, name: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
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
    fn an_empty_list_redacts_nothing() {
        assert!(!Redactor::new(&[]).is_sensitive("password"));
    }
}
