//! What happens to a span between `on_end` and the collector.
//!
//! On the caller's thread, before the span is queued ([`limit`]): every string is cut to
//! `attribute_value_length_limit` characters (span name, status message, attribute values, event
//! names (log messages), event and link attribute values), and a span over [`SPAN_MAX_BYTES`]
//! loses events, then attributes, from the end (counted in the span's dropped counts), so that
//! memory is bounded in bytes before anything is held, and no single span can make an export
//! request too large for the collector. The size [`limit`] returns is the estimate the queue's
//! byte budget uses.
//!
//! On the export task ([`prepare`]): exceptions normalised, secrets redacted, credentials
//! scrubbed: work the caller's thread does not pay for.

use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::redact::{REDACTED, Redactor, scrub};

/// The most one span may hold, by [`limit`]'s estimate: with batches bounded the same way
/// (`BATCH_MAX_BYTES` in the queue), every export request stays under the 4 MiB a gRPC server
/// accepts by default.
pub(crate) const SPAN_MAX_BYTES: usize = 1 << 20;

/// Protobuf and bookkeeping per span, attribute and event beyond their strings: an estimate
/// that errs high, so that budgets hold.
const SPAN_OVERHEAD: usize = 160;
const KV_OVERHEAD: usize = 16;
const EVENT_OVERHEAD: usize = 32;

fn value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.as_str().len(),
        Value::Array(opentelemetry::Array::String(items)) => {
            items.iter().map(|i| i.as_str().len() + 2).sum()
        }
        Value::Array(opentelemetry::Array::I64(a)) => a.len() * 8,
        Value::Array(opentelemetry::Array::F64(a)) => a.len() * 8,
        Value::Array(opentelemetry::Array::Bool(a)) => a.len(),
        _ => 8,
    }
}

fn kvs_size(kvs: &[KeyValue]) -> usize {
    kvs.iter()
        .map(|kv| KV_OVERHEAD + kv.key.as_str().len() + value_size(&kv.value))
        .sum()
}

/// Cuts `s` to `max` characters, never inside a credential's shape: a cut through
/// `scheme://user:pa` or `Bearer abc` would leave a part of the secret that the export task
/// could no longer recognise, so the cut moves back to before it.
pub(crate) fn cut(s: &str, max: usize) -> Option<String> {
    if s.len() <= max {
        return None;
    }
    let end = s.char_indices().nth(max).map_or(s.len(), |(i, _)| i);
    if end == s.len() {
        return None;
    }
    let mut kept = &s[..end];
    let tail_from = kept.len().saturating_sub(1024);
    let tail_from = (tail_from..kept.len())
        .find(|i| kept.is_char_boundary(*i))
        .unwrap_or(kept.len());
    let tail = &kept[tail_from..];
    let lower = tail.to_ascii_lowercase();
    let open = |at: usize, rest: &str| {
        (!rest.contains(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\''))).then_some(at)
    };
    let mut back = None;
    for marker in ["://", "bearer ", "basic ", "eyj"] {
        if let Some(i) = lower.rfind(marker)
            && let Some(at) = open(i, &tail[i + marker.len()..])
        {
            back = Some(back.map_or(at, |b: usize| b.min(at)));
        }
    }
    if let Some(b) = back {
        kept = &kept[..tail_from + b];
    }
    Some(kept.to_string())
}

/// Cuts a value's strings to `max` characters; returns its size, in one match.
fn cut_value(value: &mut Value, max: usize) -> usize {
    match value {
        Value::String(s) => {
            if s.as_str().len() > max
                && let Some(t) = cut(s.as_str(), max)
            {
                *value = Value::from(t);
                return value_size(value);
            }
            s.as_str().len()
        }
        Value::Array(opentelemetry::Array::String(items)) => {
            let mut n = 0;
            for item in items.iter_mut() {
                if let Some(t) = cut(item.as_str(), max) {
                    *item = t.into();
                }
                n += item.as_str().len() + 2;
            }
            n
        }
        other => value_size(other),
    }
}

/// Bounds a span before it is queued or buffered: strings cut to `max_len` characters, then the
/// span cut to [`SPAN_MAX_BYTES`]; returns the bytes it holds (estimated from its strings and
/// counts, erring high), measured in the same pass. Costs one
/// length check per string when nothing is too long.
pub(crate) fn limit(span: &mut SpanData, max_len: usize) -> usize {
    if let Some(t) = cut(&span.name, max_len) {
        span.name = t.into();
    }
    let mut n = SPAN_OVERHEAD + span.name.len();
    if let Status::Error { description } = &span.status {
        match cut(description, max_len) {
            Some(t) => {
                n += t.len();
                span.status = Status::error(t);
            }
            None => n += description.len(),
        }
    }
    let kvs = |kvs: &mut [KeyValue]| {
        let mut m = 0;
        for kv in kvs.iter_mut() {
            m += KV_OVERHEAD + kv.key.as_str().len() + cut_value(&mut kv.value, max_len);
        }
        m
    };
    n += kvs(&mut span.attributes);
    for e in span.events.events.iter_mut() {
        if let Some(t) = cut(&e.name, max_len) {
            e.name = t.into();
        }
        n += EVENT_OVERHEAD + e.name.len() + kvs(&mut e.attributes);
    }
    for l in span.links.links.iter_mut() {
        n += EVENT_OVERHEAD + kvs(&mut l.attributes);
    }
    while n > SPAN_MAX_BYTES {
        // The latest events first (a runaway loop logging into one span), then attributes.
        let freed = if let Some(e) = span.events.events.pop() {
            span.events.dropped_count += 1;
            EVENT_OVERHEAD + e.name.len() + kvs_size(&e.attributes)
        } else if let Some(kv) = span.attributes.pop() {
            span.dropped_attributes_count += 1;
            KV_OVERHEAD + kv.key.as_str().len() + value_size(&kv.value)
        } else {
            break;
        };
        n -= freed.min(n);
    }
    n
}

/// Whether a key is sensitive, remembered for one batch by the key's address and length.
/// Every key the memo has seen stays alive until the memo is dropped (`prepare` replaces values
/// and event names, never keys, and drops a span's events before its keys are seen), so no other
/// string can take that address meanwhile: two keys at one address are the same bytes, mostly
/// the same `&'static str` field name in span after span. Saves the redactor's hashed, locked
/// look-up for all but the first occurrence of a key: ~250 instructions a span of
/// `examples/throughput.rs` (callgrind, export thread).
#[derive(Default)]
pub(crate) struct KeyMemo {
    seen: [(usize, usize, bool); 16],
    len: usize,
    next: usize,
}

impl KeyMemo {
    fn is_sensitive(&mut self, redactor: &Redactor, key: &str) -> bool {
        let at = (key.as_ptr() as usize, key.len());
        if let Some(&(_, _, v)) = self.seen[..self.len]
            .iter()
            .find(|(p, l, _)| (*p, *l) == at)
        {
            return v;
        }
        let v = redactor.is_sensitive_cached(key);
        // Full: the oldest entry makes way.
        let slot = if self.len < self.seen.len() {
            self.len += 1;
            self.len - 1
        } else {
            self.next = (self.next + 1) % self.seen.len();
            self.next
        };
        self.seen[slot] = (at.0, at.1, v);
        v
    }
}

/// What happens to a span on the export task, before it leaves the process: exceptions
/// normalised, secrets redacted by name, credentials scrubbed out of values. With
/// `drop_plain_events` (OTLP logs on: events travel as log records), only exceptions stay on the
/// span. `keys` lives for one batch (see [`KeyMemo`]).
pub(crate) fn prepare(
    span: &mut SpanData,
    redactor: &Redactor,
    drop_plain_events: bool,
    keys: &mut KeyMemo,
) {
    errors_as_exceptions(span);
    if drop_plain_events {
        // Before any key of this span is remembered: no key the memo has seen is freed.
        span.events.events.retain(|e| e.name == "exception");
    }
    let mut clean = |kvs: &mut Vec<KeyValue>| {
        for kv in kvs.iter_mut() {
            if keys.is_sensitive(redactor, kv.key.as_str()) {
                kv.value = Value::from(REDACTED);
            } else {
                scrub_value(&mut kv.value);
            }
        }
    };
    if let Some(clean) = scrub(&span.name) {
        span.name = clean.into();
    }
    if let Status::Error { description } = &span.status
        && let Some(clean) = scrub(description)
    {
        span.status = Status::error(clean);
    }
    clean(&mut span.attributes);
    for event in span.events.events.iter_mut() {
        if let Some(clean) = scrub(&event.name) {
            event.name = clean.into();
        }
        clean(&mut event.attributes);
    }
    for link in span.links.links.iter_mut() {
        clean(&mut link.attributes);
    }
}

/// Credentials inside a string value, whatever its name (see `redact::scrub`).
fn scrub_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(clean) = scrub(s.as_str()) {
                *value = Value::from(clean);
            }
        }
        Value::Array(opentelemetry::Array::String(items)) => {
            for item in items.iter_mut() {
                if let Some(clean) = scrub(item.as_str()) {
                    *item = clean.into();
                }
            }
        }
        _ => {}
    }
}

/// ERROR events become `exception` events (semantic conventions for exceptions), and the span
/// status carries the message: a viewer then shows what failed without opening every event.
fn errors_as_exceptions(span: &mut SpanData) {
    let mut first_message = None;
    for event in span.events.events.iter_mut() {
        let is_error = event
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "level" && kv.value.as_str() == "ERROR");
        if !is_error {
            continue;
        }
        if event.name != "exception" {
            let message = std::mem::replace(&mut event.name, "exception".into());
            if !event
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == "exception.message")
            {
                // `error!(error = %e, "what failed")`: the error is the exception, the
                // message stays as the event's description.
                let error = event
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == "error")
                    .map(|kv| kv.value.as_str().into_owned());
                let exception = match error {
                    Some(e) => {
                        event
                            .attributes
                            .push(KeyValue::new("message", Value::from(message.into_owned())));
                        e
                    }
                    None => message.into_owned(),
                };
                event
                    .attributes
                    .push(KeyValue::new("exception.message", Value::from(exception)));
            }
        }
        if first_message.is_none() {
            first_message = event
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == "exception.message")
                .map(|kv| kv.value.as_str().into_owned());
        }
    }
    if let (Status::Error { description }, Some(msg)) = (&span.status, first_message)
        && description.is_empty()
    {
        span.status = Status::error(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_memo_answers_as_the_redactor_does_for_every_key_of_a_batch() {
        let redactor = Redactor::new(&["password".to_string(), "token".to_string()]);
        // Owned keys of one length at different addresses, more of them than the memo holds,
        // each seen twice: the answer follows the bytes, never an address seen before.
        let keys: Vec<String> = (0..40)
            .map(|i| {
                if i % 3 == 0 {
                    format!("token{i:03}")
                } else {
                    format!("plain{i:03}")
                }
            })
            .collect();
        let mut memo = KeyMemo::default();
        for _ in 0..2 {
            for k in &keys {
                assert_eq!(
                    memo.is_sensitive(&redactor, k),
                    redactor.is_sensitive(k),
                    "{k}"
                );
            }
        }
        // The same static name in span after span: one look-up, then the memo.
        for _ in 0..3 {
            assert!(memo.is_sensitive(&redactor, "user.password"));
            assert!(!memo.is_sensitive(&redactor, "user.name"));
        }
    }

    #[test]
    fn cuts_never_leave_part_of_a_credential() {
        assert_eq!(cut("abcdef", 3).as_deref(), Some("abc"));
        assert_eq!(cut("abc", 3), None);
        assert_eq!(cut("héllo", 2).as_deref(), Some("hé"));
        let url = format!("{}connect postgres://user:password@host", "x".repeat(10));
        // 30 characters end inside the password: the cut moves before the URL's scheme mark.
        let kept = cut(&url, 30).unwrap();
        assert!(!kept.contains("pass"), "{kept}");
        assert!(!kept.contains("user"), "{kept}");
        let bearer = format!("{}Bearer abcdefghijklmnop", "y".repeat(5));
        assert_eq!(cut(&bearer, 16).as_deref(), Some("yyyyy"));
        // A finished URL before the cut stays.
        assert_eq!(
            cut("see https://example.com/a and more", 26).as_deref(),
            Some("see https://example.com/a ")
        );
    }
}
