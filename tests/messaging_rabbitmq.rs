//! RabbitMQ through lapin against a real broker (Debian's rabbitmq-server, one of the test's own
//! on free loopback ports): `RabbitMq::basic_publish` is a PRODUCER span with the context in the
//! AMQP headers, `RabbitMq::process_span` a CONSUMER span continuing it (its child, or a new trace
//! linked to it), with the RabbitMQ conventions' names and attributes; a publish to a missing
//! exchange is an Error with the AMQP reply name; at sampling 0.1 each consumer follows its
//! producer's decision, at 0 nothing is exported, and the messaging metrics count every message.
#![cfg(all(feature = "lapin", feature = "testing", feature = "metrics"))]

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use support::hops::Coins;
use support::rabbitmq::RabbitMqServer;
use tracewire::messaging::RabbitMq;
use tracewire::testing::{AttrValue, Capture};
use tracing::Instrument as _;

fn s(v: Option<&AttrValue>) -> Option<&str> {
    v.and_then(AttrValue::as_str)
}

async fn channel(url: &str) -> (Connection, Channel) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let conn = loop {
        match Connection::connect(url, ConnectionProperties::default()).await {
            Ok(c) => break c,
            // The port accepts before the broker takes connections.
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("cannot connect to RabbitMQ: {e}"),
        }
    };
    let ch = conn.create_channel().await.unwrap();
    (conn, ch)
}

/// An exchange `orders` (direct) bound to a fresh queue for `routing_key`; the queue's name.
async fn topology(ch: &Channel, queue: &str, routing_key: &str) {
    ch.exchange_declare(
        "orders".into(),
        ExchangeKind::Direct,
        ExchangeDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            auto_delete: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.into(),
        "orders".into(),
        routing_key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
}

/// Publishes `n` messages, each inside its own `handle {i}` root span, and processes them on a
/// consumer; returns when all are processed (bounded).
async fn round_trip(rabbit: &RabbitMq, ch: &Channel, queue: &str, n: usize) {
    let mut consumer = ch
        .basic_consume(
            queue.into(),
            format!("c-{queue}").into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    for i in 0..n {
        async {
            rabbit
                .basic_publish(
                    ch,
                    "orders",
                    "created",
                    BasicPublishOptions::default(),
                    format!("order {i}").as_bytes(),
                    BasicProperties::default().with_correlation_id("conv-1".into()),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
        .instrument(tracing::info_span!("handle", i))
        .await;
    }
    for _ in 0..n {
        let delivery = tokio::time::timeout(Duration::from_secs(20), consumer.next())
            .await
            .expect("a delivery within 20 s")
            .expect("the consumer is open")
            .unwrap();
        let span = rabbit.process_span(&delivery);
        async { tracing::info!("processing") }
            .instrument(span)
            .await;
        delivery.ack(BasicAckOptions::default()).await.unwrap();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn publish_and_process_spans_continue_the_trace_at_any_rate() {
    let broker = RabbitMqServer::start();
    for rate in [1.0, 0.1, 0.0] {
        let capture = Capture::with_builder(
            tracewire::builder()
                .without_settings_file()
                .with_sampling_rate(rate),
        )
        .unwrap();
        let n = if rate == 0.1 { 120 } else { 3 };
        let rabbit = RabbitMq::new().with_server("127.0.0.1", broker.port);
        runtime().block_on(async {
            let (_conn, ch) = channel(&broker.url()).await;
            let queue = format!("q-{}", (rate * 10.0) as u32);
            topology(&ch, &queue, "created").await;
            round_trip(&rabbit, &ch, &queue, n).await;
        });
        let spans = capture.spans();
        let publishes: Vec<_> = spans.iter().filter(|s| s.kind == "producer").collect();
        let processes: Vec<_> = spans.iter().filter(|s| s.kind == "consumer").collect();
        assert_eq!(
            publishes.len(),
            processes.len(),
            "rate {rate}: one consumer span per sampled producer"
        );
        let mut coins = Coins::default();
        for p in &publishes {
            let process = processes
                .iter()
                .find(|c| c.parent_span_id.as_deref() == Some(p.span_id.as_str()))
                .unwrap_or_else(|| panic!("rate {rate}: the consumer of {p:?} is its child"));
            assert_eq!(process.trace_id, p.trace_id);
        }
        let handlers = spans.iter().filter(|s| s.name == "handle").count();
        for _ in 0..handlers {
            coins.add(true);
        }
        for _ in handlers..n {
            coins.add(false);
        }
        match rate {
            1.0 => assert_eq!(publishes.len(), n),
            0.0 => assert!(spans.is_empty(), "rate 0 exports nothing: {spans:?}"),
            _ => {
                coins.assert_both("rate 0.1");
                assert_eq!(publishes.len(), handlers);
            }
        }
        if let Some(p) = publishes.first() {
            assert_eq!(p.name, "publish orders:created");
            assert_eq!(s(p.attr("messaging.system")), Some("rabbitmq"));
            assert_eq!(
                s(p.attr("messaging.destination.name")),
                Some("orders:created")
            );
            assert_eq!(
                s(p.attr("messaging.rabbitmq.destination.routing_key")),
                Some("created")
            );
            assert_eq!(s(p.attr("messaging.operation.type")), Some("send"));
            assert_eq!(s(p.attr("messaging.operation.name")), Some("publish"));
            assert_eq!(
                s(p.attr("messaging.message.conversation_id")),
                Some("conv-1")
            );
            assert_eq!(s(p.attr("server.address")), Some("127.0.0.1"));
            let handler = spans
                .iter()
                .find(|h| h.span_id.as_str() == p.parent_span_id.as_deref().unwrap_or(""))
                .expect("the handler is the producer's parent");
            assert_eq!(handler.name, "handle");
            let c = processes
                .iter()
                .find(|c| c.parent_span_id.as_deref() == Some(p.span_id.as_str()))
                .unwrap();
            assert_eq!(c.name, "process orders:created");
            assert_eq!(s(c.attr("messaging.operation.type")), Some("process"));
            assert_eq!(
                s(c.attr("messaging.message.id")),
                s(p.attr("messaging.message.id"))
            );
            assert!(s(c.attr("messaging.message.id")).is_some_and(|id| id.len() == 32));
            assert!(
                matches!(c.attr("messaging.rabbitmq.message.delivery_tag"), Some(AttrValue::I64(t)) if *t >= 1)
            );
        }
        // Every message is measured, sampled or not.
        let m = capture.metric("messaging.process.duration");
        let processed: u64 = m.points.iter().map(|p| p.count).sum();
        assert_eq!(processed, n as u64, "rate {rate}: {m:?}");
    }
}

#[test]
fn linked_consumers_and_failed_publishes() {
    let broker = RabbitMqServer::start();
    let capture = Capture::start();
    let rabbit = RabbitMq::new().with_links(true);
    runtime().block_on(async {
        let (_conn, ch) = channel(&broker.url()).await;
        topology(&ch, "linked", "created").await;
        round_trip(&rabbit, &ch, "linked", 1).await;
        // The default exchange with a queue's name as the key: destination is the key alone.
        rabbit
            .basic_publish(
                &ch,
                "",
                "linked",
                BasicPublishOptions::default(),
                b"x",
                BasicProperties::default(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        // A missing exchange: AMQP has no reply to a publish; the broker closes the channel
        // (404 NOT_FOUND) after it, and the next publish on that channel is refused.
        let (_conn2, ch2) = channel(&broker.url()).await;
        let publish = || {
            rabbit.basic_publish(
                &ch2,
                "no-such-exchange",
                "k",
                BasicPublishOptions::default(),
                b"x",
                BasicProperties::default(),
            )
        };
        publish().await.expect("sent: the refusal comes later");
        let deadline = Instant::now() + Duration::from_secs(10);
        while ch2.status().connected() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            publish().await.is_err(),
            "a closed channel refuses the publish"
        );
    });
    let spans = capture.spans();
    let publish = capture.span("publish orders:created");
    let process = capture.span("process orders:created");
    assert_ne!(
        process.trace_id, publish.trace_id,
        "a linked consumer starts its own trace"
    );
    assert_eq!(process.parent_span_id, None);
    assert!(
        process
            .links
            .iter()
            .any(|l| l.span_id == publish.span_id && l.trace_id == publish.trace_id),
        "linked to the producer: {process:?}"
    );
    let default_exchange = capture.span("publish linked");
    assert_eq!(
        s(default_exchange.attr("messaging.destination.name")),
        Some("linked")
    );
    let failed: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "publish no-such-exchange:k" && s.is_error())
        .collect();
    assert!(
        !failed.is_empty(),
        "the refused publish is an Error: {spans:?}"
    );
    assert_eq!(failed.len(), 1, "only the refused one: {failed:?}");
    assert_eq!(
        s(failed[0].attr("error.type")),
        Some("invalid_channel_state")
    );
}
