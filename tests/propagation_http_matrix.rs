//! A trace survives the HTTP hop whatever anyone decided to record: a caller → service A (the
//! server layer, its handler calling B through the client middleware) → service B, which records
//! the headers it received. For `sampling_rate` 1.0, 0.1 and 0 (and tracing off), for incoming
//! flags 00, 01, 02, 03, no context, baggage alone and an invalid `traceparent`, on a traced and
//! on an excluded path, B gets exactly one `traceparent` in the right trace, the client span as
//! parent, the sampled flag of the decision actually taken (what the real collector received),
//! the random flag kept (or set on a new trace), `tracestate` and `baggage` unchanged; the JSON
//! log lines carry the same ids.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::HeaderMap;
use axum::routing::get;
use serde_json::Value;
use support::hops::{self, BAGGAGE, CALLER_SPAN, Coins, Incoming, STATE, baggage_members};
use support::{Captured, Collector, to_collector};
use tracewire::http::{ClientMiddleware, ServerLayer};
use tracewire::settings::Protocol;

#[derive(Clone, Copy, Debug)]
enum Config {
    Rate(f64),
    TracingOff,
}

/// What B saw for one request, keyed by case number.
type Seen = Arc<Mutex<HashMap<usize, HeaderMap>>>;

/// Logs inside the client span, so the test learns that span's ids even when it is not exported.
struct LogSend;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for LogSend {
    async fn handle(
        &self,
        req: reqwest::Request,
        ext: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let case = req.url().query().unwrap_or("").to_string();
        tracing::info!(case = case.as_str(), "sending");
        next.run(req, ext).await
    }
}

async fn service_b(seen: Seen) -> String {
    let app = Router::new().route(
        "/b",
        get(
            move |Query(q): Query<HashMap<String, usize>>, headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().insert(q["case"], headers);
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn service_a(b: String) -> String {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::default())
        .with(LogSend)
        .build();
    let call_b = move |Query(q): Query<HashMap<String, usize>>| {
        let (client, b) = (client.clone(), b.clone());
        async move {
            tracing::info!(case = q["case"], "in A");
            let res = client
                .get(format!("{b}/b?case={}", q["case"]))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            "ok"
        }
    };
    let app = Router::new()
        .route("/a", get(call_b.clone()))
        .route("/internal/a", get(call_b))
        .layer(ServerLayer::new().with_exclude_paths(["/internal/*"]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

struct Case {
    n: usize,
    incoming: Incoming,
    excluded: bool,
    trace_id: String,
}

fn header_values(h: &HeaderMap, name: &str) -> Vec<String> {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn log_line<'a>(lines: &'a [Value], message: &str, case: usize) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["message"] == message
                && (l["case"] == case || l["case"].as_str() == Some(&format!("case={case}")))
        })
        .collect();
    assert_eq!(found.len(), 1, "one `{message}` line for case {case}");
    found[0]
}

/// Runs every case under `config` and checks what B received against the collector and logs.
fn run(collector: &Collector, config: Config, first_case: usize, total: &mut usize) -> usize {
    let logs = Captured::default();
    let mut builder =
        to_collector(collector, Protocol::Grpc, "matrix").with_log_writer(logs.clone());
    builder = match config {
        Config::Rate(r) => builder.with_sampling_rate(r),
        Config::TracingOff => builder.with_tracing_enabled(false),
    };
    let guard = builder.set_default().unwrap();

    let mut cases = Vec::new();
    let mut n = first_case;
    for excluded in [false, true] {
        for incoming in hops::ALL {
            // At 10% a new trace's decision is a coin: enough of them to see both sides.
            let repeat = match (config, incoming) {
                (Config::Rate(r), Incoming::Nothing | Incoming::BaggageOnly)
                    if r > 0.0 && r < 1.0 =>
                {
                    60
                }
                _ => 1,
            };
            for _ in 0..repeat {
                cases.push(Case {
                    n,
                    incoming,
                    excluded,
                    trace_id: format!("{:032x}", 0xabc0_0000_0000_0000_0000u128 + n as u128),
                });
                n += 1;
            }
        }
    }

    let seen: Seen = Arc::default();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let b = service_b(seen.clone()).await;
        let a = service_a(b).await;
        let caller = reqwest::Client::new();
        for c in &cases {
            let path = if c.excluded { "internal/a" } else { "a" };
            let mut req = caller.get(format!("{a}/{path}?case={}", c.n));
            for (k, v) in c.incoming.headers(&c.trace_id) {
                req = req.header(k, v);
            }
            assert_eq!(req.send().await.unwrap().status(), 200);
        }
    });
    drop(rt);
    guard.shutdown().expect("every span delivered");

    let lines = logs.json_lines();
    let seen = seen.lock().unwrap();
    // Wait (bounded) for as many spans as the flags B saw promise; checked exactly below.
    let promised: usize = cases
        .iter()
        .filter(|_| !matches!(config, Config::TracingOff))
        .filter_map(|c| {
            seen.get(&c.n)?
                .get("traceparent")?
                .to_str()
                .ok()
                .map(|tp| (c, tp))
        })
        .filter(|(_, tp)| tp.ends_with('1') || tp.ends_with('3'))
        .map(|(c, _)| if c.excluded { 1 } else { 2 })
        .sum();
    let spans = collector.wait_for_spans(*total + promised, Duration::from_secs(10));
    *total = spans.len();
    let mut coins = Coins::default();
    for c in &cases {
        let what = format!(
            "{config:?} {:?} excluded={} case {}",
            c.incoming, c.excluded, c.n
        );
        let got = &seen[&c.n];
        let continued = matches!(c.incoming, Incoming::Flags(_));

        // Baggage is independent of trace context: always forwarded, unchanged.
        if c.incoming == Incoming::Nothing {
            assert!(got.get("baggage").is_none(), "{what}");
        } else {
            let b = header_values(got, "baggage");
            assert_eq!(b.len(), 1, "{what}: one baggage header: {b:?}");
            assert_eq!(baggage_members(&b[0]), baggage_members(BAGGAGE), "{what}");
        }

        let tps = header_values(got, "traceparent");
        if let Config::TracingOff = config {
            // No span anywhere: the caller's context goes on unchanged.
            match c.incoming {
                Incoming::Flags(f) => {
                    assert_eq!(
                        tps,
                        [format!("00-{}-{CALLER_SPAN}-{f:02x}", c.trace_id)],
                        "{what}"
                    );
                    assert_eq!(header_values(got, "tracestate"), [STATE], "{what}");
                }
                _ => assert!(tps.is_empty(), "{what}: {tps:?}"),
            }
            continue;
        }
        assert_eq!(tps.len(), 1, "{what}: exactly one traceparent: {tps:?}");
        let tp = &tps[0];
        assert_eq!(tp.len(), 55, "{what}: {tp}");
        let (version, trace, parent, flags) = (&tp[..2], &tp[3..35], &tp[36..52], &tp[53..]);
        assert_eq!(version, "00", "{what}");
        let flags = u8::from_str_radix(flags, 16).unwrap();

        let sending = log_line(&lines, "sending", c.n);
        assert_eq!(
            sending["trace_id"], trace,
            "{what}: client log line trace id"
        );
        assert_eq!(
            sending["span_id"], parent,
            "{what}: parent-id is the client span"
        );
        assert_eq!(
            sending["trace_flags"],
            format!("{flags:02x}"),
            "{what}: log flags"
        );
        let in_a = log_line(&lines, "in A", c.n);
        if !c.excluded {
            assert_eq!(in_a["trace_id"], trace, "{what}: handler log line trace id");
            assert_eq!(in_a["trace_flags"], format!("{flags:02x}"), "{what}");
            assert_ne!(in_a["span_id"], sending["span_id"], "{what}");
        } else if continued {
            // No server span: the handler's lines carry the caller's context.
            assert_eq!(in_a["trace_id"], c.trace_id, "{what}");
            assert_eq!(in_a["span_id"], CALLER_SPAN, "{what}");
        } else {
            assert!(in_a.get("trace_id").is_none(), "{what}: {in_a}");
        }

        if continued {
            assert_eq!(trace, c.trace_id, "{what}: the caller's trace");
            assert_eq!(header_values(got, "tracestate"), [STATE], "{what}");
        } else {
            assert_ne!(trace, c.trace_id, "{what}: a new trace");
            assert!(got.get("tracestate").is_none(), "{what}");
        }
        let random = c.incoming.random_flag(continued);
        assert_eq!(flags & !0x01, random, "{what}: flags {flags:02x}");
        let sampled = flags & 0x01 == 1;
        let rate = match config {
            Config::Rate(r) => r,
            Config::TracingOff => unreachable!(),
        };
        match c.incoming.decision(continued, rate) {
            Some(e) => assert_eq!(sampled, e, "{what}"),
            None => coins.add(sampled),
        }

        // The decision actually taken: what reached the collector.
        let exported: Vec<&Value> = spans.iter().filter(|s| s["trace_id"] == trace).collect();
        if !sampled {
            assert!(
                exported.is_empty(),
                "{what}: nothing exported: {exported:#?}"
            );
            continue;
        }
        let client = exported
            .iter()
            .find(|s| s["kind"] == "CLIENT")
            .unwrap_or_else(|| panic!("{what}: the client span was exported: {exported:#?}"));
        assert_eq!(client["span_id"], parent, "{what}");
        if c.excluded {
            assert_eq!(
                exported.len(),
                1,
                "{what}: no server span on an excluded path"
            );
            let want = if continued { CALLER_SPAN } else { "" };
            assert_eq!(client["parent_span_id"], want, "{what}");
        } else {
            assert_eq!(exported.len(), 2, "{what}: {exported:#?}");
            let server = exported.iter().find(|s| s["kind"] == "SERVER").unwrap();
            assert_eq!(client["parent_span_id"], server["span_id"], "{what}");
            assert_eq!(in_a["span_id"], server["span_id"], "{what}");
        }
    }
    if let Config::Rate(r) = config
        && r > 0.0
        && r < 1.0
    {
        coins.assert_both(&format!("{config:?}"));
    }
    n
}

#[test]
fn every_http_hop_propagates_at_every_rate() {
    let collector = Collector::start();
    let (mut n, mut total) = (0, 0);
    for config in [
        Config::Rate(1.0),
        Config::Rate(0.1),
        Config::Rate(0.0),
        Config::TracingOff,
    ] {
        n = run(&collector, config, n, &mut total);
    }
    // The collector did receive spans, so "nothing exported" above means something.
    assert!(total > 0);
}
