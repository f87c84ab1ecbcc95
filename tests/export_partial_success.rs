//! A collector that accepts a request but rejects part of it (OTLP partial success): the
//! rejected spans are counted as failed, not as delivered, the collector's reason is in the
//! report, and the request is not retried (the specification: a partial success is final).
#![cfg(all(feature = "cli", feature = "gzip"))]

mod support;

use std::time::Duration;

use support::receiver::Receiver;
use tracewire::settings::Protocol;

#[test]
fn rejected_spans_are_counted_and_explained_over_both_protocols() {
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let receiver = Receiver::rejecting(2, "spans older than 24h dropped");
        let guard = receiver.builder(protocol).set_default().unwrap();
        for i in 0..5 {
            tracing::info_span!("work", i).in_scope(|| {});
        }
        guard.flush().expect("the flush itself completes");
        let stats = guard.stats();
        assert_eq!(
            (stats.exported_spans, stats.failed_spans),
            (3, 2),
            "{protocol}: {stats:?}"
        );
        let err = guard.shutdown().expect_err("a rejection is reported");
        let report = err.to_string();
        assert!(
            report.contains("rejected 2 of 5") && report.contains("spans older than 24h dropped"),
            "{protocol}: {report}"
        );
        let got = receiver.wait_for_requests(2, Duration::from_millis(300));
        assert_eq!(got.len(), 1, "{protocol}: a partial success is not retried");
    }
}
