//! `init()` from a plain `fn main` with no runtime: spans reach the collector; a second
//! `init()` returns "already initialized" and the first stack keeps working.

mod support;

use std::time::Duration;

use support::{Collector, workload};
use tracewire::ErrorKind;

#[test]
fn init_without_a_runtime_exports_and_second_init_is_refused() {
    let collector = Collector::start();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(collector.grpc_endpoint())
        .with_otlp_protocol(tracewire::Protocol::Grpc)
        .with_service_name("plain-main")
        .with_service_version(workload::SERVICE_VERSION)
        .with_log_writer(std::io::sink())
        .init()
        .expect("first init");

    let again = tracewire::init().expect_err("second init is refused");
    assert_eq!(again.kind(), ErrorKind::AlreadyInitialized);

    let trace_id = workload::run();
    guard.shutdown().expect("delivered");
    let spans = collector.wait_for_spans(workload::SPANS, Duration::from_secs(10));
    workload::check_tree(&spans, &trace_id, "plain-main");
}
