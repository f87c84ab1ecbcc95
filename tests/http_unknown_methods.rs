//! HTTP methods outside the semantic conventions' set become `_OTHER` (span name `HTTP`,
//! `http.request.method_original` keeps what was sent), on the server and on the client: a
//! client sending made-up methods cannot multiply span names.

mod support;

use std::collections::HashSet;
use std::convert::Infallible;

use support::file_sink_spans;
use tower::{Layer as _, ServiceExt as _};
use tracewire::http::{ClientMiddleware, ServerLayer};

#[test]
fn unknown_methods_are_other() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let guard = support::to_file(&sink)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let svc = ServerLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(()))
        }));
        let mut methods: Vec<String> = (0..200).map(|i| format!("MADEUP{i}")).collect();
        methods.extend(["get", "GET", "PURGE"].map(String::from));
        for m in &methods {
            let req = http::Request::builder()
                .method(m.as_str())
                .uri("/x")
                .body(())
                .unwrap();
            svc.clone().oneshot(req).await.unwrap();
        }

        // The client, against a server that answers any method.
        let app = axum::Router::new().fallback(|| async { "ok" });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ClientMiddleware::default())
            .build();
        for m in ["MADEUP", "DELETE"] {
            let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
            client.request(method, &base).send().await.unwrap();
        }
    });
    drop(rt);
    guard.shutdown().unwrap();

    let spans = file_sink_spans(&sink);
    let server: Vec<_> = spans.iter().filter(|s| s["kind"] == "SERVER").collect();
    assert_eq!(server.len(), 203);
    let names: HashSet<&str> = server.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        HashSet::from(["HTTP", "GET"]),
        "two names for 203 methods"
    );
    for s in &server {
        let a = &s["attributes"];
        if s["name"] == "GET" {
            assert_eq!(a["http.request.method"], "GET");
            assert!(a.get("http.request.method_original").is_none(), "{a}");
        } else {
            assert_eq!(a["http.request.method"], "_OTHER");
            let original = a["http.request.method_original"].as_str().unwrap();
            assert!(original.starts_with("MADEUP") || ["get", "PURGE"].contains(&original));
        }
    }
    let client: Vec<_> = spans.iter().filter(|s| s["kind"] == "CLIENT").collect();
    let by_name = |n: &str| client.iter().find(|s| s["name"] == n).unwrap();
    assert_eq!(
        by_name("HTTP")["attributes"]["http.request.method"],
        "_OTHER"
    );
    assert_eq!(
        by_name("HTTP")["attributes"]["http.request.method_original"],
        "MADEUP"
    );
    assert_eq!(
        by_name("DELETE")["attributes"]["http.request.method"],
        "DELETE"
    );
}
