//! `db.client.operation.duration` from every database call (a real redis-server, at sampling 1
//! and 0, with the conventions' attributes and bucket boundaries), and
//! `http.server.active_requests` going up while a request is being served and back down when
//! it ends.
#![cfg(all(feature = "redis", feature = "http-server", feature = "testing"))]

mod support;

use std::convert::Infallible;

use redis::AsyncCommands as _;
use support::RedisServer;
use tower::ServiceExt as _;
use tracewire::db::TracedRedis;
use tracewire::testing::{AttrValue, Capture};

#[test]
fn every_database_call_is_measured_at_any_rate() {
    let server = RedisServer::start();
    for rate in [1.0, 0.0] {
        let capture = Capture::with_builder(
            tracewire::builder()
                .without_settings_file()
                .with_sampling_rate(rate),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client =
                redis::Client::open(format!("redis://127.0.0.1:{}/2", server.port)).unwrap();
            let conn = client.get_multiplexed_async_connection().await.unwrap();
            let mut conn = TracedRedis::new(conn).with_server("127.0.0.1", server.port);
            for i in 0..3 {
                let _: () = conn.set("k", i).await.unwrap();
            }
            let _: i64 = conn.get("k").await.unwrap();
        });
        drop(rt);
        let m = capture.metric("db.client.operation.duration");
        assert_eq!(m.unit, "s");
        let count = |op: &str| -> u64 {
            m.points
                .iter()
                .filter(|p| p.attr("db.operation.name") == Some(&AttrValue::Str(op.into())))
                .map(|p| p.count)
                .sum()
        };
        assert_eq!((count("SET"), count("GET")), (3, 1), "rate {rate}: {m:?}");
        for p in &m.points {
            assert_eq!(
                p.attr("db.system.name"),
                Some(&AttrValue::Str("redis".into()))
            );
            assert_eq!(p.attr("db.namespace"), Some(&AttrValue::Str("2".into())));
            assert!(p.attr("db.query.text").is_none(), "opt-in: {p:?}");
            assert_eq!(
                p.bounds,
                [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0]
            );
        }
        assert_eq!(capture.spans().len(), if rate > 0.0 { 4 } else { 0 });
    }
}

#[test]
fn active_requests_go_up_while_served_and_down_after() {
    let capture = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_sampling_rate(0.0),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let active = |capture: &Capture| -> f64 {
        let m = capture.metric("http.server.active_requests");
        assert_eq!(m.unit, "{request}");
        m.points
            .iter()
            .inspect(|p| {
                assert_eq!(
                    p.attr("http.request.method"),
                    Some(&AttrValue::Str("GET".into()))
                );
                assert!(p.attr("url.scheme").is_some(), "{p:?}");
            })
            .map(|p| p.value)
            .sum()
    };
    rt.block_on(async {
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let released = std::sync::Mutex::new(Some(released));
        let service = tower::ServiceBuilder::new()
            .layer(tracewire::http::ServerLayer::new())
            .service_fn(move |_req: http::Request<String>| {
                let wait = released.lock().unwrap().take();
                async move {
                    if let Some(w) = wait {
                        let _ = w.await;
                    }
                    Ok::<_, Infallible>(http::Response::new(String::new()))
                }
            });
        let request = http::Request::get("http://shop.local/orders")
            .body(String::new())
            .unwrap();
        let serving = tokio::spawn(service.oneshot(request));
        // Bounded: the request is in the handler once the task has run.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(active(&capture), 1.0, "one request in flight");
        release.send(()).unwrap();
        serving.await.unwrap().unwrap();
    });
    assert_eq!(active(&capture), 0.0, "none after it ended");
}
