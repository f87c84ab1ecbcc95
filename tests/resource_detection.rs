//! The resource at the real collector: detected `service.instance.id` (a UUID, one per
//! process), `host.*`, `os.*`, `process.*` and Kubernetes attributes from the downward-API
//! environment the OpenTelemetry Operator injects; `OTEL_RESOURCE_ATTRIBUTES` wins over anything
//! detected; detectors switched off one by one.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::Collector;

fn resource_of(collector: &Collector, service: &str, env: &[(&str, &str)]) -> Value {
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env(env.iter().copied())
        .with_otlp_endpoint(collector.grpc_endpoint())
        .with_otlp_protocol(tracewire::settings::Protocol::Grpc)
        .with_service_name(service)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    tracing::info_span!("work").in_scope(|| {});
    guard.shutdown().expect("delivered");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = collector
            .spans()
            .into_iter()
            .find(|s| s["resource"]["service.name"] == service)
        {
            return s["resource"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "no span of {service}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn detected_attributes_and_their_precedence() {
    let collector = Collector::start();

    let r = resource_of(&collector, "plain", &[]);
    let id = r["service.instance.id"].as_str().expect("an instance id");
    assert_eq!((id.len(), &id[14..15]), (36, "4"), "a UUID v4: {id}");
    assert_eq!(r["os.type"], "linux");
    assert!(
        r["host.name"].is_string() && r["host.arch"].is_string(),
        "{r}"
    );
    assert_eq!(r["process.pid"], i64::from(std::process::id()));
    assert!(r["process.executable.name"].is_string(), "{r}");
    assert!(r.get("k8s.pod.name").is_none(), "not in Kubernetes: {r}");

    let again = resource_of(&collector, "plain-again", &[]);
    assert_eq!(
        again["service.instance.id"], id,
        "one instance id per process"
    );

    // What the Operator injects for a pod (values joined raw, as it does).
    let r = resource_of(
        &collector,
        "in-a-pod",
        &[
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            ("HOSTNAME", "web-7f9c-x2"),
            ("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "web-7f9c-x2"),
            ("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "node-3"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "k8s.namespace.name=shop,k8s.container.name=web,k8s.deployment.name=web,service.instance.id=shop.web-7f9c-x2.web,host.name=from-operator",
            ),
        ],
    );
    assert_eq!(r["k8s.pod.name"], "web-7f9c-x2");
    assert_eq!(r["k8s.node.name"], "node-3");
    assert_eq!(r["k8s.namespace.name"], "shop");
    assert_eq!(
        r["service.instance.id"], "shop.web-7f9c-x2.web",
        "the Operator's wins"
    );
    assert_eq!(r["host.name"], "from-operator", "the user's attributes win");

    let r = resource_of(
        &collector,
        "no-detectors",
        &[("OTEL_RUST_RESOURCE_DETECTORS", "none")],
    );
    for absent in ["service.instance.id", "host.name", "os.type", "process.pid"] {
        assert!(r.get(absent).is_none(), "{absent} with detectors off: {r}");
    }
    assert_eq!(r["telemetry.sdk.language"], "rust");

    let r = resource_of(
        &collector,
        "host-only",
        &[("OTEL_RUST_RESOURCE_DETECTORS", "host,carrier-pigeon")],
    );
    assert!(r["host.name"].is_string(), "{r}");
    assert!(
        r.get("os.type").is_none() && r.get("process.pid").is_none(),
        "{r}"
    );
}
