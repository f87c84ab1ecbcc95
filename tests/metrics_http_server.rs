//! `http.server.request.duration` counts every request exactly, whatever the sampling rate: an
//! axum service behind `ServerLayer` answers 100 requests (every tenth a 500) and the real
//! collector (rotel) receives the histogram with the stable conventions' attributes and buckets
//! — with no span at all at `sampling_rate = 0`, and only a tenth of them at 0.1. Over gRPC and
//! HTTP; the interval is a minute, so what arrives is the last interval, exported at shutdown.

mod support;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde_json::Value;
use support::{Collector, to_collector};
use tracewire::http::ServerLayer;
use tracewire::settings::Protocol;

const REQUESTS: u64 = 100;

/// The service's spans and its `http.server.request.duration` points.
fn serve(rate: &str, protocol: Protocol, service: &str) -> (Vec<Value>, Vec<Value>) {
    let collector = Collector::start();
    let guard = to_collector(&collector, protocol, service)
        .with_env([("TRACEWIRE_SAMPLING_RATE", rate)])
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let app = Router::new()
            .route(
                "/orders/{id}",
                get(|Path(id): Path<u64>| async move {
                    if id % 10 == 0 {
                        (http::StatusCode::INTERNAL_SERVER_ERROR, "failed")
                    } else {
                        (http::StatusCode::OK, "ok")
                    }
                }),
            )
            .layer(ServerLayer::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        for id in 0..REQUESTS {
            let res = client
                .get(format!("{base}/orders/{id}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), if id % 10 == 0 { 500 } else { 200 });
        }
        server.abort();
    });
    drop(rt);
    guard.shutdown().expect("everything delivered");
    let of_service = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .filter(|p| p["resource"]["service.name"] == service)
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let points = loop {
        let points: Vec<Value> = of_service(collector.metric_points())
            .into_iter()
            .filter(|p| p["name"] == "http.server.request.duration")
            .collect();
        let count: u64 = points.iter().map(|p| p["count"].as_u64().unwrap()).sum();
        if count >= REQUESTS || Instant::now() > deadline {
            break points;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (of_service(collector.spans()), points)
}

fn check(points: &[Value], what: &str) {
    assert_eq!(points.len(), 2, "{what}: one point per status: {points:#?}");
    let by_status = |code: u64| {
        points
            .iter()
            .find(|p| p["attributes"]["http.response.status_code"] == code)
            .unwrap_or_else(|| panic!("{what}: no point for {code}: {points:#?}"))
    };
    let (ok, failed) = (by_status(200), by_status(500));
    assert_eq!(ok["count"], 90, "{what}");
    assert_eq!(failed["count"], 10, "{what}");
    assert_eq!(failed["attributes"]["error.type"], "500", "{what}");
    assert!(ok["attributes"].get("error.type").is_none(), "{what}");
    for p in [ok, failed] {
        assert_eq!(p["type"], "Histogram");
        assert_eq!(p["unit"], "s");
        assert_eq!(p["attributes"]["http.route"], "/orders/{id}", "{what}");
        assert_eq!(p["attributes"]["http.request.method"], "GET");
        assert_eq!(p["attributes"]["url.scheme"], "http");
        assert_eq!(p["attributes"]["network.protocol.version"], "1.1");
        assert!(
            p["attributes"].get("url.path").is_none(),
            "no unbounded attribute"
        );
        let bounds: Vec<f64> = serde_json::from_value(p["bounds"].clone()).unwrap();
        assert_eq!(
            bounds,
            [
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0
            ],
            "the stable HTTP conventions' boundaries"
        );
        let buckets: Vec<u64> = serde_json::from_value(p["bucket_counts"].clone()).unwrap();
        assert_eq!(buckets.iter().sum::<u64>(), p["count"].as_u64().unwrap());
        assert!(p["sum"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn at_rate_zero_no_spans_and_every_request_counted() {
    let (spans, points) = serve("0", Protocol::Grpc, "metrics-rate-0");
    assert!(spans.is_empty(), "nothing sampled: {spans:#?}");
    check(&points, "rate 0, gRPC");
}

#[test]
fn at_a_tenth_the_count_is_still_exact() {
    let (spans, points) = serve("0.1", Protocol::HttpProtobuf, "metrics-rate-0.1");
    assert!(
        spans.len() < 40,
        "about a tenth of the requests traced, got {}",
        spans.len()
    );
    check(&points, "rate 0.1, HTTP");
}

#[test]
fn fully_sampled_spans_and_metrics_agree() {
    let (spans, points) = serve("1", Protocol::Grpc, "metrics-rate-1");
    assert_eq!(spans.len(), REQUESTS as usize);
    check(&points, "rate 1, gRPC");
}
