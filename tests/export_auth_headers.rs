//! `otlp_headers` reach an authenticated backend on every signal and protocol: Debian's nginx
//! (TLS) answers 401 unless `x-api-key` is right, in front of the real collector. Spans, OTLP
//! log records and metrics are delivered over gRPC and HTTP with the key from `settings.toml`,
//! `TRACEWIRE_OTLP_HEADERS` or `OTEL_EXPORTER_OTLP_HEADERS`; without it nothing gets through and
//! the guard says so. (The gRPC log exporter once never received `otlp_headers`.)

mod support;

use std::time::{Duration, Instant};

use support::Collector;
use support::tls::{API_KEY, TlsFront};
use tracewire::settings::Protocol;

/// Where the key is set.
#[derive(Debug, Clone, Copy)]
enum From {
    File,
    TracewireEnv,
    OtelEnv,
    Nowhere,
}

fn emit(front: &TlsFront, port: u16, protocol: Protocol, from: From, service: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.toml");
    let header = format!("x-api-key={API_KEY}");
    let mut env = vec![
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE".to_string(),
            front.file("test-ca.pem"),
        ),
        ("OTEL_LOGS_EXPORTER".to_string(), "otlp".to_string()),
    ];
    let mut toml = "[observability]\n".to_string();
    match from {
        From::File => toml.push_str(&format!("otlp_headers = {{ x-api-key = \"{API_KEY}\" }}\n")),
        From::TracewireEnv => env.push(("TRACEWIRE_OTLP_HEADERS".into(), header)),
        From::OtelEnv => env.push(("OTEL_EXPORTER_OTLP_HEADERS".into(), header)),
        From::Nowhere => {}
    }
    std::fs::write(&file, toml).unwrap();
    let guard = tracewire::builder()
        .with_settings_file(&file)
        .with_env(env)
        .with_otlp_endpoint(format!("https://127.0.0.1:{port}"))
        .with_otlp_protocol(protocol)
        .with_otlp_timeout(Duration::from_secs(3))
        .with_shutdown_timeout(Duration::from_secs(5))
        .with_service_name(service)
        .with_setting("span_metrics", true)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    tracing::info_span!("authenticated").in_scope(|| tracing::info!("record through the front"));
    guard.shutdown().is_ok()
}

/// Spans, log records and metric points (the span-metrics counter and histogram) received.
fn arrived(collector: &Collector, service: &str) -> (usize, usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let of = |v: Vec<serde_json::Value>| {
            v.iter()
                .filter(|s| s["resource"]["service.name"] == service)
                .count()
        };
        let got = (
            of(collector.spans()),
            of(collector.logs()),
            of(collector.metric_points()),
        );
        if got == (1, 1, 2) || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn headers_reach_the_backend_for_spans_and_log_records() {
    let collector = Collector::start();
    let front = TlsFront::start(&collector);
    for (protocol, port) in [
        (Protocol::Grpc, front.grpc_auth_port),
        (Protocol::HttpProtobuf, front.http_auth_port),
    ] {
        for from in [From::File, From::TracewireEnv, From::OtelEnv] {
            let service = format!("auth-{protocol}-{from:?}").replace('/', "-");
            let ok = emit(&front, port, protocol, from, &service);
            assert_eq!(
                arrived(&collector, &service),
                (1, 1, 2),
                "{protocol}, key from {from:?}: one span, one log record, two metric points"
            );
            assert!(
                ok,
                "{protocol}, key from {from:?}: the guard reports delivery"
            );
        }
    }
}

#[test]
fn without_the_key_nothing_gets_through_and_the_guard_says_so() {
    let collector = Collector::start();
    let front = TlsFront::start(&collector);
    for (protocol, port) in [
        (Protocol::Grpc, front.grpc_auth_port),
        (Protocol::HttpProtobuf, front.http_auth_port),
    ] {
        let service = format!("noauth-{protocol}").replace('/', "-");
        let ok = emit(&front, port, protocol, From::Nowhere, &service);
        assert!(!ok, "{protocol}: a rejected export is reported");
        // The rejected requests have come back; a span let through would be there by now.
        let of = |v: Vec<serde_json::Value>| {
            v.iter()
                .filter(|s| s["resource"]["service.name"] == service.as_str())
                .count()
        };
        assert_eq!(
            (of(collector.spans()), of(collector.logs())),
            (0, 0),
            "{protocol}"
        );
    }
}
