//! `otlp_compression = "gzip"`: requests go out gzip-compressed over gRPC and HTTP/protobuf
//! (seen by a receiver in the test that records the encoding), and a real collector (rotel)
//! receives the whole tree intact over both.
#![cfg(all(feature = "gzip", feature = "cli"))]

mod support;

use std::time::Duration;

use support::receiver::Receiver;
use support::{Collector, check_delivered, to_collector, workload};
use tracewire::settings::Protocol;

#[test]
fn gzip_requests_reach_a_real_collector_over_both_protocols() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let collector = Collector::start();
        let guard = to_collector(&collector, protocol, "gzip-test")
            .with_setting("otlp_compression", "gzip")
            .set_default()
            .unwrap();
        let trace_id = workload::run();
        guard.shutdown().expect("every span delivered");
        check_delivered(&collector, &trace_id, "gzip-test");
    }
}

#[test]
fn requests_are_gzip_encoded_only_when_asked() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        for gzip in [true, false] {
            let receiver = Receiver::start();
            let guard = receiver
                .builder(protocol)
                .with_setting("otlp_compression", if gzip { "gzip" } else { "none" })
                .set_default()
                .unwrap();
            tracing::info_span!("compressed?").in_scope(|| {});
            guard.shutdown().expect("delivered");
            let got = receiver.wait_for_requests(1, Duration::from_secs(10));
            assert_eq!(got.len(), 1, "{protocol} gzip={gzip}");
            assert_eq!(
                got[0].span_names(),
                ["compressed?"],
                "{protocol} gzip={gzip}"
            );
            assert_eq!(
                got[0].encoding.as_deref(),
                gzip.then_some("gzip"),
                "{protocol} gzip={gzip}"
            );
            let agent = got[0].user_agent.as_deref().unwrap_or("");
            assert!(
                agent.contains("OTel-OTLP-Exporter-Rust"),
                "{protocol}: {agent}"
            );
        }
    }
}
