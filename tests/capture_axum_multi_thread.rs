//! The test kit captures a real `axum::serve` on a multi-thread runtime: every connection's task
//! runs on some worker, and each worker captures (`Capture::multi_thread_runtime`).

use axum::Router;
use axum::routing::get;
use tracewire::http::ServerLayer;

#[test]
fn a_real_server_on_a_multi_thread_runtime_is_captured() {
    let capture = tracewire::testing::Capture::start();
    let rt = capture.multi_thread_runtime(2);
    rt.block_on(async {
        let app = Router::new()
            .route("/user/{id}", get(|| async { "ok" }))
            .layer(ServerLayer::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        for id in 0..5 {
            let res = client
                .get(format!("{base}/user/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    });
    drop(rt);
    let servers: Vec<_> = capture
        .spans()
        .into_iter()
        .filter(|s| s.name == "GET /user/{id}")
        .collect();
    assert_eq!(servers.len(), 5);
}
