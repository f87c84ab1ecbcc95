//! The tower HTTP client layer around hyper-util's client, calling a real axum server with
//! `ServerLayer`, at sampling 1 and 0: a CLIENT span per request with the HTTP client
//! conventions, the trace continued by the server (its span the client span's child), a 404
//! marked Error, the request hook called, `http.client.request.duration` for every request.
#![cfg(all(feature = "http-client", feature = "axum", feature = "testing"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use tower::{Service as _, ServiceExt as _};
use tracewire::http::{ClientLayer, ServerLayer};
use tracewire::testing::{AttrValue, Capture};

async fn server() -> std::net::SocketAddr {
    let app = axum::Router::new()
        .route(
            "/orders",
            axum::routing::get(|| async {
                tracewire::propagation::current_traceparent().unwrap_or_default()
            }),
        )
        .layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[test]
fn a_tower_client_continues_the_trace_with_the_conventions() {
    for rate in [1.0, 0.0] {
        let capture = Capture::with_builder(
            tracewire::builder()
                .without_settings_file()
                .with_sampling_rate(rate),
        )
        .unwrap();
        let hooked = Arc::new(AtomicUsize::new(0));
        let counted = hooked.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (caller_tp, server_tp, missing) = rt.block_on(async {
            let addr = server().await;
            let hyper =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Full<Bytes>>();
            let mut client = tower::ServiceBuilder::new()
                .layer(ClientLayer::new().with_request_hook(
                    move |_: &tracing::Span, _: &http::request::Parts| {
                        counted.fetch_add(1, Ordering::SeqCst);
                    },
                ))
                .service(hyper);
            let caller = tracing::info_span!("caller");
            let caller_tp = caller
                .in_scope(tracewire::propagation::current_traceparent)
                .unwrap();
            use tracing::Instrument as _;
            async {
                let get = |path: &str| {
                    http::Request::get(format!("http://{addr}{path}"))
                        .body(Full::new(Bytes::new()))
                        .unwrap()
                };
                let ok = client
                    .ready()
                    .await
                    .unwrap()
                    .call(get("/orders"))
                    .await
                    .unwrap();
                let body = ok.into_body().collect().await.unwrap().to_bytes();
                let missing = client
                    .ready()
                    .await
                    .unwrap()
                    .call(get("/missing"))
                    .await
                    .unwrap()
                    .status();
                (
                    caller_tp.clone(),
                    String::from_utf8(body.to_vec()).unwrap(),
                    missing,
                )
            }
            .instrument(caller)
            .await
        });
        drop(rt);
        let what = format!("rate {rate}");
        assert_eq!(missing, 404);
        assert_eq!(hooked.load(Ordering::SeqCst), 2, "{what}");
        assert_eq!(
            &server_tp[3..35],
            &caller_tp[3..35],
            "{what}: the server continued the caller's trace"
        );
        let sampled = rate > 0.0;
        assert_eq!(
            server_tp.ends_with("01") || server_tp.ends_with("03"),
            sampled,
            "{what}"
        );

        let spans = capture.spans();
        if sampled {
            let clients: Vec<_> = spans.iter().filter(|s| s.kind == "client").collect();
            assert_eq!(clients.len(), 2, "{what}: {spans:?}");
            let ok = clients
                .iter()
                .find(|s| s.attr("http.response.status_code") == Some(&AttrValue::I64(200)))
                .unwrap();
            assert_eq!(ok.name, "GET");
            assert_eq!(
                ok.attr("server.address"),
                Some(&AttrValue::Str("127.0.0.1".into()))
            );
            assert!(ok.attr("server.port").is_some());
            let server = spans.iter().find(|s| s.kind == "server").unwrap();
            assert_eq!(server.parent_span_id.as_deref(), Some(ok.span_id.as_str()));
            let nf = clients
                .iter()
                .find(|s| s.attr("http.response.status_code") == Some(&AttrValue::I64(404)))
                .unwrap();
            assert!(nf.is_error(), "{nf:?}");
            assert_eq!(nf.attr("error.type"), Some(&AttrValue::Str("404".into())));
        } else {
            assert!(spans.is_empty(), "{what}: {spans:?}");
        }
        let m = capture.metric("http.client.request.duration");
        let count: u64 = m.points.iter().map(|p| p.count).sum();
        assert_eq!(count, 2, "{what}: every request measured: {m:?}");
    }
}
