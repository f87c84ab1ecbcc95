//! With an endpoint that hangs or refuses, shutdown returns within `shutdown_timeout_ms` + 1 s
//! and reports the spans it could not deliver, with the final counts on the error.

mod support;

use std::time::{Duration, Instant};

use support::{Fault, FaultyEndpoint};
use tracewire::settings::Protocol;

const SHUTDOWN: Duration = Duration::from_millis(1000);

fn shutdown_time(
    endpoint: String,
    protocol: Protocol,
) -> (Duration, tracewire::Result<tracewire::Stats>) {
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(endpoint)
        .with_otlp_protocol(protocol)
        // Longer than the shutdown bound on purpose: shutdown must not wait for it.
        .with_otlp_timeout(Duration::from_secs(30))
        .with_shutdown_timeout(SHUTDOWN)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    for i in 0..10 {
        tracing::info_span!("request", i).in_scope(|| tracing::info!("handled"));
    }
    let start = Instant::now();
    let result = guard.shutdown();
    (start.elapsed(), result)
}

#[test]
fn stalled_endpoint_grpc_and_http() {
    let stalled = FaultyEndpoint::start(Fault::Stall);
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let (took, result) = shutdown_time(format!("http://127.0.0.1:{}", stalled.port), protocol);
        assert!(
            took <= SHUTDOWN + Duration::from_secs(1),
            "{protocol}: shutdown took {took:?}"
        );
        let err = result.expect_err("undelivered spans are reported");
        assert!(err.to_string().contains("not"), "{protocol}: {err}");
    }
}

#[test]
fn refused_endpoint_grpc_and_http() {
    // A port nobody listens on: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let (took, result) = shutdown_time(format!("http://127.0.0.1:{port}"), protocol);
        assert!(
            took <= SHUTDOWN + Duration::from_secs(1),
            "{protocol}: shutdown took {took:?}"
        );
        let err = result.expect_err("undelivered spans are reported");
        // The final counts come with the error, without parsing its text.
        let stats = err
            .stats()
            .expect("a shutdown error carries the final counts");
        assert_eq!(stats.exported_spans, 0, "{protocol}: {stats:?}");
        assert_eq!(
            stats.dropped(),
            10,
            "{protocol}: every span counted: {stats:?}"
        );
    }
}
