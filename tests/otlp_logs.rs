//! `logs_enabled`: tracing events become OTLP log records carrying the span's ids, received by
//! a real collector over gRPC and HTTP; they are then not duplicated as span events unless
//! `span_events_with_logs` asks for both; secrets are redacted there too.

mod support;

use std::time::{Duration, Instant};

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

fn run(
    protocol: Protocol,
    env: &[(&str, &str)],
) -> (Collector, serde_json::Value, Vec<serde_json::Value>) {
    let collector = Collector::start();
    let guard = to_collector(&collector, protocol, "logs-test")
        .with_env(env.iter().copied())
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    tracing::info_span!("checkout").in_scope(|| {
        tracing::info!(order_id = 42u64, password = "hunter2", "order placed");
        tracing::error!(error = "card declined", "payment failed");
    });
    guard.shutdown().expect("delivered");
    let spans = collector.wait_for_spans(1, Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    while collector.logs().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let logs = collector.logs();
    (collector, spans[0].clone(), logs)
}

#[test]
fn events_become_log_records_with_the_span_ids() {
    for (protocol, env) in [
        (Protocol::Grpc, [("OTEL_LOGS_EXPORTER", "otlp")]),
        (Protocol::HttpProtobuf, [("TRACEWIRE_LOGS_ENABLED", "true")]),
    ] {
        let (_c, span, logs) = run(protocol, &env);
        assert_eq!(logs.len(), 2, "{protocol}: {logs:#?}");
        let placed = logs
            .iter()
            .find(|l| l["body"] == "order placed")
            .expect("the info record");
        assert_eq!(placed["trace_id"], span["trace_id"], "{protocol}");
        assert_eq!(placed["span_id"], span["span_id"], "{protocol}");
        assert_eq!(placed["severity_text"], "INFO");
        assert_eq!(placed["attributes"]["order_id"], 42, "typed");
        assert_eq!(
            placed["attributes"]["password"],
            tracewire::settings::REDACTED
        );
        assert_eq!(placed["resource"]["service.name"], "logs-test");
        let failed = logs
            .iter()
            .find(|l| l["body"] == "payment failed")
            .expect("the error record");
        assert_eq!(failed["severity_text"], "ERROR");

        let names: Vec<&str> = span["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["exception"],
            "{protocol}: only the exception stays on the span"
        );
        assert_eq!(span["status"]["code"], "ERROR");
    }
}

#[test]
fn both_when_asked() {
    let (_c, span, logs) = run(
        Protocol::Grpc,
        &[
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("TRACEWIRE_SPAN_EVENTS_WITH_LOGS", "true"),
        ],
    );
    assert_eq!(logs.len(), 2);
    assert!(
        span["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "order placed")
    );
}
