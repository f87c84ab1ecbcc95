//! No silent protocol mismatch, against the real collector: a gRPC port that is not 4317 (so
//! HTTP/protobuf is inferred) and gRPC sent to an HTTP port both fail with an error that says
//! which protocol the endpoint seems to speak and which setting to change; an operator's endpoint
//! is not paired with a protocol from a lower level (settings.toml), and `explain` says so.

mod support;

use std::time::Duration;

use support::{Collector, workload};
use tracewire::settings::Protocol;

fn attempt(builder: tracewire::Builder) -> String {
    let guard = builder
        .with_otlp_timeout(Duration::from_secs(3))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    workload::run();
    guard.shutdown().expect_err("nothing delivered").to_string()
}

fn base() -> tracewire::Builder {
    tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
}

#[test]
fn the_wrong_protocol_for_a_port_says_what_to_change() {
    let collector = Collector::start();
    // Port is not 4317: HTTP/protobuf is inferred, but the port speaks gRPC.
    let err = attempt(base().with_otlp_endpoint(collector.grpc_endpoint()));
    eprintln!("http to grpc: {err}");
    assert!(err.contains("set otlp_protocol = \"grpc\""), "{err}");
    // gRPC said, to the HTTP port.
    let err = attempt(
        base()
            .with_otlp_endpoint(collector.http_endpoint())
            .with_otlp_protocol(Protocol::Grpc),
    );
    eprintln!("grpc to http: {err}");
    assert!(
        err.contains("set otlp_protocol = \"http/protobuf\""),
        "{err}"
    );
    assert!(collector.spans().is_empty());
}

#[test]
fn a_protocol_from_a_lower_level_is_not_paired_with_the_endpoint() {
    let collector = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.toml");
    std::fs::write(&file, "[observability]\notlp_protocol = \"grpc\"\n").unwrap();
    let endpoint = collector.http_endpoint();
    let builder = || {
        tracewire::builder()
            .with_settings_file(&file)
            .with_env([("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())])
            .with_service_name("mixed")
            .with_service_version(workload::SERVICE_VERSION)
            .with_log_writer(std::io::sink())
    };
    let explained = builder().settings().unwrap().explain().to_string();
    assert!(
        explained.contains("ignored: set at a lower level than otlp_endpoint"),
        "{explained}"
    );
    assert!(
        explained.contains("# spans go to: otlp http/protobuf"),
        "{explained}"
    );
    let guard = builder().set_default().unwrap();
    let trace_id = workload::run();
    guard
        .shutdown()
        .expect("delivered over HTTP to the HTTP port");
    support::check_delivered(&collector, &trace_id, "mixed");
}
