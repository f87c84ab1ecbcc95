//! Over OTLP/gRPC, the quickstart-like tree reaches a real collector intact, and the JSON log
//! lines carry the ids of the spans that arrived.

mod support;

use support::{Captured, Collector, check_delivered, to_collector, workload};
use tracewire::settings::Protocol;

#[test]
fn grpc_export_delivers_the_tree_and_log_ids_match() {
    let collector = Collector::start();
    let logs = Captured::default();
    let guard = to_collector(&collector, Protocol::Grpc, "grpc-test")
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();

    let trace_id = workload::run();
    guard.shutdown().expect("every span delivered");

    let ids = check_delivered(&collector, &trace_id, "grpc-test");
    workload::check_logs(&logs.json_lines(), &trace_id, &ids);
}
