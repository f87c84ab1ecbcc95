//! The switches: `enabled = false` and `tracing_enabled = false` keep logs and build no
//! pipeline; `OTEL_TRACES_EXPORTER=none` exports nothing but still makes trace ids.

mod support;

use support::Captured;

/// Log lines, the trace id seen inside the span, and the spans the file sink received.
fn run(env: &[(&str, &str)]) -> (Vec<serde_json::Value>, Option<String>, usize) {
    let logs = Captured::default();
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env(env.iter().copied())
        .with_otlp_endpoint(format!("file:{}", sink.display()))
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let id = tracing::info_span!("work").in_scope(|| {
        tracing::info!(n = 1, "inside");
        tracewire::propagation::current_trace_id()
    });
    guard.shutdown().unwrap();
    (logs.json_lines(), id, support::file_sink_spans(&sink).len())
}

#[test]
fn disabled_keeps_logs_without_ids() {
    for env in [
        [("OTEL_SDK_DISABLED", "true")],
        [("TRACEWIRE_TRACING_ENABLED", "false")],
    ] {
        let (lines, id, exported) = run(&env);
        assert_eq!(exported, 0, "{env:?}: nothing exported");
        assert_eq!(lines.len(), 1, "{env:?}");
        assert_eq!(lines[0]["message"], "inside");
        assert_eq!(lines[0]["n"], 1);
        assert!(lines[0].get("trace_id").is_none(), "{env:?}: {}", lines[0]);
        assert_eq!(id, None);
    }
}

#[test]
fn exporter_none_still_makes_ids() {
    let (lines, id, exported) = run(&[("OTEL_TRACES_EXPORTER", "none")]);
    assert_eq!(exported, 0);
    let id = id.expect("a trace id");
    assert_eq!(lines[0]["trace_id"], id.as_str());
    assert_eq!(lines[0]["trace_flags"], "03");
}

#[test]
fn enabled_exports_to_the_sink() {
    let (lines, id, exported) = run(&[]);
    assert_eq!(exported, 1);
    assert_eq!(lines[0]["trace_id"], id.unwrap().as_str());
}

#[test]
fn explicit_parent_elsewhere_gets_no_wrong_ids() {
    let logs = Captured::default();
    let guard = support::ids_only(logs.clone());
    let other = tracing::info_span!("other");
    tracing::info_span!("entered").in_scope(|| tracing::info!(parent: &other, "to other"));
    guard.shutdown().unwrap();
    let line = &logs.json_lines()[0];
    assert_eq!(line["span"]["name"], "other");
    assert!(
        line.get("span_id").is_none(),
        "ids of the entered span must not be claimed: {line}"
    );
}

#[test]
fn field_names_never_repeat_a_key() {
    let logs = Captured::default();
    let guard = support::ids_only(logs.clone());
    tracing::info_span!("greet", name = "world")
        .in_scope(|| tracing::info!(level = 3, trace_id = "mine", "hi"));
    guard.shutdown().unwrap();
    let raw = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line = &logs.json_lines()[0];
    assert_eq!(line["span"]["name"], "greet");
    assert_eq!(line["span"]["fields.name"], "world");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["fields.level"], 3);
    assert_eq!(line["fields.trace_id"], "mine");
    assert_eq!(raw.matches("\"name\"").count(), 1, "{raw}");
}

#[test]
fn extreme_integers_stay_exact_json_numbers() {
    let logs = Captured::default();
    let guard = support::ids_only(logs.clone());
    tracing::info!(
        min = i64::MIN,
        max = u64::MAX,
        zero = 0i64,
        neg = -42i64,
        "ints"
    );
    guard.shutdown().unwrap();
    let raw = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        raw.contains(
            "\"min\":-9223372036854775808,\"max\":18446744073709551615,\"zero\":0,\"neg\":-42"
        ),
        "{raw}"
    );
    assert!(logs.json_lines()[0]["timestamp"].as_str().unwrap().len() == 27);
}
