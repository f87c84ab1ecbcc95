//! actix-web with `ActixMiddleware`: a real actix-web server (its own worker thread, a real
//! socket), tracewire installed globally with `init()` at `sampling_rate = 0`, spans and metrics
//! at the real collector. A caller's sampled trace is continued (the server span its child, the
//! route template in `http.route` and the name), an unsampled caller and a new trace export
//! nothing, `/health` is excluded, a 500 is an Error; the request histogram counts every
//! request, sampled or not. (`init()` is process-wide: this file holds one test.)
#![cfg(all(feature = "actix-web", feature = "reqwest", feature = "metrics"))]

mod support;

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use support::Collector;

#[test]
fn an_actix_web_server_continues_traces_at_any_rate() {
    let collector = Collector::start();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                collector.http_endpoint().as_str(),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("TRACEWIRE_EXCLUDE_PATHS", "/health"),
        ])
        .with_service_name("actix")
        .with_sampling_rate(0.0)
        .with_log_writer(std::io::sink())
        .init()
        .unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new()
                    .wrap(tracewire::http::ActixMiddleware::new())
                    .route(
                        "/orders/{id}",
                        web::get().to(|| async { HttpResponse::Ok().body("ok") }),
                    )
                    .route("/health", web::get().to(|| async { "up" }))
                    .route(
                        "/boom",
                        web::get().to(|| async { HttpResponse::InternalServerError().finish() }),
                    )
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
            let port = server.addrs()[0].port();
            let running = server.run();
            tx.send((port, running.handle())).unwrap();
            // Bounded: the test stops it; if the test dies first, the process ends it.
            let _ = tokio::time::timeout(Duration::from_secs(60), running).await;
        });
    });
    let (port, handle) = rx.recv_timeout(Duration::from_secs(20)).unwrap();

    let sampled_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let get = |path: &str, tp: Option<String>| {
            let mut r = client.get(format!("{base}{path}"));
            if let Some(tp) = tp {
                r = r.header("traceparent", tp);
            }
            r.send()
        };
        let tp = |trace: &str, flags: &str| Some(format!("00-{trace}-00f067aa0ba902b7-{flags}"));
        assert_eq!(
            get("/orders/7", tp(sampled_trace, "01"))
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            get("/orders/8", tp("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "00"))
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(get("/orders/9", None).await.unwrap().status(), 200);
        assert_eq!(
            get("/health", tp("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "01"))
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            get("/boom", tp("cccccccccccccccccccccccccccccccc", "01"))
                .await
                .unwrap()
                .status(),
            500
        );
        handle.stop(true).await;
    });
    server.join().unwrap();
    guard.shutdown().expect("delivered");

    let spans = collector.wait_for_spans(2, Duration::from_secs(10));
    let ours: Vec<_> = spans
        .iter()
        .filter(|s| s["resource"]["service.name"] == "actix")
        .collect();
    assert_eq!(
        ours.len(),
        2,
        "the sampled caller's and the failing one: {ours:#?}"
    );
    let order = ours
        .iter()
        .find(|s| s["trace_id"] == sampled_trace)
        .unwrap();
    assert_eq!(order["name"], "GET /orders/{id}");
    assert_eq!(order["kind"], "SERVER");
    assert_eq!(order["parent_span_id"], "00f067aa0ba902b7");
    assert_eq!(order["attributes"]["http.route"], "/orders/{id}");
    assert_eq!(order["attributes"]["http.response.status_code"], 200);
    assert_eq!(order["attributes"]["url.path"], "/orders/7");
    let boom = ours.iter().find(|s| s["name"] == "GET /boom").unwrap();
    assert_eq!(boom["status"]["code"], "ERROR", "{boom}");

    // Every traced request measured, sampled or not; /health not at all.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let count = loop {
        let count: u64 = collector
            .metric_points()
            .iter()
            .filter(|p| p["name"] == "http.server.request.duration")
            .filter_map(|p| p["count"].as_u64())
            .sum();
        if count >= 4 || std::time::Instant::now() > deadline {
            break count;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(count, 4, "the three orders and the failure");
}
