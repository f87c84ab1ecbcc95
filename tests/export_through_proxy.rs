//! Behind an egress proxy: with `HTTPS_PROXY`/`HTTP_PROXY` set, OTLP over gRPC and over HTTP
//! (spans and metrics) reaches the real collector through a real forward proxy (tinyproxy, its
//! log proving the path) with the proxy's credentials; `NO_PROXY` sends it direct; the
//! credentials appear in no output; a proxy that is down is named (host and port) in the report.

mod support;

use std::time::Duration;

use support::{Collector, ForwardProxy};

fn run(collector: &Collector, protocol: &str, proxy_env: &[(&str, String)]) -> tracewire::Stats {
    let endpoint = if protocol == "grpc" {
        collector.grpc_endpoint()
    } else {
        collector.http_endpoint()
    };
    let mut env: Vec<(&str, String)> = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".into()),
    ];
    env.extend(proxy_env.iter().cloned());
    let settings = tracewire::builder()
        .without_settings_file()
        .with_env(env.clone())
        .settings()
        .unwrap();
    let shown = format!("{}{:?}", settings.explain(), settings);
    assert!(
        !shown.contains(ForwardProxy::PASSWORD),
        "credentials printed: {shown}"
    );
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env(env)
        .with_service_name(format!("proxied-{protocol}"))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let orders = guard.meter("shop").unwrap().u64_counter("orders").build();
    for i in 0..3 {
        tracing::info_span!("request", i).in_scope(|| orders.add(1, &[]));
    }
    match guard.shutdown() {
        Ok(stats) => stats,
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains(ForwardProxy::PASSWORD), "{text}");
            panic!("not delivered: {text}");
        }
    }
}

fn connects(proxy: &ForwardProxy, port: u16) -> usize {
    proxy
        .log()
        .lines()
        .filter(|l| l.contains("CONNECT") && l.contains(&format!("127.0.0.1:{port}")))
        .count()
}

#[test]
fn otlp_goes_through_the_proxy_unless_no_proxy_says_otherwise() {
    let collector = Collector::start();
    let proxy = ForwardProxy::start();
    for (protocol, port) in [
        ("grpc", collector.grpc_port),
        ("http/protobuf", collector.http_port),
    ] {
        let before = connects(&proxy, port);
        let stats = run(
            &collector,
            protocol,
            &[("HTTPS_PROXY", proxy.url()), ("HTTP_PROXY", proxy.url())],
        );
        assert_eq!(stats.exported_spans, 3, "{protocol}: {stats:?}");
        assert!(stats.exported_metric_batches >= 1, "{protocol}: {stats:?}");
        let service = format!("proxied-{protocol}");
        let spans = collector.wait_for_spans(1, Duration::from_secs(10));
        assert!(
            spans
                .iter()
                .any(|s| s["resource"]["service.name"] == service.as_str()),
            "{protocol}: spans at the collector"
        );
        assert!(
            connects(&proxy, port) > before,
            "{protocol}: the proxy's log shows the tunnel:\n{}",
            proxy.log()
        );

        let before = connects(&proxy, port);
        let stats = run(
            &collector,
            protocol,
            &[
                ("http_proxy", proxy.url()),
                ("NO_PROXY", "localhost,127.0.0.1".into()),
            ],
        );
        assert_eq!(stats.exported_spans, 3, "{protocol}: {stats:?}");
        assert_eq!(
            connects(&proxy, port),
            before,
            "{protocol}: NO_PROXY goes direct"
        );
    }
}

#[test]
fn a_proxy_that_is_down_is_named_without_its_credentials() {
    let collector = Collector::start();
    let closed = support::free_port();
    let url = format!(
        "http://{}:{}@127.0.0.1:{closed}",
        ForwardProxy::USER,
        ForwardProxy::PASSWORD
    );
    for protocol in ["grpc", "http/protobuf"] {
        let endpoint = if protocol == "grpc" {
            collector.grpc_endpoint()
        } else {
            collector.http_endpoint()
        };
        let guard = tracewire::builder()
            .without_settings_file()
            .with_env([
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000".into()),
                ("OTEL_METRICS_EXPORTER", "none".into()),
                ("HTTP_PROXY", url.clone()),
            ])
            .with_shutdown_timeout(Duration::from_secs(3))
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        tracing::info_span!("request").in_scope(|| {});
        let err = guard.shutdown().expect_err("the proxy is down");
        let text = err.to_string();
        assert!(!text.contains(ForwardProxy::PASSWORD), "{protocol}: {text}");
        assert!(
            text.contains(&format!("through the proxy 127.0.0.1:{closed}")),
            "{protocol}: the proxy is named: {text}"
        );
        assert_eq!(err.stats().unwrap().dropped(), 1, "{protocol}: {text}");
    }
}
