//! When tracing is off, or a path is excluded, the caller's context still reaches downstream
//! calls unchanged: a service in the middle never breaks the trace.

use std::collections::HashMap;
use std::convert::Infallible;

use tower::{Layer as _, ServiceExt as _};
use tracewire::http::ServerLayer;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// What the handler would send downstream.
async fn forwarded(env: &[(&str, &str)], path: &str) -> HashMap<String, String> {
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env(env.iter().copied())
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let svc = ServerLayer::new()
        .with_exclude_paths(["/health"])
        .layer(tower::service_fn(|_req: http::Request<()>| async {
            let mut out = HashMap::new();
            tracewire::propagation::inject(&mut out);
            Ok::<_, Infallible>(http::Response::new(out))
        }));
    let req = http::Request::builder()
        .uri(path)
        .header("traceparent", TP)
        .body(())
        .unwrap();
    let out = svc.oneshot(req).await.unwrap().into_body();
    guard.shutdown().unwrap();
    out
}

#[tokio::test]
async fn disabled_tracing_forwards_the_incoming_context() {
    let out = forwarded(&[("OTEL_SDK_DISABLED", "true")], "/orders").await;
    assert_eq!(out["traceparent"], TP);
}

#[tokio::test]
async fn excluded_path_forwards_the_incoming_context() {
    let out = forwarded(&[("OTEL_TRACES_EXPORTER", "none")], "/health").await;
    assert_eq!(out["traceparent"], TP);
}

#[tokio::test]
async fn traced_path_forwards_its_own_span_in_the_same_trace() {
    let out = forwarded(&[("OTEL_TRACES_EXPORTER", "none")], "/orders").await;
    assert_eq!(&out["traceparent"][..36], &TP[..36]);
    assert_ne!(out["traceparent"], TP);
}
