//! JSON log lines with the ids of the exported span, formatted in one pass.
//!
//! Each line is one object: `timestamp` (RFC 3339, UTC, microseconds), `level`, `target`,
//! `message`, the event's fields (typed: integers stay numbers), `span` (the current span's
//! `name` and fields) and, inside a span, `trace_id`, `span_id`, `trace_flags`. An event field
//! whose name is one of those keys is written as `fields.<name>` so no key repeats.
//!
//! Why by hand rather than tracing-subscriber's `fmt().json()`: that formatter renders each
//! event through serde with the span's fields re-parsed from text, and knows nothing of the
//! OpenTelemetry ids; the stock JSON stack costs about 3× the instructions per event in
//! `scripts/instructions.sh`. Here a span's fields are rendered once, when they are recorded
//! ([`SpanFields`]), each line is built in one thread-local buffer and written with one call,
//! numbers and ids are written without the formatting machinery. Redaction by name uses the
//! callsite's mask (one bit per field, computed once per callsite); values are scrubbed of
//! credential shapes as they are written.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TraceContextExt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use tracing_log::NormalizeEvent as _;

use crate::lock::LockExt as _;
use crate::redact::{REDACTED, Redactor, masked, scrub};
use crate::sampling::Unsampled;

/// Where log lines go: standard output, or the writer given to
/// [`Builder::with_log_writer`](crate::Builder::with_log_writer) (tests, a file).
#[derive(Clone, Default)]
pub(crate) enum LogWriter {
    #[default]
    Stdout,
    /// Behind a mutex: lines from several threads must not interleave.
    Custom(Arc<Mutex<Box<dyn Write + Send>>>),
}

impl fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogWriter::Stdout => "Stdout",
            LogWriter::Custom(_) => "Custom",
        })
    }
}

impl LogWriter {
    /// Whether lines go to the process's stdout (which may be a terminal).
    pub(crate) fn is_stdout(&self) -> bool {
        matches!(self, LogWriter::Stdout)
    }

    /// Writes one whole line with one call, so that concurrent lines never mix.
    fn write_line(&self, line: &[u8]) {
        // A log line that cannot be written is not worth failing the request for.
        let _ = match self {
            LogWriter::Stdout => std::io::stdout().lock().write_all(line),
            LogWriter::Custom(w) => w.lock_or_recover().write_all(line),
        };
    }
}

/// For the `pretty` and `compact` formats, which are tracing-subscriber's own.
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = Box<dyn Write + 'a>;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            LogWriter::Stdout => Box::new(std::io::stdout()),
            LogWriter::Custom(w) => Box::new(Locked(w)),
        }
    }
}

/// The custom writer, locked per write.
struct Locked<'a>(&'a Mutex<Box<dyn Write + Send>>);

impl Write for Locked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock_or_recover().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock_or_recover().flush()
    }
}

/// The JSON log layer: one line per event that passes the stack's filter.
#[derive(Debug)]
pub(crate) struct JsonLayer {
    writer: LogWriter,
    redactor: Redactor,
}

impl JsonLayer {
    /// Lines to `writer`, values of names `redactor` matches replaced by `[REDACTED]`.
    pub(crate) fn new(writer: LogWriter, redactor: Redactor) -> Self {
        JsonLayer { writer, redactor }
    }
}

/// A span's fields, already rendered as `"k":v` pairs, so an event copies them instead of
/// formatting them again.
struct SpanFields {
    text: String,
    /// Fields (by index, the first 64) already in `text`: a field recorded for the first time
    /// (declared `Empty`, the usual case) has nothing to remove.
    present: u64,
}

/// Keys of a log line an event field may not take (`message` is the event's own).
const EVENT_RESERVED: &[&str] = &[
    "timestamp",
    "level",
    "target",
    "span",
    "trace_id",
    "span_id",
    "trace_flags",
];

thread_local! {
    /// The line being built: one buffer per thread, reused, so that a line allocates nothing
    /// once the buffer has grown to the thread's longest line.
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
}

impl<S> Layer<S> for JsonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut text = String::with_capacity(16 * attrs.metadata().fields().len());
        let mut visitor = JsonFields {
            out: &mut text,
            reserved: SPAN_RESERVED,
            mask: self.redactor.mask(attrs.metadata().fields()),
            written: 0,
        };
        attrs.record(&mut visitor);
        let present = visitor.written;
        span.extensions_mut().insert(SpanFields { text, present });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields { text, present }) = ext.get_mut::<SpanFields>() {
            let fieldset = span.metadata().fields();
            // `record` replaces a value: the old `,"name":value` goes, so no key repeats and a
            // field recorded in a loop does not grow the span.
            for field in fieldset.iter().filter(|f| values.contains(f)) {
                let i = field.index();
                if i >= 64 || *present & (1 << i) != 0 {
                    remove_field(text, field.name());
                }
            }
            let mut visitor = JsonFields {
                out: text,
                reserved: SPAN_RESERVED,
                mask: self.redactor.mask(fieldset),
                written: 0,
            };
            values.record(&mut visitor);
            *present |= visitor.written;
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        LINE.with(|cell| {
            // A re-entrant event (a Debug impl that logs) gets a fresh buffer instead of a panic.
            let mut fresh = String::new();
            let mut borrowed = cell.try_borrow_mut();
            let line: &mut String = match borrowed.as_mut() {
                Ok(b) => b,
                Err(_) => &mut fresh,
            };
            line.clear();
            // A `log` record (through the bridge) names its own target, level, file and line.
            let normalized = event.normalized_metadata();
            let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
            line.push_str("{\"timestamp\":\"");
            write_rfc3339(line, SystemTime::now());
            line.push_str("\",\"level\":\"");
            line.push_str(meta.level().as_str());
            line.push_str("\",\"target\":");
            push_json_str(line, meta.target());
            let mut visitor = JsonFields {
                out: line,
                reserved: EVENT_RESERVED,
                mask: self.redactor.mask(meta.fields()),
                written: 0,
            };
            event.record(&mut visitor);

            let current = ctx.lookup_current();
            let explicit = event.parent().and_then(|id| ctx.span(id));
            // The active OpenTelemetry context is the entered span's: it names the event's span
            // only when the event has no explicit parent elsewhere.
            let ids_apply = match (&explicit, &current) {
                (Some(e), Some(c)) => e.id() == c.id(),
                (Some(_), None) => false,
                _ => true,
            };
            let span = explicit.or(current);
            if let Some(span) = &span {
                line.push_str(",\"span\":{\"name\":");
                push_json_str(line, span.name());
                let ext = span.extensions();
                if let Some(SpanFields { text: fields, .. }) = ext.get::<SpanFields>()
                    && !fields.is_empty()
                {
                    line.push_str(fields);
                }
                line.push('}');
                if let Some(u) = ext.get::<Unsampled>() {
                    // A span of an unsampled trace: its ids are what went downstream.
                    push_ids(line, &u.sc);
                } else if ids_apply {
                    // The OpenTelemetry layer activates the span's context when it is entered:
                    // these are exactly the ids of the span that is exported.
                    opentelemetry::Context::map_current(|cx| {
                        let span = cx.span();
                        let sc = span.span_context();
                        if sc.is_valid() {
                            push_ids(line, sc);
                        }
                    });
                }
            } else {
                // No span here, e.g. a handler on an excluded path: the active context is the
                // caller's, whose trace this line belongs to.
                opentelemetry::Context::map_current(|cx| {
                    let span = cx.span();
                    let sc = span.span_context();
                    if sc.is_valid() {
                        push_ids(line, sc);
                    }
                });
            }
            line.push_str("}\n");
            self.writer.write_line(line.as_bytes());
            if line.capacity() > 64 * 1024 {
                // One huge event must not pin its buffer for the thread's life.
                *line = String::with_capacity(512);
            }
        });
    }
}

/// `,"trace_id":"…","span_id":"…","trace_flags":"…"`: the W3C forms (lowercase hex; the flags
/// byte as `traceparent` writes it, `03` = sampled + random).
fn push_ids(line: &mut String, sc: &opentelemetry::trace::SpanContext) {
    line.push_str(",\"trace_id\":\"");
    push_hex(line, &sc.trace_id().to_bytes());
    line.push_str("\",\"span_id\":\"");
    push_hex(line, &sc.span_id().to_bytes());
    line.push_str("\",\"trace_flags\":\"");
    push_hex(line, &[sc.trace_flags().to_u8()]);
    line.push('"');
}

/// Writes fields as `,"name":value` with their own JSON type.
struct JsonFields<'a> {
    out: &'a mut String,
    /// Sensitive fields of this callsite (see [`Redactor::mask`]).
    mask: u64,
    /// Field names that would repeat a key of the enclosing object: written as `fields.<name>`.
    reserved: &'static [&'static str],
    /// Fields written (by index, the first 64).
    written: u64,
}

/// Keys of the `span` object a span field may not take.
const SPAN_RESERVED: &[&str] = &["name"];

impl JsonFields<'_> {
    /// Writes `,"name":`; for a sensitive name also the marker, and returns `true`.
    fn key(&mut self, field: &Field) -> bool {
        let name = field.name();
        if field.index() < 64 {
            self.written |= 1 << field.index();
        }
        self.out.push(',');
        if self.reserved.contains(&name) {
            push_json_str(self.out, &format!("fields.{name}"));
        } else {
            push_json_str(self.out, name);
        }
        self.out.push(':');
        if masked(self.mask, field.index()) {
            push_json_str(self.out, REDACTED);
            return true;
        }
        false
    }
}

impl Visit for JsonFields<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.key(field) {
            return;
        }
        if value < 0 {
            self.out.push('-');
        }
        push_u64(self.out, value.unsigned_abs());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.key(field) {
            return;
        }
        push_u64(self.out, value);
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        if self.key(field) {
            return;
        }
        let _ = write!(self.out, "{value}");
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        if self.key(field) {
            return;
        }
        let _ = write!(self.out, "{value}");
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.key(field) {
            return;
        }
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            let _ = write!(self.out, "\"{value}\"");
        }
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            return;
        }
        self.out.push_str(if value { "true" } else { "false" });
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.key(field) {
            return;
        }
        let start = self.out.len();
        push_json_str(self.out, value);
        scrub_tail(self.out, start);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.key(field) {
            return;
        }
        let start = self.out.len();
        self.out.push('"');
        let _ = write!(Escape(self.out), "{value}");
        self.out.push('"');
        scrub_tail(self.out, start);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.key(field) {
            return;
        }
        let start = self.out.len();
        self.out.push('"');
        let _ = write!(Escape(self.out), "{value:?}");
        self.out.push('"');
        scrub_tail(self.out, start);
    }
}

/// Scrubs credentials out of the value just written from `start` (escaped JSON: see
/// `redact::scrub`), in place; values without a credential's shape cost one scan.
fn scrub_tail(out: &mut String, start: usize) {
    if let Some(clean) = scrub(&out[start..]) {
        out.truncate(start);
        out.push_str(&clean);
    }
}

/// Removes the `,"name":value` piece of `name` from rendered fields. Pieces start with `,"`
/// and that pair never occurs inside one: a value's own quotes are escaped.
fn remove_field(fields: &mut String, name: &str) {
    let mut key = String::with_capacity(name.len() + 4);
    key.push(',');
    if SPAN_RESERVED.contains(&name) {
        push_json_str(&mut key, &format!("fields.{name}"));
    } else {
        push_json_str(&mut key, name);
    }
    key.push(':');
    if let Some(start) = fields.find(&key) {
        let value = start + key.len();
        let end = fields[value..]
            .find(",\"")
            .map_or(fields.len(), |i| value + i);
        fields.replace_range(start..end, "");
    }
}

/// `s` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let _ = Escape(out).write_str(s);
    out.push('"');
}

/// Escapes while formatting, so a Debug value is written once, not formatted then copied.
struct Escape<'a>(&'a mut String);

/// Whether `s` holds a byte JSON strings escape (`"`, `\\`, a control character): eight bytes
/// at a time (most values and every field name need no escaping, and then are copied whole).
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero: the classic "has zero byte" test; below 0x20: `x - 0x20` borrows.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        let low = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if low | zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\'))) != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

impl fmt::Write for Escape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if !needs_escape(s.as_bytes()) {
            self.0.push_str(s);
            return Ok(());
        }
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let esc: &str = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.push_str(&s[start..i]);
            if esc.is_empty() {
                let _ = write!(self.0, "\\u{b:04x}");
            } else {
                self.0.push_str(esc);
            }
            start = i + 1;
        }
        self.0.push_str(&s[start..]);
        Ok(())
    }
}

/// `2026-11-21T23:14:00.123456Z`.
pub(crate) fn write_rfc3339(out: &mut String, t: SystemTime) {
    thread_local! {
        /// The last second written and its `YYYY-MM-DDTHH:MM:SS.`: lines come many a second,
        /// so the calendar is worked out once a second per thread.
        static SECOND: std::cell::Cell<(u64, [u8; 20])> = const { std::cell::Cell::new((u64::MAX, [0; 20])) };
    }
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let head = SECOND
        .try_with(|c| {
            let (at, head) = c.get();
            if at == secs {
                return head;
            }
            let head = second_head(secs);
            c.set((secs, head));
            head
        })
        .unwrap_or_else(|_| second_head(secs));
    let mut buf = [0u8; 27];
    buf[..20].copy_from_slice(&head);
    let mut v = d.subsec_micros();
    for i in (20..26).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf[26] = b'Z';
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
}

/// `YYYY-MM-DDTHH:MM:SS.` of a second since the epoch.
fn second_head(secs: u64) -> [u8; 20] {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    // Digits by hand: `write!` with padding costs more than the rest of a log line's header.
    let mut buf = *b"0000-00-00T00:00:00.";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y.clamp(0, 9999) as u64);
    put(5, 2, m as u64);
    put(8, 2, day as u64);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    buf
}

/// "00" to "99", so that a number is written two digits per division.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Decimal digits of `v`, without the formatting machinery.
fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    // ASCII digits: pushed as chars, no UTF-8 validation needed.
    out.reserve(buf.len() - i);
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// Lowercase hex, as W3C ids are written.
fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_recorded_field_replaces_its_piece() {
        let mut f = String::from(r#","a":1,"b":"x,\"c\":2","c":true,"name2":"\\""#);
        remove_field(&mut f, "b");
        assert_eq!(f, r#","a":1,"c":true,"name2":"\\""#);
        remove_field(&mut f, "c");
        assert_eq!(f, r#","a":1,"name2":"\\""#);
        remove_field(&mut f, "name2");
        assert_eq!(f, r#","a":1"#);
        remove_field(&mut f, "missing");
        assert_eq!(f, r#","a":1"#);
        let mut r = String::from(r#","fields.name":"n","z":0"#);
        remove_field(&mut r, "name");
        assert_eq!(r, r#","z":0"#);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let mut s = String::new();
        write_rfc3339(
            &mut s,
            UNIX_EPOCH + Duration::new(1_795_300_135, 14_611_062),
        );
        assert_eq!(s, "2026-11-21T22:28:55.014611Z");
        s.clear();
        write_rfc3339(&mut s, UNIX_EPOCH + Duration::from_secs(951_782_400)); // leap day
        assert_eq!(s, "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn integers_and_ids_are_written_exactly() {
        let edges = (0..20u32).flat_map(|e| {
            let p = 10u64.pow(e);
            [p - 1, p, p + 1]
        });
        for v in
            (0..=1_000u64)
                .chain(edges)
                .chain([4_294_967_296, u64::MAX, i64::MIN.unsigned_abs()])
        {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
        let mut s = String::new();
        push_hex(&mut s, &[0x00, 0x0f, 0xa0, 0xff]);
        assert_eq!(s, "000fa0ff");
    }

    #[test]
    fn the_fast_check_finds_every_byte_that_needs_escaping() {
        for len in 0..20 {
            let clean = "a".repeat(len);
            assert!(!needs_escape(clean.as_bytes()), "{clean:?}");
            for at in 0..len {
                for bad in [b'"', b'\\', b'\n', 0x00, 0x1f] {
                    let mut b = clean.clone().into_bytes();
                    b[at] = bad;
                    assert!(needs_escape(&b), "{len} {at} {bad}");
                }
                // Bytes around the borders of the test do not trip it.
                for ok in [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
                    let mut b = clean.clone().into_bytes();
                    b[at] = ok;
                    assert!(!needs_escape(&b), "{len} {at} {ok}");
                }
            }
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
        let v: String = serde_json::from_str(&s).unwrap();
        assert_eq!(v, "a\"b\\c\nd\u{1}é");
    }
}
