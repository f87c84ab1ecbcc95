//! With head sampling at 0%, the server layer still follows the caller: a request whose
//! `traceparent` is sampled is traced (same trace, caller as parent); an untraced request is not,
//! and its log lines still carry a trace id.

mod support;

use std::convert::Infallible;

use support::{Captured, file_sink_spans};
use tower::{Layer as _, ServiceExt as _};
use tracewire::http::ServerLayer;

#[test]
fn the_callers_decision_wins_over_the_local_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let logs = Captured::default();
    let guard = support::to_file(&sink)
        .with_env([("TRACEWIRE_SAMPLING_RATE", "0")])
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let svc =
            ServerLayer::new().layer(tower::service_fn(|req: http::Request<()>| async move {
                tracing::info!(path = req.uri().path(), "handled");
                Ok::<_, Infallible>(http::Response::new(()))
            }));
        let traced = http::Request::builder()
            .uri("/traced")
            .header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .body(())
            .unwrap();
        svc.clone().oneshot(traced).await.unwrap();
        let untraced = http::Request::builder().uri("/untraced").body(()).unwrap();
        svc.oneshot(untraced).await.unwrap();
    });
    drop(rt);
    guard.shutdown().unwrap();

    let spans = file_sink_spans(&sink);
    assert_eq!(
        spans.len(),
        1,
        "only the sampled caller's request: {spans:#?}"
    );
    assert_eq!(spans[0]["attributes"]["url.path"], "/traced");
    assert_eq!(spans[0]["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(spans[0]["parent_span_id"], "b7ad6b7169203331");

    let lines = logs.json_lines();
    let handled: Vec<_> = lines.iter().filter(|l| l["message"] == "handled").collect();
    assert_eq!(handled[0]["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(handled[0]["trace_flags"], "01");
    assert_eq!(handled[1]["trace_flags"], "02", "a new trace, not sampled");
    assert_eq!(handled[1]["trace_id"].as_str().unwrap().len(), 32);
}
