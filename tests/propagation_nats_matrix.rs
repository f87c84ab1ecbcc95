//! A trace survives a message broker whatever anyone decided to record: a message published to a
//! real NATS server with crafted headers → a consumer (`Messaging::process_span`) that publishes
//! on, once with `Messaging::publish` and once with `send_span` + `inject` → a raw subscriber
//! that records the headers. For `sampling_rate` 1.0, 0.1 and 0, for incoming flags 00, 01, 02,
//! 03, no context, baggage alone and an invalid `traceparent`, as a child and as a linked
//! consumer: one `traceparent` in the right trace with the producer span as parent and the
//! decision actually taken (what the real collector received), the random flag kept or set,
//! `tracestate` and `baggage` unchanged, the same ids in the JSON log lines.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;
use support::hops::{self, BAGGAGE, Coins, Incoming, STATE, baggage_members};
use support::{Captured, Collector, NatsServer, to_collector};
use tracewire::messaging::Messaging;
use tracewire::settings::Protocol;

struct Case {
    n: usize,
    incoming: Incoming,
    link: bool,
    trace_id: String,
}

fn incoming_headers(c: &Case) -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    h.insert("case", c.n.to_string().as_str());
    for (k, v) in c.incoming.headers(&c.trace_id) {
        h.insert(k, v.as_str());
    }
    h
}

fn values(h: &async_nats::HeaderMap, name: &str) -> Vec<String> {
    h.get_all(name).map(|v| v.as_str().to_string()).collect()
}

fn log_line<'a>(lines: &'a [Value], message: &str, case: usize) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == message && l["case"] == case)
        .collect();
    assert_eq!(found.len(), 1, "one `{message}` line for case {case}");
    found[0]
}

/// The consumer: continues each message, publishes on both ways.
async fn consume(client: async_nats::Client, subject: &'static str, link: bool, expect: usize) {
    use tracing::Instrument as _;
    let mut sub = client.subscribe(subject).await.unwrap();
    client.flush().await.unwrap();
    let telemetry = Messaging::new("nats").with_links(link);
    tokio::spawn(async move {
        for _ in 0..expect {
            let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(20), sub.next()).await
            else {
                return;
            };
            let case: usize = msg
                .headers
                .as_ref()
                .unwrap()
                .get("case")
                .unwrap()
                .as_str()
                .parse()
                .unwrap();
            let span = telemetry.process_span(&msg);
            let client = client.clone();
            let telemetry = telemetry.clone();
            async move {
                tracing::info!(case, "consumed");
                telemetry
                    .publish(&client, &format!("out.publish.{case}"), "{}".into())
                    .await
                    .unwrap();
                let send = telemetry.send_span(&format!("out.inject.{case}"));
                let mut headers = async_nats::HeaderMap::new();
                send.in_scope(|| {
                    tracing::info!(case, "sending");
                    telemetry.inject(&mut headers);
                });
                client
                    .publish_with_headers(format!("out.inject.{case}"), headers, "{}".into())
                    .instrument(send)
                    .await
                    .unwrap();
            }
            .instrument(span)
            .await;
        }
    });
}

fn run(
    collector: &Collector,
    nats: &NatsServer,
    rate: f64,
    first: usize,
    total: &mut usize,
) -> usize {
    let logs = Captured::default();
    let guard = to_collector(collector, Protocol::Grpc, "matrix")
        .with_sampling_rate(rate)
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let mut cases = Vec::new();
    let mut n = first;
    for link in [false, true] {
        for incoming in hops::ALL {
            let repeat = if rate > 0.0 && rate < 1.0 && !matches!(incoming, Incoming::Flags(_)) {
                30
            } else {
                1
            };
            for _ in 0..repeat {
                cases.push(Case {
                    n,
                    incoming,
                    link,
                    trace_id: format!("{:032x}", 0xdef0_0000_0000_0000_0000u128 + n as u128),
                });
                n += 1;
            }
        }
    }

    let rt = support::current_thread_runtime();
    let received = rt.block_on(async {
        let client = async_nats::connect(nats.url()).await.unwrap();
        let mut out = client.subscribe("out.>").await.unwrap();
        let children = cases.iter().filter(|c| !c.link).count();
        consume(client.clone(), "in.child", false, children).await;
        consume(client.clone(), "in.link", true, cases.len() - children).await;
        for c in &cases {
            let subject = if c.link { "in.link" } else { "in.child" };
            client
                .publish_with_headers(subject, incoming_headers(c), "{}".into())
                .await
                .unwrap();
        }
        client.flush().await.unwrap();
        let mut received: HashMap<String, async_nats::HeaderMap> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while received.len() < 2 * cases.len() && Instant::now() < deadline {
            if let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(1), out.next()).await {
                received.insert(msg.subject.to_string(), msg.headers.unwrap_or_default());
            }
        }
        received
    });
    drop(rt);
    guard.shutdown().expect("every span delivered");
    assert_eq!(received.len(), 2 * cases.len(), "every message went on");

    let lines = logs.json_lines();
    // Wait (bounded) for the spans the sampled flags promise: consumer + 2 producers.
    let promised = cases
        .iter()
        .filter(|c| {
            let tp = values(&received[&format!("out.inject.{}", c.n)], "traceparent");
            tp.first()
                .is_some_and(|tp| tp.ends_with('1') || tp.ends_with('3'))
        })
        .count()
        * 3;
    let spans = collector.wait_for_spans(*total + promised, Duration::from_secs(10));
    *total = spans.len();

    let mut coins = Coins::default();
    for c in &cases {
        let what = format!("rate {rate} {:?} link={} case {}", c.incoming, c.link, c.n);
        let consumed = log_line(&lines, "consumed", c.n);
        let sending = log_line(&lines, "sending", c.n);
        let mut trace_flags = None;
        for way in ["publish", "inject"] {
            let what = format!("{what} via {way}");
            let got = &received[&format!("out.{way}.{}", c.n)];
            if c.incoming == Incoming::Nothing {
                assert!(values(got, "baggage").is_empty(), "{what}");
            } else {
                let b = values(got, "baggage");
                assert_eq!(b.len(), 1, "{what}: {b:?}");
                assert_eq!(baggage_members(&b[0]), baggage_members(BAGGAGE), "{what}");
            }
            let tps = values(got, "traceparent");
            assert_eq!(tps.len(), 1, "{what}: exactly one traceparent: {tps:?}");
            let tp = &tps[0];
            let (trace, parent, flags) = (&tp[3..35], &tp[36..52], &tp[53..]);
            assert_eq!(consumed["trace_id"], trace, "{what}");
            assert_eq!(consumed["trace_flags"], flags, "{what}");
            assert_ne!(
                consumed["span_id"], parent,
                "{what}: the producer span is the parent"
            );
            if way == "inject" {
                assert_eq!(sending["span_id"], parent, "{what}");
                assert_eq!(sending["trace_flags"], flags, "{what}");
            }
            let continued = matches!(c.incoming, Incoming::Flags(_)) && !c.link;
            if continued {
                assert_eq!(trace, c.trace_id, "{what}");
                assert_eq!(values(got, "tracestate"), [STATE], "{what}");
            } else {
                assert_ne!(trace, c.trace_id, "{what}: a new trace");
                assert!(values(got, "tracestate").is_empty(), "{what}");
            }
            let flags = u8::from_str_radix(flags, 16).unwrap();
            let random = c.incoming.random_flag(continued);
            assert_eq!(flags & !0x01, random, "{what}: {flags:02x}");
            trace_flags = Some(flags);
        }
        let sampled = trace_flags.unwrap() & 1 == 1;
        let continued = matches!(c.incoming, Incoming::Flags(_)) && !c.link;
        match c.incoming.decision(continued, rate) {
            Some(e) => assert_eq!(sampled, e, "{what}"),
            None => coins.add(sampled),
        }
        let trace = consumed["trace_id"].as_str().unwrap();
        let exported: Vec<&Value> = spans.iter().filter(|s| s["trace_id"] == trace).collect();
        if !sampled {
            assert!(
                exported.is_empty(),
                "{what}: nothing exported: {exported:#?}"
            );
            continue;
        }
        assert_eq!(exported.len(), 3, "{what}: {exported:#?}");
        let consumer = exported.iter().find(|s| s["kind"] == "CONSUMER").unwrap();
        assert_eq!(consumer["span_id"], consumed["span_id"], "{what}");
        for way in ["publish", "inject"] {
            let tp = &values(&received[&format!("out.{way}.{}", c.n)], "traceparent")[0];
            let producer = exported
                .iter()
                .find(|s| s["kind"] == "PRODUCER" && s["span_id"] == tp[36..52])
                .unwrap_or_else(|| panic!("{what}: the {way} producer span: {exported:#?}"));
            assert_eq!(producer["parent_span_id"], consumer["span_id"], "{what}");
        }
    }
    if rate > 0.0 && rate < 1.0 {
        coins.assert_both(&format!("rate {rate}"));
    }
    n
}

#[test]
fn every_message_hop_propagates_at_every_rate() {
    let collector = Collector::start();
    let nats = NatsServer::start();
    let (mut n, mut total) = (0, 0);
    for rate in [1.0, 0.1, 0.0] {
        n = run(&collector, &nats, rate, n, &mut total);
    }
    assert!(total > 0);
}
