//! `init()` inside `#[tokio::main]` (multi-thread): no "no reactor running" panic, spans from
//! tasks on every worker arrive, and shutdown from inside the runtime does not hang.

mod support;

use std::time::Duration;

use support::{Collector, workload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_inside_a_multi_thread_runtime() {
    let collector = Collector::start();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(collector.http_endpoint())
        .with_service_name("tokio-multi")
        .with_service_version(workload::SERVICE_VERSION)
        .with_log_writer(std::io::sink())
        .init()
        .expect("init inside a runtime");

    let trace_id = workload::handle_order(42, 3, true, 1.5).await.unwrap();
    guard.shutdown().expect("delivered");
    let spans = collector.wait_for_spans(workload::SPANS, Duration::from_secs(10));
    workload::check_tree(&spans, &trace_id, "tokio-multi");
}
