//! One trace across tracewire and Python's OpenTelemetry SDK in the formats other services in a
//! fleet speak: `b3`, `b3multi`, `jaeger`, `xray` (the `OTEL_PROPAGATORS` names, which mean the
//! same propagator in both SDKs: Python loads them by those names). Both directions over real
//! HTTP, at rates 1 and 0:
//! - Python → tracewire: Python's root span injects only that format; tracewire's server span
//!   continues the trace, its parent is Python's span, and the sampled flag is Python's.
//! - tracewire → Python: tracewire's client span injects only that format; Python extracts the
//!   trace id, tracewire's client span as parent, and tracewire's decision.

mod support;

use axum::Router;
use axum::routing::get;
use serde_json::Value;
use support::PythonOtelPeer;
use tracewire::http::{ClientMiddleware, ServerLayer};
use tracewire::testing::Capture;

/// The header each format puts on the wire (and no other).
fn wire_header(format: &str) -> &'static str {
    match format {
        "b3" => "b3",
        "b3multi" => "x-b3-traceid",
        "jaeger" => "uber-trace-id",
        "xray" => "x-amzn-trace-id",
        _ => unreachable!(),
    }
}

/// `(trace id, span id, sampled)` of a `traceparent`.
fn parts(tp: &str) -> (String, String, bool) {
    let flags = u8::from_str_radix(&tp[53..55], 16).unwrap();
    (tp[3..35].into(), tp[36..52].into(), flags & 1 == 1)
}

async fn rust_service() -> String {
    let app = Router::new()
        .route(
            "/rust",
            get(|| async {
                serde_json::json!({
                    "traceparent": tracewire::propagation::current_traceparent(),
                })
                .to_string()
            }),
        )
        .layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn python_to_tracewire(peer: &PythonOtelPeer, format: &str, rate: f64) {
    let what = format!("python → tracewire, {format}, rate {rate}");
    let capture = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_env([("OTEL_PROPAGATORS", format)])
            .with_sampling_rate(rate),
    )
    .unwrap();
    let rt = support::current_thread_runtime();
    let got: Value = rt.block_on(async {
        let rust = rust_service().await;
        let sampled = if rate > 0.0 { "1" } else { "0" };
        let url = format!(
            "{}/call?p={format}&sampled={sampled}&url={rust}/rust",
            peer.url()
        );
        let text = reqwest::get(url).await.unwrap().text().await.unwrap();
        serde_json::from_str(&text).unwrap()
    });
    drop(rt);
    let sent = got["sent"].as_object().unwrap();
    let names: Vec<String> = sent.keys().map(|k| k.to_ascii_lowercase()).collect();
    assert!(
        names.contains(&wire_header(format).to_string()),
        "{what}: {sent:?}"
    );
    assert!(
        !names.contains(&"traceparent".to_string()),
        "{what}: {sent:?}"
    );

    let python = &got["own"];
    assert_eq!(python["sampled"], rate > 0.0, "{what}: {got}");
    let (trace, _, sampled) = parts(got["answer"]["traceparent"].as_str().unwrap());
    assert_eq!(trace, python["trace_id"], "{what}: the same trace: {got}");
    assert_eq!(sampled, rate > 0.0, "{what}: the caller's decision: {got}");

    let spans = capture.spans();
    if rate > 0.0 {
        let server = spans
            .iter()
            .find(|s| s.kind == "server")
            .expect("server span");
        assert_eq!(server.trace_id, python["trace_id"], "{what}");
        assert_eq!(
            server.parent_span_id.as_deref(),
            python["span_id"].as_str(),
            "{what}: Python's span is the parent"
        );
    } else {
        assert!(spans.is_empty(), "{what}: nothing recorded: {spans:?}");
    }
}

fn tracewire_to_python(peer: &PythonOtelPeer, format: &str, rate: f64) {
    let what = format!("tracewire → python, {format}, rate {rate}");
    let capture = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_env([("OTEL_PROPAGATORS", format)])
            .with_sampling_rate(rate),
    )
    .unwrap();
    let rt = support::current_thread_runtime();
    let (got, root): (Value, String) = rt.block_on(async {
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ClientMiddleware::default())
            .build();
        let span = tracing::info_span!("outgoing");
        let root = span
            .in_scope(tracewire::propagation::current_traceparent)
            .unwrap();
        let url = format!("{}/echo?p={format}", peer.url());
        let got = tracing::Instrument::instrument(
            async {
                let text = client.get(url).send().await.unwrap().text().await.unwrap();
                serde_json::from_str(&text).unwrap()
            },
            span,
        )
        .await;
        (got, root)
    });
    drop(rt);
    let headers = got["headers"].as_object().unwrap();
    assert!(
        headers.contains_key(wire_header(format)),
        "{what}: {headers:?}"
    );
    assert!(!headers.contains_key("traceparent"), "{what}: {headers:?}");

    let (trace, _, sampled) = parts(&root);
    assert_eq!(sampled, rate > 0.0, "{what}: {root} {got}");
    let parent = &got["parent"];
    assert_eq!(parent["valid"], true, "{what}: {got}");
    assert_eq!(parent["trace_id"], trace.as_str(), "{what}: {got}");
    assert_eq!(parent["sampled"], sampled, "{what}: our decision: {got}");
    assert_eq!(got["own"]["sampled"], sampled, "{what}: Python follows it");
    if rate > 0.0 {
        let client = capture.span("GET");
        assert_eq!(client.kind, "client");
        assert_eq!(
            parent["span_id"].as_str(),
            Some(client.span_id.as_str()),
            "{what}: the client span is Python's parent"
        );
    }
}

#[test]
fn b3_jaeger_and_xray_interoperate_with_pythons_sdk() {
    let peer = PythonOtelPeer::start();
    for format in ["b3", "b3multi", "jaeger", "xray"] {
        for rate in [1.0, 0.0] {
            python_to_tracewire(&peer, format, rate);
            tracewire_to_python(&peer, format, rate);
        }
    }
}
