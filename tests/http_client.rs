//! The reqwest middleware: injects the context, marks 4xx/5xx and transport errors as Error,
//! and can be switched off per request.

mod support;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use support::file_sink_spans;
use tracewire::http::{ClientMiddleware, DisableTracing};

async fn echo_traceparent(headers: HeaderMap) -> String {
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string()
}

#[test]
fn client_spans_inject_and_mark_failures() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let guard = support::to_file(&sink)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();

    let rt = support::current_thread_runtime();
    let (seen, disabled_seen, refused_port) = rt.block_on(async {
        let app = Router::new()
            .route("/echo", get(echo_traceparent))
            .route("/missing", get(|| async { StatusCode::NOT_FOUND }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ClientMiddleware::default())
            .build();

        let seen = client
            .get(format!("{base}/echo?api_key=k"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            client
                .get(format!("{base}/missing"))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        let disabled = client
            .get(format!("{base}/echo"))
            .with_extension(DisableTracing)
            .send()
            .await
            .unwrap();
        let disabled_seen = disabled.text().await.unwrap();
        let refused_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(
            client
                .get(format!("http://127.0.0.1:{refused_port}/"))
                .send()
                .await
                .is_err()
        );
        (seen, disabled_seen, refused_port)
    });
    drop(rt);
    guard.shutdown().unwrap();

    let spans = file_sink_spans(&sink);
    assert_eq!(spans.len(), 3, "one span per traced request: {spans:#?}");
    let ok = spans
        .iter()
        .find(|s| {
            s["attributes"]["url.full"]
                .as_str()
                .is_some_and(|u| u.contains("/echo"))
        })
        .unwrap();
    assert_eq!(ok["kind"], "CLIENT");
    assert_eq!(ok["name"], "GET");
    assert_eq!(
        seen,
        format!(
            // Sampled, and a new trace with a random id (Trace Context Level 2).
            "00-{}-{}-03",
            ok["trace_id"].as_str().unwrap(),
            ok["span_id"].as_str().unwrap()
        )
    );
    assert!(
        ok["attributes"]["url.full"]
            .as_str()
            .unwrap()
            .ends_with("/echo?api_key=REDACTED")
    );
    assert_eq!(ok["attributes"]["http.response.status_code"], 200);
    assert_eq!(ok["status"]["code"], "UNSET");

    let missing = spans
        .iter()
        .find(|s| s["attributes"]["http.response.status_code"] == 404)
        .unwrap();
    assert_eq!(missing["status"]["code"], "ERROR");
    assert_eq!(missing["attributes"]["error.type"], "404");

    let refused = spans
        .iter()
        .find(|s| s["attributes"]["server.port"] == refused_port)
        .unwrap();
    assert_eq!(refused["status"]["code"], "ERROR");
    assert_eq!(refused["attributes"]["error.type"], "connect");
    assert!(
        refused["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "exception")
    );

    assert_eq!(
        disabled_seen, "none",
        "DisableTracing sends no trace headers"
    );
}
