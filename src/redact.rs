//! Secrets never leave the process by default: values of fields and attributes whose names look
//! sensitive are replaced by a fixed marker, in log lines and in exported spans.
//!
//! A name matches a pattern when the pattern's words appear as consecutive words of the name,
//! words being split at `.`, `_`, `-`, any other non-alphanumeric character, and lower→upper
//! case changes: `user.password`, `x-api-key`, `accessToken` and `http.request.header.authorization`
//! match; `gen_ai.usage.input_tokens` does not match `token`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The configured patterns, split into words once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    patterns: Arc<[Vec<String>]>,
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

    /// [`is_sensitive`](Self::is_sensitive) for field names, which are `'static`: remembered per
    /// thread, so a log line does not split names again.
    pub(crate) fn is_sensitive_static(&self, name: &'static str) -> bool {
        thread_local! {
            static SEEN: RefCell<HashMap<(usize, &'static str), bool>> = RefCell::new(HashMap::new());
        }
        let key = (Arc::as_ptr(&self.patterns) as *const () as usize, name);
        SEEN.with(|seen| {
            if let Some(&v) = seen.borrow().get(&key) {
                return v;
            }
            let v = self.is_sensitive(name);
            let mut seen = seen.borrow_mut();
            if seen.len() > 4096 {
                seen.clear();
            }
            seen.insert(key, v);
            v
        })
    }
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
