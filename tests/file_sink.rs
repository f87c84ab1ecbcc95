//! `otlp_endpoint = "file:PATH"` appends OTLP/JSON lines holding the same tree a collector
//! receives; past `file_max_bytes` spans are dropped and counted, not written in part.

mod support;

use support::{Captured, file_sink_spans, workload};

#[test]
fn file_sink_holds_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    // The directory must exist: tracewire never creates one (tests/config_errors.rs).
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    let path = dir.path().join("nested/spans.jsonl");
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("file:{}", path.display()))
        .with_service_name("file-test")
        .with_service_version(workload::SERVICE_VERSION)
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let trace_id = workload::run();
    let stats = guard.stats();
    guard.shutdown().expect("every span written");
    assert_eq!(stats.dropped(), 0);

    let spans = file_sink_spans(&path);
    let ids = workload::check_tree(&spans, &trace_id, "file-test");
    workload::check_logs(&logs.json_lines(), &trace_id, &ids);
}

#[test]
fn file_sink_cap_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spans.jsonl");
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("TRACEWIRE_FILE_MAX_BYTES", "2000"),
            ("TRACEWIRE_BATCH_MAX_EXPORT_BATCH_SIZE", "1"),
        ])
        .with_otlp_endpoint(format!("file:{}", path.display()))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    for i in 0..20 {
        tracing::info_span!("work", i).in_scope(|| {});
    }
    guard.flush().unwrap();
    let stats = guard.stats();
    let err = guard
        .shutdown()
        .expect_err("dropped spans are reported at shutdown");

    let written = std::fs::metadata(&path).unwrap().len();
    assert!(written <= 2000, "the cap holds: {written} bytes");
    let kept = file_sink_spans(&path).len() as u64;
    assert!(kept > 0, "spans below the cap are written");
    assert_eq!(stats.exported_spans, kept);
    assert_eq!(
        stats.dropped_file_cap,
        20 - kept,
        "every span is either written or counted"
    );
    assert!(err.to_string().contains("file sink full"), "{err}");
}
