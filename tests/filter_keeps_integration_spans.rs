//! `RUST_LOG="warn,my_app=info"` filters the user's logs, not the trace: tracewire's SERVER and
//! CLIENT spans (targets `tracewire::http`) still reach the real collector, with every parent
//! link, while another crate's INFO spans stay filtered (before: the server and client spans
//! were dropped, 5 of 11 spans arrived).

mod support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use support::{Collector, to_collector};
use tracewire::http::{ClientMiddleware, ServerLayer};
use tracewire::settings::Protocol;

#[tracing::instrument(target = "my_app::orders")]
async fn work(client: reqwest_middleware::ClientWithMiddleware, b: String) -> &'static str {
    tracing::info_span!(target: "noisy_dependency", "internal").in_scope(|| {});
    client.get(format!("{b}/b")).send().await.unwrap();
    "ok"
}

#[test]
fn the_users_log_level_does_not_drop_tracewires_spans() {
    let collector = Collector::start();
    let guard = to_collector(&collector, Protocol::Grpc, "filtered")
        .with_log_level("warn,my_app=info")
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let serve = |app: Router| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            base
        };
        let b = serve(
            Router::new()
                .route("/b", get(|| async { "b" }))
                .layer(ServerLayer::new()),
        )
        .await;
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(ClientMiddleware::default())
            .build();
        let a = serve(
            Router::new()
                .route("/a", get(move || work(client.clone(), b.clone())))
                .layer(ServerLayer::new()),
        )
        .await;
        let res = reqwest::get(format!("{a}/a")).await.unwrap();
        assert_eq!(res.status(), 200);
    });
    drop(rt);
    guard.shutdown().expect("delivered");

    let spans = collector.wait_for_spans(4, Duration::from_secs(10));
    let named = |n: &str| {
        spans
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("{n} arrived: {spans:#?}"))
    };
    let a_server = named("GET /a");
    let b_server = named("GET /b");
    let client = spans
        .iter()
        .find(|s| s["kind"] == "CLIENT")
        .expect("the client span");
    let work = named("work");
    assert_eq!(work["parent_span_id"], a_server["span_id"]);
    assert_eq!(client["parent_span_id"], work["span_id"]);
    assert_eq!(b_server["parent_span_id"], client["span_id"]);
    assert!(
        !spans.iter().any(|s| s["name"] == "internal"),
        "another crate's INFO span stays filtered"
    );
    assert_eq!(spans.len(), 4, "{spans:#?}");
}
