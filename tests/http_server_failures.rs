//! The server layer marks a handler's panic and a service error as status Error, and lets
//! the panic continue to the server, which turns it into a 500 as it would without tracing.

mod support;

use std::convert::Infallible;

use futures_util::FutureExt as _;
use support::file_sink_spans;
use tower::{Layer as _, ServiceExt as _};
use tracewire::http::ServerLayer;

#[test]
fn panics_and_errors_set_status_error() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let guard = support::to_file(&sink)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let panicking =
            ServerLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
                if true {
                    panic!("boom");
                }
                Ok::<_, Infallible>(http::Response::new(()))
            }));
        let req = http::Request::builder()
            .method("POST")
            .uri("/pay")
            .body(())
            .unwrap();
        let outcome = std::panic::AssertUnwindSafe(panicking.oneshot(req))
            .catch_unwind()
            .await;
        assert!(outcome.is_err(), "the panic reaches the server");

        let failing =
            ServerLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
                Err::<http::Response<()>, _>("upstream gone")
            }));
        let req = http::Request::builder().uri("/refund").body(()).unwrap();
        assert!(failing.oneshot(req).await.is_err());
    });
    drop(rt);
    guard.shutdown().unwrap();

    let spans = file_sink_spans(&sink);
    let post = spans
        .iter()
        .find(|s| s["name"] == "POST")
        .expect("POST span");
    assert_eq!(post["kind"], "SERVER");
    assert_eq!(post["status"]["code"], "ERROR");
    assert_eq!(post["attributes"]["error.type"], "panic");
    assert_eq!(post["attributes"]["url.path"], "/pay");
    let get = spans.iter().find(|s| s["name"] == "GET").expect("GET span");
    assert_eq!(get["status"]["code"], "ERROR");
    assert_eq!(get["attributes"]["error.type"], "_OTHER");
    assert!(get["events"].as_array().unwrap().iter().any(|e| {
        e["name"] == "exception"
            && e["attributes"]["exception.message"]
                .as_str()
                .is_some_and(|m| m.contains("upstream gone"))
    }));
}
