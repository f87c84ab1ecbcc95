//! What `init()` configures travels with the stack, not in process globals: `propagators` and
//! `exclude_paths` are honoured by `set_default()`, by the test kit, and by a `ServerLayer` built
//! before the stack existed (before: all three silently ignored them).

mod support;

use std::collections::HashMap;
use std::convert::Infallible;

use support::file_sink_spans;
use tower::{Layer as _, ServiceExt as _};
use tracewire::http::ServerLayer;

#[test]
fn propagators_are_the_current_stacks() {
    let inject = |env: &[(&str, &str)]| {
        let guard = tracewire::builder()
            .without_settings_file()
            .with_env(
                env.iter()
                    .copied()
                    .chain([("OTEL_TRACES_EXPORTER", "none")]),
            )
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        let mut out: HashMap<String, String> = HashMap::new();
        tracing::info_span!("call").in_scope(|| tracewire::propagation::inject(&mut out));
        guard.shutdown().unwrap();
        out
    };
    assert!(inject(&[("OTEL_PROPAGATORS", "none")]).is_empty());
    assert!(!inject(&[("OTEL_PROPAGATORS", "baggage")]).contains_key("traceparent"));
    assert!(inject(&[]).contains_key("traceparent"));
}

#[test]
fn a_trace_layer_built_before_the_stack_honours_its_exclusions() {
    // Built first, as a router often is.
    let layer = ServerLayer::new();
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let guard = support::to_file(&sink)
        .with_env([("TRACEWIRE_EXCLUDE_PATHS", "/health")])
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let svc = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(()))
        }));
        for path in ["/health", "/orders"] {
            let req = http::Request::builder().uri(path).body(()).unwrap();
            svc.clone().oneshot(req).await.unwrap();
        }
    });
    drop(rt);
    guard.shutdown().unwrap();
    let spans = file_sink_spans(&sink);
    let paths: Vec<&str> = spans
        .iter()
        .map(|s| s["attributes"]["url.path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/orders"]);
}

#[test]
fn the_test_kit_honours_exclusions_and_propagators() {
    let capture = tracewire::testing::Capture::with_builder(
        tracewire::builder().without_settings_file().with_env([
            ("TRACEWIRE_EXCLUDE_PATHS", "/health"),
            ("OTEL_PROPAGATORS", "baggage"),
        ]),
    )
    .unwrap();
    let rt = support::current_thread_runtime();
    let injected = rt.block_on(async {
        let svc = ServerLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
            let mut out: HashMap<String, String> = HashMap::new();
            tracewire::propagation::inject(&mut out);
            Ok::<_, Infallible>(http::Response::new(out))
        }));
        let mut injected = Vec::new();
        for path in ["/health", "/orders"] {
            let req = http::Request::builder().uri(path).body(()).unwrap();
            injected.push(svc.clone().oneshot(req).await.unwrap().into_body());
        }
        injected
    });
    let spans = capture.spans();
    assert_eq!(spans.len(), 1, "only /orders is traced");
    assert!(
        injected.iter().all(|h| !h.contains_key("traceparent")),
        "{injected:?}"
    );
}
