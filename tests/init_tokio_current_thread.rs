//! `init()` inside `#[tokio::main(flavor = "current_thread")]`: export does not depend on the
//! user's single thread, and shutting down from inside `block_on` neither hangs nor loses spans.

mod support;

use support::{Collector, check_delivered, to_collector, workload};
use tracewire::settings::Protocol;

#[tokio::test(flavor = "current_thread")]
async fn init_inside_a_current_thread_runtime() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::Grpc, "tokio-current")
        .with_log_writer(std::io::sink())
        .init()
        .expect("init inside a current-thread runtime");

    let trace_id = workload::handle_order(42, 3, true, 1.5).await.unwrap();
    guard.shutdown().expect("delivered, from inside block_on");
    check_delivered(&collector, &trace_id, "tokio-current");
}
