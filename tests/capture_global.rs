//! The test kit in a `#[tokio::test(flavor = "multi_thread")]`, whose runtime the test cannot
//! choose: `Capture::start_global()` (alone in this file: one global subscriber per process).

use axum::Router;
use axum::routing::get;
use tracewire::http::ServerLayer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_thread_tokio_test_is_captured() {
    let capture = tracewire::testing::Capture::start_global().unwrap();
    let app = Router::new()
        .route("/user/{id}", get(|| async { "ok" }))
        .layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    for id in 0..3 {
        reqwest::get(format!("{base}/user/{id}")).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let count = || {
        capture
            .spans()
            .iter()
            .filter(|s| s.name == "GET /user/{id}")
            .count()
    };
    while count() < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(count(), 3);
    assert!(
        tracewire::testing::Capture::start_global().is_err(),
        "one global capture per process"
    );
}
