//! Endpoints that stall, answer 503 or reset: each export gives up within `otlp_timeout_ms`,
//! failures are counted, the service never panics, and shutdown stays bounded.

mod support;

use std::time::{Duration, Instant};

use support::{Fault, FaultyEndpoint};
use tracewire::settings::Protocol;

const TIMEOUT: Duration = Duration::from_millis(300);

fn exercise(port: u16, protocol: Protocol) -> tracewire::Stats {
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .with_otlp_protocol(protocol)
        .with_otlp_timeout(TIMEOUT)
        .with_shutdown_timeout(Duration::from_secs(1))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    for i in 0..10 {
        tracing::info_span!("request", i).in_scope(|| tracing::info!("handled"));
    }
    let start = Instant::now();
    let _ = guard.flush();
    let took = start.elapsed();
    assert!(
        took < TIMEOUT + Duration::from_secs(1),
        "{protocol}: one export gave up after {took:?}"
    );
    let stats = guard.stats();
    let start = Instant::now();
    assert!(
        guard.shutdown().is_err(),
        "{protocol}: the loss is reported"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{protocol}: shutdown bounded"
    );
    stats
}

#[test]
fn stalled_endpoint_times_out_per_otlp_timeout() {
    let stalled = FaultyEndpoint::start(Fault::Stall);
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let stats = exercise(stalled.port, protocol);
        // No answer is not a no: counted as timed out (it may have arrived), not as failed.
        assert_eq!(stats.timed_out_spans, 10, "{protocol}: {stats:?}");
        assert_eq!(stats.failed_spans, 0, "{protocol}: {stats:?}");
    }
}

#[test]
fn http_503_is_a_counted_failure() {
    let endpoint = FaultyEndpoint::start(Fault::Http503);
    let stats = exercise(endpoint.port, Protocol::HttpProtobuf);
    assert_eq!(stats.failed_spans, 10, "{stats:?}");
    assert_eq!(stats.exported_spans, 0);
}

#[test]
fn reset_connections_are_counted_failures() {
    let endpoint = FaultyEndpoint::start(Fault::Reset);
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let stats = exercise(endpoint.port, protocol);
        assert_eq!(stats.failed_spans, 10, "{protocol}: {stats:?}");
    }
}
