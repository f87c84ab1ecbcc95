//! `init()` inside `#[tokio::main]` (multi-thread): no "no reactor running" panic, spans from
//! tasks on every worker arrive, and shutdown from inside the runtime does not hang.

mod support;

use support::{Collector, check_delivered, to_collector, workload};
use tracewire::settings::Protocol;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_inside_a_multi_thread_runtime() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::HttpProtobuf, "tokio-multi")
        .with_log_writer(std::io::sink())
        .init()
        .expect("init inside a runtime");

    let trace_id = workload::handle_order(42, 3, true, 1.5).await.unwrap();
    guard.shutdown().expect("delivered");
    check_delivered(&collector, &trace_id, "tokio-multi");
}
