//! Hooks on the server layer and the client middleware see the span and the request (and the
//! response), run inside the span, add attributes and rename it; without hooks nothing changes.

use std::convert::Infallible;

use axum::Router;
use axum::routing::get;
use tower::{Layer as _, ServiceExt as _};
use tracewire::http::{ClientMiddleware, ServerLayer};
use tracewire::testing::{AttrValue, Capture};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

fn str_attr(v: Option<&AttrValue>) -> Option<&str> {
    v.and_then(AttrValue::as_str)
}

#[test]
fn server_hooks_enrich_and_rename_the_span() {
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let svc = ServerLayer::new()
            .with_request_hook(|span: &tracing::Span, req: &http::request::Parts| {
                if let Some(t) = req.headers.get("x-tenant").and_then(|v| v.to_str().ok()) {
                    span.set_attribute("tenant.id", t.to_string());
                }
                tracewire::rename_span(span, "checkout (hooked)");
                tracing::info!("seen by the request hook");
            })
            .with_response_hook(|span: &tracing::Span, res: &http::response::Parts| {
                span.set_attribute("response.header_count", res.headers.len() as i64);
            })
            .layer(tower::service_fn(|_req: http::Request<()>| async {
                Ok::<_, Infallible>(
                    http::Response::builder()
                        .header("x-served-by", "a")
                        .body(())
                        .unwrap(),
                )
            }));
        let req = http::Request::get("/checkout")
            .header("x-tenant", "acme")
            .body(())
            .unwrap();
        svc.oneshot(req).await.unwrap();
    });
    let span = capture.span("checkout (hooked)");
    assert_eq!(span.kind, "server");
    assert_eq!(str_attr(span.attr("tenant.id")), Some("acme"));
    assert_eq!(span.attr("response.header_count"), Some(&AttrValue::I64(1)));
    assert!(
        span.attr("http.request.method").is_some(),
        "the conventions' attributes stay"
    );
    let line = capture
        .logs()
        .into_iter()
        .find(|l| l["message"] == "seen by the request hook")
        .expect("the hook's log line");
    assert_eq!(
        line["span_id"].as_str(),
        Some(span.span_id.as_str()),
        "inside the span"
    );
}

#[test]
fn client_hooks_see_the_request_and_the_response() {
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = Router::new().route(
            "/admin/users",
            get(|| async { ([("x-request-id", "r-42")], "ok") }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let middleware = ClientMiddleware::default()
            .with_request_hook(|span: &tracing::Span, req: &reqwest::Request| {
                assert!(
                    req.headers().contains_key("traceparent"),
                    "hooks see the injected headers"
                );
                if req.url().path().starts_with("/admin") {
                    tracewire::rename_span(span, "admin call");
                }
            })
            .with_response_hook(|span: &tracing::Span, res: &reqwest::Response| {
                if let Some(id) = res
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                {
                    span.set_attribute("peer.request_id", id.to_string());
                }
            });
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(middleware)
            .build();
        client
            .get(format!("{base}/admin/users"))
            .send()
            .await
            .unwrap();
    });
    let span = capture.span("admin call");
    assert_eq!(span.kind, "client");
    assert_eq!(str_attr(span.attr("peer.request_id")), Some("r-42"));
}
