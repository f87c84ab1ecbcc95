//! The client and messaging histograms of the semantic conventions, from every call at any
//! sampling rate: `http.client.request.duration` from `ClientMiddleware` (against a real local
//! server answering 200 and 503), `messaging.client.operation.duration` and
//! `messaging.process.duration` from the messaging helpers.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use tracewire::messaging::Messaging;
use tracewire::testing::{AttrValue, Capture, CapturedPoint};

fn str_attr<'a>(p: &'a CapturedPoint, key: &str) -> Option<&'a str> {
    p.attr(key).and_then(AttrValue::as_str)
}

#[test]
fn client_requests_and_messages_are_measured_unsampled() {
    let capture = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_env([("TRACEWIRE_SAMPLING_RATE", "0")]),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = rt.block_on(async {
        let app = Router::new().route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move {
                if id % 4 == 0 {
                    http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(tracewire::http::ClientMiddleware::default())
            .build();
        for id in 0..20 {
            client
                .get(format!("http://127.0.0.1:{port}/items/{id}"))
                .send()
                .await
                .unwrap();
        }
        port
    });
    drop(rt);

    let nats = Messaging::new("nats");
    for _ in 0..7 {
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        nats.send_span("orders").in_scope(|| {
            nats.inject(&mut headers);
        });
        nats.process_span_from("orders", &headers).in_scope(|| {});
    }
    assert!(capture.spans().is_empty(), "rate 0: nothing sampled");

    let client = capture.metric("http.client.request.duration");
    assert_eq!(client.unit, "s");
    assert_eq!(client.points.len(), 2, "{client:#?}");
    for p in &client.points {
        assert_eq!(str_attr(p, "http.request.method"), Some("GET"));
        assert_eq!(str_attr(p, "server.address"), Some("127.0.0.1"));
        assert_eq!(
            p.attr("server.port"),
            Some(&AttrValue::I64(i64::from(port)))
        );
        assert!(p.attr("url.full").is_none(), "no unbounded attribute");
    }
    let failed = client
        .points
        .iter()
        .find(|p| p.attr("http.response.status_code") == Some(&AttrValue::I64(503)))
        .expect("the 503s");
    assert_eq!(failed.count, 5);
    assert_eq!(str_attr(failed, "error.type"), Some("503"));
    let total: u64 = client.points.iter().map(|p| p.count).sum();
    assert_eq!(total, 20);

    for (name, operation) in [
        ("messaging.client.operation.duration", "send"),
        ("messaging.process.duration", "process"),
    ] {
        let m = capture.metric(name);
        assert_eq!(m.points.len(), 1, "{m:#?}");
        let p = &m.points[0];
        assert_eq!(p.count, 7, "{name}");
        assert_eq!(str_attr(p, "messaging.system"), Some("nats"));
        assert_eq!(str_attr(p, "messaging.destination.name"), Some("orders"));
        // The process metric does not take the operation type (the conventions leave it out).
        let ty = (operation == "send").then_some(operation);
        assert_eq!(str_attr(p, "messaging.operation.type"), ty, "{name}");
        assert_eq!(str_attr(p, "messaging.operation.name"), Some(operation));
        assert!(
            p.attr("messaging.message.id").is_none(),
            "no unbounded attribute"
        );
    }
}
