//! Secrets never leave the process by default, the list is configurable, and values beyond the
//! limits are truncated or dropped, never a panic.

mod support;

use support::{Captured, file_sink_spans};

fn run(
    env: &[(&str, &str)],
    work: impl FnOnce(),
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env(env.iter().copied())
        .with_otlp_endpoint(format!("file:{}", sink.display()))
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    work();
    guard.shutdown().unwrap();
    (file_sink_spans(&sink), logs.json_lines())
}

#[test]
fn sensitive_fields_are_redacted_in_spans_events_and_logs() {
    let (spans, logs) = run(&[], || {
        tracing::info_span!(
            "login",
            user = "alice",
            password = "hunter2",
            http.request.header.authorization = "Bearer abc"
        )
        .in_scope(|| {
            tracing::info!(
                api_key = "k-123",
                accessToken = "t-456",
                input_tokens = 12,
                "signed in"
            )
        });
    });
    let text = serde_json::to_string(&(&spans, &logs)).unwrap();
    for secret in ["hunter2", "Bearer abc", "k-123", "t-456"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let span = &spans[0];
    assert_eq!(
        span["attributes"]["password"],
        tracewire::settings::REDACTED
    );
    assert_eq!(
        span["attributes"]["http.request.header.authorization"],
        tracewire::settings::REDACTED
    );
    assert_eq!(span["attributes"]["user"], "alice");
    let event = &span["events"][0];
    assert_eq!(
        event["attributes"]["api_key"],
        tracewire::settings::REDACTED
    );
    assert_eq!(
        event["attributes"]["input_tokens"], 12,
        "not every name with 'token' is a secret"
    );
    assert_eq!(logs[0]["api_key"], tracewire::settings::REDACTED);
    assert_eq!(logs[0]["span"]["password"], tracewire::settings::REDACTED);
}

#[test]
fn the_list_is_configurable() {
    let (spans, logs) = run(&[("TRACEWIRE_REDACT_FIELDS", "ssn")], || {
        tracing::info_span!("s", ssn = "123-45-6789", password = "now-allowed")
            .in_scope(|| tracing::info!(ssn = "123-45-6789", "x"));
    });
    assert_eq!(spans[0]["attributes"]["ssn"], tracewire::settings::REDACTED);
    assert_eq!(spans[0]["attributes"]["password"], "now-allowed");
    assert_eq!(logs[0]["ssn"], tracewire::settings::REDACTED);
}

#[test]
fn values_and_counts_beyond_the_limits_are_cut() {
    let long = "x".repeat(100);
    let (spans, _) = run(
        &[
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
        ],
        || {
            tracing::info_span!("big", a = long.as_str(), b = 1, c = 2, d = 3, e = 4).in_scope(
                || {
                    for i in 0..5 {
                        tracing::info!(i, "event");
                    }
                },
            );
        },
    );
    let span = &spans[0];
    let attrs = span["attributes"].as_object().unwrap();
    assert_eq!(attrs.len(), 3, "attribute count limit: {attrs:?}");
    assert_eq!(
        span["events"].as_array().unwrap().len(),
        2,
        "event count limit"
    );

    let (spans, _) = run(&[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10")], || {
        tracing::info_span!("long", a = long.as_str(), emoji = "ééééééééééééé").in_scope(|| {});
    });
    assert_eq!(
        spans[0]["attributes"]["a"],
        "x".repeat(10),
        "value length limit"
    );
    assert_eq!(
        spans[0]["attributes"]["emoji"],
        "é".repeat(10),
        "cut at characters, not bytes"
    );
}
