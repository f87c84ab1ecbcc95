//! Over OTLP/gRPC, the quickstart-like tree reaches a real collector intact, and the JSON log
//! lines carry the ids of the spans that arrived.

mod support;

use std::time::Duration;

use support::{Captured, Collector, workload};

#[test]
fn grpc_export_delivers_the_tree_and_log_ids_match() {
    let collector = Collector::start();
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(collector.grpc_endpoint())
        .with_otlp_protocol(tracewire::Protocol::Grpc)
        .with_service_name("grpc-test")
        .with_service_version(workload::SERVICE_VERSION)
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();

    let trace_id = workload::run();
    guard.shutdown().expect("every span delivered");

    let spans = collector.wait_for_spans(workload::SPANS, Duration::from_secs(10));
    let ids = workload::check_tree(&spans, &trace_id, "grpc-test");
    workload::check_logs(&logs.json_lines(), &trace_id, &ids);
}
