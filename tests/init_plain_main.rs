//! `init()` from a plain `fn main` with no runtime: spans reach the collector; a second
//! `init()` returns "already initialized" and the first stack keeps working.

mod support;

use support::{Collector, check_delivered, to_collector, workload};
use tracewire::ErrorKind;
use tracewire::settings::Protocol;

#[test]
fn init_without_a_runtime_exports_and_second_init_is_refused() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::Grpc, "plain-main")
        .with_log_writer(std::io::sink())
        .init()
        .expect("first init");

    let again = tracewire::init().expect_err("second init is refused");
    assert_eq!(again.kind(), ErrorKind::AlreadyInitialized);

    let trace_id = workload::run();
    guard.shutdown().expect("delivered");
    check_delivered(&collector, &trace_id, "plain-main");
}
