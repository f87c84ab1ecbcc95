//! With the opt-in panic hook, a panic inside an instrumented function is recorded: an ERROR
//! log line with the trace ids, an exception event and status Error on the span.

mod support;

use support::{Captured, file_sink_spans};

#[tracing::instrument]
fn charge(order: u32) {
    panic!("card processor returned garbage for order {order}");
}

#[test]
fn a_panic_is_recorded_on_its_span() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("file:{}", sink.display()))
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    tracewire::install_panic_hook();
    assert!(std::panic::catch_unwind(|| charge(7)).is_err());
    guard.shutdown().unwrap();

    let spans = file_sink_spans(&sink);
    let span = spans
        .iter()
        .find(|s| s["name"] == "charge")
        .expect("the span is exported");
    assert_eq!(span["status"]["code"], "ERROR");
    assert!(
        span["status"]["message"]
            .as_str()
            .unwrap()
            .contains("garbage for order 7")
    );
    let exc = span["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "exception")
        .expect("exception event");
    assert_eq!(exc["attributes"]["exception.type"], "panic");
    let line = logs
        .json_lines()
        .into_iter()
        .find(|l| l["level"] == "ERROR")
        .expect("an ERROR line");
    assert_eq!(line["trace_id"], span["trace_id"]);
    assert_eq!(line["span_id"], span["span_id"]);
}
