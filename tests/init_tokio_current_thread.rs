//! `init()` inside `#[tokio::main(flavor = "current_thread")]`: export does not depend on the
//! user's single thread, and shutting down from inside `block_on` neither hangs nor loses spans.

mod support;

use std::time::Duration;

use support::{Collector, workload};

#[tokio::test(flavor = "current_thread")]
async fn init_inside_a_current_thread_runtime() {
    let collector = Collector::start();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(collector.grpc_endpoint())
        .with_otlp_protocol(tracewire::Protocol::Grpc)
        .with_service_name("tokio-current")
        .with_service_version(workload::SERVICE_VERSION)
        .with_log_writer(std::io::sink())
        .init()
        .expect("init inside a current-thread runtime");

    let trace_id = workload::handle_order(42, 3, true, 1.5).await.unwrap();
    guard.shutdown().expect("delivered, from inside block_on");
    let spans = collector.wait_for_spans(workload::SPANS, Duration::from_secs(10));
    workload::check_tree(&spans, &trace_id, "tokio-current");
}
