//! Concurrent gRPC exports travel on separate HTTP/2 connections, one per concurrent export
//! (`batch_max_concurrent_exports`): a receiver that serves one connection's requests one after
//! another (rotel) is not a bottleneck, and behind a load balancer several replicas get traffic.
//! With one export at a time, one connection.
#![cfg(all(feature = "cli", feature = "gzip"))]

mod support;

use std::collections::HashSet;
use std::time::Duration;

use support::receiver::Receiver;
use tracewire::settings::Protocol;

fn connections_used(concurrent: &str) -> usize {
    // Each request is held 300 ms, so that the four are in flight together.
    let receiver = Receiver::slow(Duration::from_millis(300));
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("TRACEWIRE_BATCH_MAX_EXPORT_BATCH_SIZE", "1"),
            ("TRACEWIRE_BATCH_MAX_CONCURRENT_EXPORTS", concurrent),
        ])
        .with_otlp_endpoint(receiver.grpc_endpoint())
        .with_otlp_protocol(Protocol::Grpc)
        .set_default()
        .unwrap();
    for i in 0..4 {
        tracing::info_span!("work", i).in_scope(|| {});
    }
    guard.shutdown().expect("all delivered");
    let got = receiver.wait_for_requests(4, Duration::from_secs(10));
    assert_eq!(got.len(), 4);
    got.iter()
        .map(|r| r.peer.expect("the client's address"))
        .collect::<HashSet<_>>()
        .len()
}

#[test]
fn concurrent_exports_use_one_connection_each() {
    assert_eq!(connections_used("4"), 4);
    assert_eq!(connections_used("1"), 1);
}
