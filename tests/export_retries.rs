//! The span client's retries (the OTLP specification's policy): a transient refusal (gRPC
//! `UNAVAILABLE`, HTTP 503) is retried with backoff until the collector takes the batch, and
//! nothing is lost or counted twice; a permanent one (`INVALID_ARGUMENT`, HTTP 400) is not
//! retried and the batch is counted as failed. Over gRPC and HTTP/protobuf.
#![cfg(all(feature = "cli", feature = "gzip"))]

mod support;

use std::time::Duration;

use support::receiver::{Receiver, Refusal};
use tracewire::settings::Protocol;

fn export(receiver: &Receiver, protocol: Protocol) -> tracewire::Stats {
    let guard = receiver.builder(protocol).set_default().unwrap();
    for i in 0..3 {
        tracing::info_span!("work", i).in_scope(|| {});
    }
    let _ = guard.flush();
    let stats = guard.stats();
    let _ = guard.shutdown();
    stats
}

#[test]
fn transient_refusals_are_retried_until_the_batch_is_taken() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let receiver = Receiver::refusing_first(2, Refusal::Transient);
        let stats = export(&receiver, protocol);
        assert_eq!(
            (
                stats.exported_spans,
                stats.failed_spans,
                stats.failed_exports
            ),
            (3, 0, 0),
            "{protocol}: {stats:?}"
        );
        // Two refusals, then the one that was taken: the same batch each time.
        let got = receiver.wait_for_requests(3, Duration::from_secs(5));
        assert_eq!(got.len(), 3, "{protocol}");
        for r in &got {
            assert_eq!(r.span_names(), ["work", "work", "work"], "{protocol}");
        }
    }
}

#[test]
fn permanent_refusals_are_not_retried() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let receiver = Receiver::refusing_first(1, Refusal::Permanent);
        let stats = export(&receiver, protocol);
        assert_eq!(
            (
                stats.exported_spans,
                stats.failed_spans,
                stats.failed_exports
            ),
            (0, 3, 1),
            "{protocol}: {stats:?}"
        );
        let got = receiver.wait_for_requests(3, Duration::from_millis(500));
        // The gRPC diagnosis may ask the endpoint once, with an empty request, why it refused.
        let with_spans = got.iter().filter(|r| !r.span_names().is_empty()).count();
        assert_eq!(with_spans, 1, "{protocol}: one request, no retry");
    }
}
