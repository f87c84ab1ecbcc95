//! Deferred sampling across services with W3C `traceresponse`: three real services, each with
//! its own tracewire stack at `sampling_rate = 0` with the tail rule (`keep_errors`), exporting
//! to the real collector: A (axum, `ServerLayer` + reqwest `ClientMiddleware`) → B (axum,
//! `ServerLayer` + `ClientLayer`) → C (tonic, `ServerLayer`). B and A absorb C's failure
//! (they answer 200): only C's `traceresponse`, passed up by B, can make them keep their part.
//!
//! - C fails → every span of A, B and C for that request reaches the collector, parents right.
//! - C succeeds → nothing arrives.
//! - A Python OpenTelemetry service in the middle (A → Python → B → C) → the chain stops there:
//!   B and C keep their part, A nothing, and nothing breaks.
//! - A hostile callee answering "sampled" to everything → promotions capped per second, the rest
//!   refused and counted; malformed values, other traces' ids and unsampled answers ignored.
#![cfg(all(feature = "axum", feature = "reqwest", feature = "tonic"))]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::grpc_service::{BoxFut, ServiceName, Unary};
use support::{Collector, PythonOtelPeer};
use tracewire::Stats;
use tracewire::grpc::{ClientLayer, ServerLayer};

#[derive(Clone, PartialEq, prost::Message)]
struct Work {
    #[prost(string, tag = "1")]
    mode: String,
}

/// C: `deferred.C/Work` fails when asked to.
struct DeferredC;

impl ServiceName for DeferredC {
    const NAME: &'static str = "deferred.C";
}

fn grpc_c() -> Unary<DeferredC, Work, Work> {
    Unary::new(|_method, work: Work| -> BoxFut<_> {
        Box::pin(async move {
            if work.mode == "fail" {
                Err(tonic::Status::internal("C broke"))
            } else {
                Ok(work)
            }
        })
    })
}

/// A service on a thread of its own, with its own tracewire stack (`set_default`) and a
/// current-thread runtime: every task of the service runs there, under its stack.
struct Service {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<std::thread::JoinHandle<Stats>>,
}

impl Service {
    fn start<F, Fut>(name: &'static str, endpoint: &str, max_promotions: u32, serve: F) -> Service
    where
        F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + 'static,
    {
        let endpoint = endpoint.to_string();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = std::thread::spawn(move || {
            let guard = tracewire::builder()
                .without_settings_file()
                .with_env([
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ])
                .with_service_name(name)
                .with_sampling_rate(0.0)
                .with_setting("keep_errors", true)
                .with_setting("traceresponse_max_promotions_per_second", max_promotions)
                .with_setting("metrics_enabled", false)
                .with_log_writer(std::io::sink())
                .set_default()
                .unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                tokio::select! {
                    _ = serve(listener) => {}
                    _ = stopped => {}
                    // Bounded: a test that dies leaves no thread behind for long.
                    _ = tokio::time::sleep(Duration::from_secs(120)) => {}
                }
            });
            drop(rt);
            guard
                .shutdown()
                .unwrap_or_else(|e| e.stats().unwrap_or_default())
        });
        let port = port_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        Service {
            port,
            stop: Some(stop),
            done: Some(done),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(mut self) -> Stats {
        let _ = self.stop.take().unwrap().send(());
        self.done.take().unwrap().join().unwrap()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A: `GET /a?next=URL` calls URL (reqwest + `ClientMiddleware`) and answers 200 whatever it
/// got.
fn service_a(endpoint: &str) -> Service {
    Service::start("a", endpoint, 5, |listener| async move {
        use axum::extract::Query;
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(tracewire::http::ClientMiddleware::default())
            .build();
        let app = axum::Router::new()
            .route(
                "/a",
                axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
                    let client = client.clone();
                    async move {
                        let status = match client.get(&q["next"]).send().await {
                            Ok(r) => r.status().as_u16(),
                            Err(_) => 0,
                        };
                        format!("next answered {status}")
                    }
                }),
            )
            .layer(tracewire::http::ServerLayer::new());
        let _ = axum::serve(listener, app).await;
    })
}

/// B: `GET /b/{mode}` calls C over gRPC and answers 200 (a fallback when C fails).
fn service_b(endpoint: &str, c: String) -> Service {
    Service::start("b", endpoint, 20, move |listener| async move {
        let channel = tonic::transport::Endpoint::from_shared(c.clone())
            .unwrap()
            .connect_lazy();
        let traced = tower::ServiceBuilder::new()
            .layer(ClientLayer::new().with_server(&c))
            .service(channel);
        let app = axum::Router::new()
            .route(
                "/b/{mode}",
                axum::routing::get(
                    move |axum::extract::Path(mode): axum::extract::Path<String>| {
                        let mut client = tonic::client::Grpc::new(traced.clone());
                        async move {
                            client.ready().await.unwrap();
                            let r = client
                                .unary::<Work, Work, _>(
                                    tonic::Request::new(Work { mode }),
                                    http::uri::PathAndQuery::from_static("/deferred.C/Work"),
                                    tonic_prost::ProstCodec::default(),
                                )
                                .await;
                            if r.is_ok() { "done" } else { "fallback" }
                        }
                    },
                ),
            )
            .layer(tracewire::http::ServerLayer::new());
        let _ = axum::serve(listener, app).await;
    })
}

fn service_c(endpoint: &str) -> Service {
    Service::start("c", endpoint, 20, |listener| async move {
        let _ = tonic::transport::Server::builder()
            .layer(ServerLayer::new())
            .add_service(grpc_c())
            .serve_with_incoming(support::incoming(listener))
            .await;
    })
}

/// (service, name, kind, span id, parent id).
type Row = (String, String, String, String, String);

/// Spans at the collector by trace id.
fn traces(collector: &Collector) -> HashMap<String, Vec<Row>> {
    let mut out: HashMap<String, Vec<_>> = HashMap::new();
    for s in collector.spans() {
        let get = |v: &Value| v.as_str().unwrap_or("").to_string();
        out.entry(get(&s["trace_id"])).or_default().push((
            get(&s["resource"]["service.name"]),
            get(&s["name"]),
            get(&s["kind"]),
            get(&s["span_id"]),
            get(&s["parent_span_id"]),
        ));
    }
    out
}

fn get(url: &str) -> (u16, Option<String>) {
    get_with(url, "")
}

/// GET `url`, with `traceparent` when not empty; the status and the `traceresponse`.
fn get_with(url: &str, traceparent: &str) -> (u16, Option<String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if !traceparent.is_empty() {
            req = req.header("traceparent", traceparent);
        }
        let r = req.send().await.unwrap();
        let tr = r
            .headers()
            .get("traceresponse")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), tr)
    })
}

fn encode(url: &str) -> String {
    url.replace(':', "%3A")
        .replace('/', "%2F")
        .replace('?', "%3F")
        .replace('=', "%3D")
        .replace('&', "%26")
}

#[test]
fn a_failure_three_hops_down_brings_back_the_whole_trace() {
    let collector = Collector::start();
    let endpoint = collector.http_endpoint();
    let c = service_c(&endpoint);
    let b = service_b(&endpoint, c.url());
    let a = service_a(&endpoint);
    let python = PythonOtelPeer::start();

    // Successes: nothing is kept anywhere.
    for _ in 0..3 {
        let (status, tr) = get(&format!(
            "{}/a?next={}",
            a.url(),
            encode(&format!("{}/b/ok", b.url()))
        ));
        assert_eq!(status, 200);
        assert_eq!(tr, None, "an unsampled success says nothing");
    }
    // C fails: B answers 200, A answers 200, and the trace comes back whole.
    let (status, _) = get(&format!(
        "{}/a?next={}",
        a.url(),
        encode(&format!("{}/b/fail", b.url()))
    ));
    assert_eq!(status, 200);
    // The same with Python's SDK between A and B: the chain stops there.
    let relay = format!(
        "{}/relay?url={}",
        python.url(),
        encode(&format!("{}/b/fail", b.url()))
    );
    let (status, _) = get(&format!("{}/a?next={}", a.url(), encode(&relay)));
    assert_eq!(status, 200);
    // B answers a caller that did not sample (flags 00) itself, with B's own span; a caller
    // with no trace context gets nothing (`changed`: nothing changed for it).
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    let tr = get_with(&format!("{}/b/fail", b.url()), caller).1;
    let tr = tr.expect("B kept a trace its caller did not sample, and says so");
    assert!(
        tr.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{tr}"
    );
    assert!(!tr.contains("00f067aa0ba902b7"), "B's own span: {tr}");
    assert!(tr.ends_with("-01") || tr.ends_with("-03"), "sampled: {tr}");
    assert_eq!(get(&format!("{}/b/fail", b.url())).1, None);

    let stats_a = a.stop();
    let stats_b = b.stop();
    let stats_c = c.stop();
    assert_eq!(stats_a.traces_promoted, 1, "A: {stats_a}");
    assert_eq!(stats_b.traces_promoted, 4, "B: {stats_b}");
    assert_eq!(stats_c.traces_promoted, 0, "C keeps its own error");

    let deadline = Instant::now() + Duration::from_secs(10);
    let all = loop {
        let all = traces(&collector);
        let spans: usize = all.values().map(Vec::len).sum();
        if spans >= 5 + 3 + 3 + 3 || Instant::now() > deadline {
            break all;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // One trace holds A, B and C.
    let whole: Vec<_> = all
        .values()
        .filter(|spans| spans.iter().any(|s| s.0 == "a"))
        .collect();
    assert_eq!(whole.len(), 1, "{all:#?}");
    let spans = whole[0];
    let find = |service: &str, kind: &str| {
        spans
            .iter()
            .find(|s| s.0 == service && s.2 == kind)
            .unwrap_or_else(|| panic!("{service} {kind} in {spans:#?}"))
    };
    let a_server = find("a", "SERVER");
    let a_client = find("a", "CLIENT");
    let b_server = find("b", "SERVER");
    let b_client = find("b", "CLIENT");
    let c_server = find("c", "SERVER");
    assert_eq!(spans.len(), 5, "{spans:#?}");
    assert_eq!(a_client.4, a_server.3);
    assert_eq!(b_server.4, a_client.3);
    assert_eq!(b_client.4, b_server.3);
    assert_eq!(c_server.4, b_client.3);
    assert_eq!(c_server.1, "deferred.C/Work");

    // Through Python: B and C kept theirs (a trace without A), A none of it.
    let through_python: Vec<_> = all
        .iter()
        .filter(|(trace, _)| trace.as_str() != "4bf92f3577b34da6a3ce929d0e0e4736")
        .map(|(_, spans)| spans)
        .filter(|spans| !spans.iter().any(|s| s.0 == "a"))
        .filter(|spans| {
            spans
                .iter()
                .any(|s| s.0 == "b" && s.2 == "SERVER" && !s.4.is_empty())
        })
        .collect();
    assert_eq!(through_python.len(), 1, "{all:#?}");
    assert_eq!(through_python[0].len(), 3, "B's two spans and C's");
    // Nothing else: the successes left nothing. B called directly: twice its two spans and C's.
    let total: usize = all.values().map(Vec::len).sum();
    assert_eq!(total, 5 + 3 + 3 + 3, "{all:#?}");
}

#[test]
fn a_hostile_callee_cannot_turn_sampling_off() {
    let collector = Collector::start();
    let endpoint = collector.http_endpoint();
    // Answers every request with a `traceresponse` of the kind its path asks for.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let hostile = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/{kind}",
                axum::routing::get(
                    |axum::extract::Path(kind): axum::extract::Path<String>,
                     headers: http::HeaderMap| async move {
                        let tp = headers
                            .get("traceparent")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        let trace = tp.get(3..35).unwrap_or("").to_string();
                        let value = match kind.as_str() {
                            "sampled" => format!("00-{trace}-00f067aa0ba902b7-01"),
                            "unsampled" => format!("00-{trace}-00f067aa0ba902b7-00"),
                            "foreign" => {
                                "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01".into()
                            }
                            "upper" => format!("00-{}-00F067AA0BA902B7-01", trace.to_uppercase()),
                            "version" => format!("ff-{trace}-00f067aa0ba902b7-01"),
                            "long" => format!("00-{trace}-00f067aa0ba902b7-01-extra"),
                            _ => "garbage".into(),
                        };
                        ([("traceresponse", value)], "ok")
                    },
                ),
            );
            let _ = tokio::time::timeout(Duration::from_secs(60), axum::serve(listener, app)).await;
        })
    });
    let a = service_a(&endpoint);
    for kind in [
        "unsampled",
        "foreign",
        "upper",
        "version",
        "long",
        "garbage",
    ] {
        for _ in 0..5 {
            get(&format!(
                "{}/a?next={}",
                a.url(),
                encode(&format!("{hostile}/{kind}"))
            ));
        }
    }
    let started = Instant::now();
    let n = 50;
    for _ in 0..n {
        get(&format!(
            "{}/a?next={}",
            a.url(),
            encode(&format!("{hostile}/sampled"))
        ));
    }
    let took = started.elapsed().as_secs_f64();
    // A request carrying a `traceresponse` of its own: never sent back.
    let (_, tr) = {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = reqwest::Client::new()
                .get(format!(
                    "{}/a?next={}",
                    a.url(),
                    encode(&format!("{hostile}/unsampled"))
                ))
                .header(
                    "traceresponse",
                    "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
                )
                .send()
                .await
                .unwrap();
            let tr = r
                .headers()
                .get("traceresponse")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status(), tr)
        })
    };
    assert_eq!(tr, None, "a caller's own header is not reflected");
    let stats = a.stop();
    drop(server);
    // The cap: 5 a second, 5 at once.
    let cap = (5.0 + 5.0 * took).ceil() as u64;
    assert!(stats.traces_promoted >= 5, "{stats}");
    assert!(stats.traces_promoted <= cap, "at most {cap}: {stats}");
    assert_eq!(
        stats.traces_promoted + stats.promotions_refused,
        n,
        "every 'sampled' answer promoted or refused, the others ignored: {stats}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kept = traces(&collector).len() as u64;
        if kept >= stats.traces_promoted || Instant::now() > deadline {
            assert_eq!(
                kept, stats.traces_promoted,
                "only the promoted traces arrive"
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
