//! With no collector (the file sink), metrics go to a file beside the spans in the Collector's
//! file-exporter format (`tracewire-spans.jsonl` → `tracewire-metrics.jsonl`), written at
//! shutdown, and `tracewire view` sums them up per series; requests on excluded paths are not
//! measured.

mod support;

use std::convert::Infallible;
use std::process::Command;

use tower::{Layer as _, ServiceExt as _};
use tracewire::http::ServerLayer;

#[test]
fn metrics_land_beside_the_spans_and_view_sums_them_up() {
    let dir = tempfile::tempdir().unwrap();
    let spans = dir.path().join("tracewire-spans.jsonl");
    let guard = support::to_file(&spans)
        .with_service_name("file-metrics")
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let svc = ServerLayer::new()
            .with_exclude_paths(["/health"])
            .layer(tower::service_fn(|_req: http::Request<()>| async {
                Ok::<_, Infallible>(http::Response::new(()))
            }));
        for _ in 0..12 {
            let req = http::Request::get("/health-not-excluded").body(()).unwrap();
            svc.clone().oneshot(req).await.unwrap();
        }
        // Excluded paths (health checks) are neither traced nor measured.
        for _ in 0..5 {
            let req = http::Request::get("/health").body(()).unwrap();
            svc.clone().oneshot(req).await.unwrap();
        }
    });
    drop(rt);
    guard.shutdown().unwrap();

    let metrics = dir.path().join("tracewire-metrics.jsonl");
    let text = std::fs::read_to_string(&metrics).expect("the metrics file beside the spans");
    assert_eq!(text.lines().count(), 1, "one export, at shutdown: {text}");
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let names: Vec<&str> = line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(names.contains(&"http.server.request.duration"), "{names:?}");

    let out = Command::new(env!("CARGO_BIN_EXE_tracewire"))
        .args(["view", metrics.to_str().unwrap()])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.contains("http.server.request.duration (histogram, s)"),
        "{shown}"
    );
    assert!(
        shown.contains("service=file-metrics http.request.method=GET"),
        "{shown}"
    );
    assert!(shown.contains("count 12"), "{shown}");
}
