//! Straight to a backend behind TLS: Debian's nginx terminates TLS in front of the real collector
//! (rotel), with a throw-away CA and client certificate. gRPC and HTTP over TLS deliver the
//! quickstart tree; with mutual TLS the client certificate is needed; a wrong CA fails; each
//! failure is counted with the reason in the report.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use support::tls::TlsFront;
use support::{Collector, workload};
use tracewire::settings::Protocol;

fn builder(
    url: String,
    protocol: Protocol,
    service: &str,
    env: &[(&str, String)],
) -> tracewire::Builder {
    tracewire::builder()
        .without_settings_file()
        .with_env(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .with_otlp_endpoint(url)
        .with_otlp_protocol(protocol)
        .with_otlp_timeout(Duration::from_secs(3))
        .with_shutdown_timeout(Duration::from_secs(5))
        .with_service_name(service)
        .with_service_version(workload::SERVICE_VERSION)
        .with_log_writer(std::io::sink())
}

/// This service's spans, once `n` arrived (bounded poll).
fn of_service(collector: &Collector, name: &str, n: usize) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mine: Vec<_> = collector
            .spans()
            .into_iter()
            .filter(|s| s["resource"]["service.name"] == name)
            .collect();
        if mine.len() >= n || std::time::Instant::now() > deadline {
            return mine;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn services(collector: &Collector) -> HashSet<String> {
    collector
        .spans()
        .iter()
        .filter_map(|s| s["resource"]["service.name"].as_str().map(String::from))
        .collect()
}

#[test]
fn tls_and_mutual_tls_to_a_real_collector() {
    let collector = Collector::start();
    let front = TlsFront::start(&collector);
    let ca = ("OTEL_EXPORTER_OTLP_CERTIFICATE", front.file("test-ca.pem"));
    let client = [
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            front.file("test-client.pem"),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            front.file("test-client.key"),
        ),
    ];
    let url = |port: u16| format!("https://127.0.0.1:{port}");

    // Delivered: TLS (gRPC, HTTP), and mutual TLS with the client certificate.
    for (name, port, protocol, mtls) in [
        ("tls-grpc", front.grpc_port, Protocol::Grpc, false),
        ("tls-http", front.http_port, Protocol::HttpProtobuf, false),
        ("mtls-grpc", front.grpc_mtls_port, Protocol::Grpc, true),
        (
            "mtls-http",
            front.http_mtls_port,
            Protocol::HttpProtobuf,
            true,
        ),
    ] {
        let mut env = vec![ca.clone()];
        if mtls {
            env.extend(client.iter().cloned());
        }
        let guard = builder(url(port), protocol, name, &env)
            .set_default()
            .unwrap();
        let trace_id = workload::run();
        guard
            .shutdown()
            .unwrap_or_else(|e| panic!("{name}: every span delivered: {e}"));
        workload::check_tree(
            &of_service(&collector, name, workload::SPANS),
            &trace_id,
            name,
        );
    }

    // Refused, counted, with the reason: no client certificate for mutual TLS; a CA that did
    // not sign the server's certificate.
    for (name, port, protocol, env, reason) in [
        (
            "no-cert-grpc",
            front.grpc_mtls_port,
            Protocol::Grpc,
            vec![ca.clone()],
            "certificate",
        ),
        (
            "no-cert-http",
            front.http_mtls_port,
            Protocol::HttpProtobuf,
            vec![ca.clone()],
            "certificate",
        ),
        (
            "wrong-ca-grpc",
            front.grpc_port,
            Protocol::Grpc,
            vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", front.file("other-ca.pem"))],
            "certificate",
        ),
        (
            "wrong-ca-http",
            front.http_port,
            Protocol::HttpProtobuf,
            vec![("OTEL_EXPORTER_OTLP_CERTIFICATE", front.file("other-ca.pem"))],
            "UnknownIssuer",
        ),
    ] {
        let guard = builder(url(port), protocol, name, &env)
            .set_default()
            .unwrap();
        workload::run();
        let err = guard.shutdown().expect_err(name).to_string();
        assert!(err.contains("8 failed"), "{name}: counted: {err}");
        assert!(
            err.contains(reason),
            "{name}: the reason is in the report: {err}"
        );
    }
    let arrived = services(&collector);
    for refused in [
        "no-cert-grpc",
        "no-cert-http",
        "wrong-ca-grpc",
        "wrong-ca-http",
    ] {
        assert!(
            !arrived.contains(refused),
            "{refused} reached the collector"
        );
    }
}
