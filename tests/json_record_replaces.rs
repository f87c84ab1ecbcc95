//! `span.record("x", …)` replaces the field's value in the JSON log lines: one key per line, and
//! a field recorded in a loop does not grow the line (or the span) without bound.

mod support;

use support::Captured;

#[test]
fn recording_a_field_many_times_keeps_one_key() {
    let logs = Captured::default();
    let guard = support::ids_only(logs.clone());
    let span = tracing::info_span!("loop", x = tracing::field::Empty, name = "first", fixed = 1);
    for i in 0..10_000u64 {
        span.record("x", i);
    }
    span.record("name", "second");
    span.in_scope(|| tracing::info!("done"));
    guard.shutdown().unwrap();

    let raw = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line = raw.lines().find(|l| l.contains("\"done\"")).unwrap();
    assert_eq!(line.matches("\"x\":").count(), 1, "{:.300}", line);
    assert_eq!(line.matches("\"fields.name\":").count(), 1, "{:.300}", line);
    assert!(line.len() < 600, "{} bytes", line.len());
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["span"]["x"], 9_999);
    assert_eq!(v["span"]["fields.name"], "second");
    assert_eq!(v["span"]["fixed"], 1);
}
