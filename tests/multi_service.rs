//! One trace across services: a request enters service A over HTTP, A calls service B over
//! HTTP and publishes to a real NATS server, a worker consumes; a real collector receives one
//! trace with every parent link, kind and semantic-convention attribute right. Excluded paths
//! make no span; a 500 marks the server span Error, a 404 does not.

#[path = "../examples/multi_service/services.rs"]
#[allow(dead_code)]
mod services;
mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Collector, NatsServer, to_collector};
use tracewire::settings::Protocol;

const CALLER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const CALLER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

fn span<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = spans.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(found.len(), 1, "one span named {name} in {spans:#?}");
    found[0]
}

fn traceparent(trace: &str) -> String {
    format!("00-{trace}-b7ad6b7169203331-01")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_across_http_and_nats() {
    let collector = Collector::start();
    let nats_server = NatsServer::start();
    let guard = to_collector(&collector, Protocol::Grpc, "shop")
        .with_log_writer(std::io::sink())
        .init()
        .unwrap();

    let nats = async_nats::connect(nats_server.url())
        .await
        .expect("connect to NATS");
    let processed = services::worker(nats.clone()).await;
    let b = services::serve(services::service_b()).await;
    let a = services::serve(services::service_a(b.clone(), nats)).await;
    let http = reqwest::Client::new();

    let res = http
        .get(format!("{a}/checkout/sku-1?coupon=x&token=s3cret"))
        .header("traceparent", CALLER)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let echoed = res.headers()["traceparent"].to_str().unwrap().to_string();
    assert_eq!(
        &echoed[3..35],
        CALLER_TRACE,
        "the response names the caller's trace"
    );

    // Excluded paths: no span, whatever the caller sends.
    let excluded = "1111111111111111111111111111111a";
    assert_eq!(
        http.get(format!("{a}/health"))
            .header("traceparent", traceparent(excluded))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A 500 and a 404 on B.
    let (t500, t404) = (
        "2222222222222222222222222222222b",
        "3333333333333333333333333333333c",
    );
    assert_eq!(
        http.get(format!("{b}/inventory/broken"))
            .header("traceparent", traceparent(t500))
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
    assert_eq!(
        http.get(format!("{b}/inventory/missing"))
            .header("traceparent", traceparent(t404))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    while processed.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        processed.load(Ordering::SeqCst),
        1,
        "the worker got the message"
    );
    guard.shutdown().expect("delivered");

    let all = collector.wait_for_spans(9, Duration::from_secs(10));
    let trace: Vec<Value> = all
        .iter()
        .filter(|s| s["trace_id"] == CALLER_TRACE)
        .cloned()
        .collect();
    let id = |s: &Value| s["span_id"].as_str().unwrap().to_string();

    let a_server = span(&trace, "GET /checkout/{sku}");
    let client = span(&trace, "GET");
    let b_server = span(&trace, "GET /inventory/{sku}");
    let handler = span(&trace, "inventory");
    let producer = span(&trace, "send orders.created");
    let consumer = span(&trace, "process orders.created");
    assert_eq!(trace.len(), 6, "{trace:#?}");

    assert_eq!(
        a_server["parent_span_id"], "b7ad6b7169203331",
        "A continues the caller"
    );
    assert_eq!(client["parent_span_id"], id(a_server));
    assert_eq!(
        b_server["parent_span_id"],
        id(client),
        "B continues A's client span"
    );
    assert_eq!(handler["parent_span_id"], id(b_server));
    assert_eq!(producer["parent_span_id"], id(a_server));
    assert_eq!(
        consumer["parent_span_id"],
        id(producer),
        "the worker continues the producer"
    );

    for (s, kind) in [
        (a_server, "SERVER"),
        (b_server, "SERVER"),
        (client, "CLIENT"),
        (producer, "PRODUCER"),
        (consumer, "CONSUMER"),
    ] {
        assert_eq!(s["kind"], kind, "{}", s["name"]);
    }

    let at = &a_server["attributes"];
    assert_eq!(at["http.request.method"], "GET");
    assert_eq!(at["http.route"], "/checkout/{sku}");
    assert_eq!(at["url.path"], "/checkout/sku-1");
    assert_eq!(at["url.query"], "coupon=x&token=REDACTED");
    assert_eq!(at["url.scheme"], "http");
    assert_eq!(at["http.response.status_code"], 200);
    assert_eq!(at["server.address"], "127.0.0.1");
    assert!(at["server.port"].as_i64().is_some());
    assert_eq!(at["network.protocol.version"], "1.1");
    assert_eq!(a_server["status"]["code"], "UNSET");

    let ct = &client["attributes"];
    assert_eq!(ct["http.request.method"], "GET");
    assert_eq!(ct["http.response.status_code"], 200);
    assert_eq!(ct["server.address"], "127.0.0.1");
    assert!(
        ct["url.full"]
            .as_str()
            .unwrap()
            .ends_with("/inventory/sku-1")
    );

    for s in [producer, consumer] {
        assert_eq!(s["attributes"]["messaging.system"], "nats");
        assert_eq!(
            s["attributes"]["messaging.destination.name"],
            "orders.created"
        );
    }
    assert_eq!(producer["attributes"]["messaging.operation.type"], "send");
    assert_eq!(
        consumer["attributes"]["messaging.operation.type"],
        "process"
    );
    let message_id = producer["attributes"]["messaging.message.id"]
        .as_str()
        .unwrap();
    assert_eq!(message_id.len(), 32);
    assert_eq!(consumer["attributes"]["messaging.message.id"], message_id);

    assert!(
        all.iter().all(|s| s["trace_id"] != excluded),
        "excluded paths make no span"
    );
    let failed = span(
        &all.iter()
            .filter(|s| s["trace_id"] == t500)
            .cloned()
            .collect::<Vec<_>>(),
        "GET /inventory/{sku}",
    )
    .clone();
    assert_eq!(failed["status"]["code"], "ERROR");
    assert_eq!(failed["attributes"]["error.type"], "500");
    let not_found = span(
        &all.iter()
            .filter(|s| s["trace_id"] == t404)
            .cloned()
            .collect::<Vec<_>>(),
        "GET /inventory/{sku}",
    )
    .clone();
    assert_eq!(
        not_found["status"]["code"], "UNSET",
        "4xx stays Unset on the server"
    );
    assert_eq!(not_found["attributes"]["http.response.status_code"], 404);
}
