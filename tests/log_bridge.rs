//! A dependency that logs through the `log` crate shows up like a tracing event: in the JSON log
//! lines with its own target, file and line and the current span's trace ids, filtered by
//! `log_level` by that target (before: `log::info!` appeared nowhere).

mod support;

use support::Captured;

/// What a dependency does: it knows nothing of tracing.
mod some_dependency {
    pub(crate) fn connect() {
        log::info!("connected to {}", "db:5432");
        log::debug!("handshake details");
    }
}

#[test]
fn log_records_become_events_of_the_current_span() {
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([("OTEL_TRACES_EXPORTER", "none")])
        .with_log_level("info")
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let trace = tracing::info_span!("startup").in_scope(|| {
        some_dependency::connect();
        tracewire::propagation::current_trace_id().unwrap()
    });
    guard.shutdown().unwrap();

    let lines = logs.json_lines();
    let line = lines
        .iter()
        .find(|l| l["message"] == "connected to db:5432")
        .unwrap_or_else(|| panic!("the log record is a line: {lines:#?}"));
    assert_eq!(
        line["target"], "log_bridge::some_dependency",
        "its own target: {line}"
    );
    assert_eq!(line["level"], "INFO");
    assert_eq!(
        line["trace_id"],
        trace.as_str(),
        "inside the current span: {line}"
    );
    assert_eq!(line["span"]["name"], "startup");
    assert!(
        line["log.file"]
            .as_str()
            .unwrap()
            .ends_with("log_bridge.rs"),
        "{line}"
    );
    assert!(line["log.line"].as_u64().is_some(), "{line}");
    assert!(
        !lines.iter().any(|l| l["message"] == "handshake details"),
        "debug is below log_level"
    );
}
