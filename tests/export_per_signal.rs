//! Each signal goes where the specification's per-signal variables say: spans to one real
//! collector, metrics and log records to another (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`,
//! `…_LOGS_ENDPOINT`, each with its own protocol), at sampling 1 and 0. And a backend that does
//! not take a signal (a trace-only receiver: gRPC `UNIMPLEMENTED`, HTTP 404) turns that signal
//! off after one failed export instead of failing every interval.

mod support;

use std::time::Duration;

use support::Collector;
use support::receiver::Receiver;

#[test]
fn spans_metrics_and_logs_each_reach_their_own_collector() {
    for rate in [1.0, 0.0] {
        let spans_at = Collector::start();
        let metrics_at = Collector::start();
        let guard = tracewire::builder()
            .without_settings_file()
            .with_env([
                ("OTEL_EXPORTER_OTLP_ENDPOINT", spans_at.grpc_endpoint()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
                // A signal's own endpoint is used as is: the path is given.
                (
                    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                    format!("{}/v1/metrics", metrics_at.http_endpoint()),
                ),
                (
                    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
                    "http/protobuf".into(),
                ),
                (
                    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                    metrics_at.grpc_endpoint(),
                ),
                ("OTEL_LOGS_EXPORTER", "otlp".into()),
                ("OTEL_TRACES_SAMPLER_ARG", rate.to_string()),
            ])
            .with_service_name("per-signal")
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        let orders = guard.meter("shop").unwrap().u64_counter("orders").build();
        for i in 0..5 {
            tracing::info_span!("request", i).in_scope(|| {
                orders.add(1, &[]);
                tracing::info!(i, "handled");
            });
        }
        let stats = guard.shutdown().expect("everything delivered");
        let what = format!("rate {rate}: {stats:?}");
        assert_eq!(
            stats.exported_spans,
            if rate > 0.0 { 5 } else { 0 },
            "{what}"
        );
        assert!(stats.exported_metric_batches >= 1, "{what}");
        assert_eq!(stats.exported_logs, 5, "{what}");

        if rate > 0.0 {
            assert_eq!(spans_at.wait_for_spans(5, Duration::from_secs(10)).len(), 5);
        }
        let bounded = |what: &str, f: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !f() {
                assert!(std::time::Instant::now() < deadline, "{what}");
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        bounded("metrics at the metrics collector", &|| {
            !metrics_at.metric_points().is_empty()
        });
        bounded("log records at the metrics collector", &|| {
            metrics_at.logs().len() >= 5
        });
        let orders_seen = metrics_at
            .metric_points()
            .iter()
            .any(|p| p.to_string().contains("orders"));
        assert!(
            orders_seen,
            "rate {rate}: the counter reached its collector"
        );
        assert!(metrics_at.spans().is_empty(), "rate {rate}: no span there");
        assert!(
            spans_at.metric_points().is_empty() && spans_at.logs().is_empty(),
            "rate {rate}: nothing but spans at the span collector"
        );
    }
}

#[test]
fn a_trace_only_backend_turns_metrics_off_after_one_failure() {
    let receiver = Receiver::start();
    for (endpoint, protocol) in [
        (receiver.grpc_endpoint(), "grpc"),
        (receiver.http_endpoint(), "http/protobuf"),
    ] {
        let guard = tracewire::builder()
            .without_settings_file()
            .with_env([
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ])
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        let orders = guard.meter("shop").unwrap().u64_counter("orders").build();
        for _ in 0..4 {
            tracing::info_span!("request").in_scope(|| orders.add(1, &[]));
            let _ = guard.flush();
        }
        let stats = guard.stats();
        assert_eq!(
            stats.failed_metric_batches, 1,
            "{protocol}: one failed export, then metrics are off: {stats:?}"
        );
        let stats = guard.shutdown().expect("spans delivered, metrics off");
        assert_eq!(
            stats.exported_spans, 4,
            "{protocol}: spans still go: {stats:?}"
        );
        assert_eq!(stats.failed_metric_batches, 1, "{protocol}: {stats:?}");
    }
}
