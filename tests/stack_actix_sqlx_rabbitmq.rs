//! One trace across the stack teams run beside axum and tonic, at the real collector, at
//! `sampling_rate` 1 and 0.1: an actix-web service (`shop`, `ActixMiddleware`) reads PostgreSQL
//! through sqlx (`TracedSqlx`) and publishes to RabbitMQ (`RabbitMq::basic_publish`); a worker
//! process (`worker`) processes each delivery (`RabbitMq::process_span`) and writes through sqlx.
//! Every real part is real: rotel, postgresql, rabbitmq-server, two processes that only share the
//! broker. Each sampled trace holds exactly its five spans with the right kinds and parents; an
//! unsampled one leaves nothing at the collector, not even half a trace; and the request, database
//! and messaging metrics count every request and message at either rate.
//!
//! The two services are this test binary run again as child processes (`init()` is process-wide).
#![cfg(all(
    feature = "actix-web",
    feature = "sqlx",
    feature = "lapin",
    feature = "reqwest",
    feature = "metrics"
))]

mod support;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;
use support::hops::Coins;
use support::rabbitmq::RabbitMqServer;
use support::{Collector, PostgresServer};

const ROLE: &str = "TRACEWIRE_TEST_ROLE";
const QUEUE: &str = "orders.e2e";

/// What the children need, from the environment the parent gives them.
struct Env {
    pg_port: u16,
    amqp_port: u16,
    endpoint: String,
    rate: f64,
    n: usize,
}

impl Env {
    fn read() -> Env {
        let get = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k}"));
        Env {
            pg_port: get("PG_PORT").parse().unwrap(),
            amqp_port: get("AMQP_PORT").parse().unwrap(),
            endpoint: get("ENDPOINT"),
            rate: get("RATE").parse().unwrap(),
            n: get("N").parse().unwrap(),
        }
    }

    fn init(&self, service: &str) -> tracewire::Guard {
        tracewire::builder()
            .without_settings_file()
            .with_env([
                ("OTEL_EXPORTER_OTLP_ENDPOINT", self.endpoint.as_str()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ])
            .with_service_name(service)
            .with_sampling_rate(self.rate)
            // lapin's own `io_loop` span lives as long as the connection, a trace of its own:
            // the README's RabbitMQ section recommends leaving it out.
            .with_setting("log_level", "info,lapin=warn")
            .with_log_writer(std::io::sink())
            .init()
            .unwrap()
    }

    async fn db(&self) -> tracewire::db::TracedSqlx<sqlx::PgPool> {
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", self.pg_port);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap();
        tracewire::db::TracedSqlx::new(pool)
            .with_database("postgres")
            .with_server("127.0.0.1", self.pg_port)
    }

    async fn channel(&self) -> (lapin::Connection, lapin::Channel) {
        let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port);
        let conn = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.queue_declare(QUEUE.into(), Default::default(), Default::default())
            .await
            .unwrap();
        (conn, ch)
    }
}

/// The `shop` service: an actix-web server whose handler reads stock and publishes the order;
/// it calls itself `n` times with an untraced client, then stops and flushes.
#[test]
fn shop() {
    if std::env::var(ROLE).as_deref() != Ok("shop") {
        return;
    }
    let env = Env::read();
    let guard = env.init("shop");
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            use actix_web::{App, HttpResponse, HttpServer, web};
            let env = Env::read();
            let db = env.db().await;
            let (_conn, ch) = env.channel().await;
            let state = web::Data::new((db, ch, tracewire::messaging::RabbitMq::new()));
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .wrap(tracewire::http::ActixMiddleware::new())
                    .route(
                        "/orders/{id}",
                        web::post().to(
                            |id: web::Path<i32>,
                             s: web::Data<(
                                tracewire::db::TracedSqlx<sqlx::PgPool>,
                                lapin::Channel,
                                tracewire::messaging::RabbitMq,
                            )>| async move {
                                let (db, ch, rabbit) = &**s;
                                let (n,): (i32,) =
                                    sqlx::query_as("SELECT n FROM stock WHERE item = $1")
                                        .bind(1)
                                        .fetch_one(db)
                                        .await
                                        .unwrap();
                                rabbit
                                    .basic_publish(
                                        ch,
                                        "",
                                        QUEUE,
                                        Default::default(),
                                        format!("{}:{n}", id.into_inner()).as_bytes(),
                                        Default::default(),
                                    )
                                    .await
                                    .unwrap();
                                HttpResponse::Accepted().finish()
                            },
                        ),
                    )
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
            let port = server.addrs()[0].port();
            let running = server.run();
            tx.send((port, running.handle())).unwrap();
            // Bounded: the test stops it; if the test dies first, the process ends it.
            let _ = tokio::time::timeout(Duration::from_secs(120), running).await;
        });
    });
    let (port, handle) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        for i in 0..env.n {
            let r = client
                .post(format!("http://127.0.0.1:{port}/orders/{i}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
        }
        handle.stop(true).await;
    });
    server.join().unwrap();
    guard.shutdown().expect("everything delivered");
}

/// The `worker` service: processes `n` deliveries, each writing a shipment, then flushes.
#[test]
fn worker() {
    if std::env::var(ROLE).as_deref() != Ok("worker") {
        return;
    }
    let env = Env::read();
    let guard = env.init("worker");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = env.db().await;
        let (_conn, ch) = env.channel().await;
        let mut consumer = ch
            .basic_consume(
                QUEUE.into(),
                "worker".into(),
                Default::default(),
                Default::default(),
            )
            .await
            .unwrap();
        println!("READY");
        let rabbit = tracewire::messaging::RabbitMq::new();
        for _ in 0..env.n {
            let delivery = tokio::time::timeout(Duration::from_secs(60), consumer.next())
                .await
                .expect("a delivery within 60 s")
                .expect("the consumer is open")
                .unwrap();
            let span = rabbit.process_span(&delivery);
            let body = String::from_utf8_lossy(&delivery.data).to_string();
            tracing::Instrument::instrument(
                async {
                    sqlx::query("INSERT INTO shipments (body) VALUES ($1)")
                        .bind(&body)
                        .execute(&db)
                        .await
                        .unwrap();
                },
                span,
            )
            .await;
            delivery.ack(Default::default()).await.unwrap();
        }
    });
    drop(rt);
    guard.shutdown().expect("everything delivered");
}

/// Kills a child still running when the test fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn wait_ok(mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                assert!(status.success(), "{what} failed: {status}");
                return;
            }
            assert!(Instant::now() < deadline, "{what} did not finish");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn spawn(role: &str, env: &[(&str, String)], stdout: Stdio) -> Running {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", role, "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE, role)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_SAMPLER")
        .stdout(stdout);
    for (k, v) in env {
        c.env(k, v);
    }
    Running(c.spawn().unwrap())
}

/// The collector's metric points named `name`, summed over `attr = value`.
fn count(collector: &Collector, name: &str, attr: &str, value: &str) -> u64 {
    collector
        .metric_points()
        .iter()
        .filter(|p| p["name"] == name && p["attributes"][attr] == value)
        .filter_map(|p| p["count"].as_u64())
        .sum()
}

#[test]
fn one_trace_crosses_actix_sqlx_and_rabbitmq_at_rates_1_and_0_1() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    let pg = PostgresServer::start();
    let broker = RabbitMqServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        let pool = loop {
            match sqlx::PgPool::connect(&url).await {
                Ok(p) => break p,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("{e}"),
            }
        };
        for sql in [
            "CREATE TABLE stock (item int PRIMARY KEY, n int)",
            "INSERT INTO stock VALUES (1, 10)",
            "CREATE TABLE shipments (body text)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        // The broker takes connections a moment after its port answers.
        let amqp = format!("amqp://guest:guest@127.0.0.1:{}/%2f", broker.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        while lapin::Connection::connect(&amqp, Default::default())
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "RabbitMQ takes no connection");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    for (rate, n) in [(1.0, 5), (0.1, 100)] {
        let collector = Collector::start();
        let env = [
            ("PG_PORT", pg.port.to_string()),
            ("AMQP_PORT", broker.port.to_string()),
            ("ENDPOINT", collector.http_endpoint()),
            ("RATE", rate.to_string()),
            ("N", n.to_string()),
        ];
        let mut worker = spawn("worker", &env, Stdio::piped());
        let mut lines = BufReader::new(worker.0.stdout.take().unwrap()).lines();
        assert!(
            lines.any(|l| l.is_ok_and(|l| l.contains("READY"))),
            "the worker consumes"
        );
        spawn("shop", &env, Stdio::null()).wait_ok("shop");
        worker.wait_ok("worker");

        // Both flushed at shutdown; the collector writes what it received a moment later.
        let metrics_in = |c: &Collector| {
            count(
                c,
                "messaging.process.duration",
                "messaging.system",
                "rabbitmq",
            ) >= n as u64
                && count(
                    c,
                    "http.server.request.duration",
                    "http.route",
                    "/orders/{id}",
                ) >= n as u64
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !metrics_in(&collector) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut spans = collector.spans();
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let again = collector.spans();
            if again.len() == spans.len() {
                break;
            }
            spans = again;
        }

        // Each trace: server → (SELECT, publish → process → INSERT).
        let mut traces: HashMap<&str, Vec<&Value>> = HashMap::new();
        for s in &spans {
            traces
                .entry(s["trace_id"].as_str().unwrap())
                .or_default()
                .push(s);
        }
        let mut coins = Coins::default();
        for (trace, spans) in &traces {
            let one = |name: &str, kind: &str, service: &str| -> &Value {
                let found: Vec<_> = spans.iter().filter(|s| s["name"] == name).collect();
                assert_eq!(
                    found.len(),
                    1,
                    "rate {rate}, trace {trace}: one `{name}`: {spans:#?}"
                );
                assert_eq!(found[0]["kind"], kind, "{name}");
                assert_eq!(found[0]["resource"]["service.name"], service, "{name}");
                found[0]
            };
            assert_eq!(
                spans.len(),
                5,
                "rate {rate}, trace {trace}: the whole trace: {spans:#?}"
            );
            let server = one("POST /orders/{id}", "SERVER", "shop");
            let select = one("SELECT stock", "CLIENT", "shop");
            let publish = one("publish orders.e2e", "PRODUCER", "shop");
            let process = one("process orders.e2e", "CONSUMER", "worker");
            let insert = one("INSERT shipments", "CLIENT", "worker");
            assert_eq!(server["parent_span_id"], "", "the server span is the root");
            assert_eq!(select["parent_span_id"], server["span_id"]);
            assert_eq!(publish["parent_span_id"], server["span_id"]);
            assert_eq!(process["parent_span_id"], publish["span_id"]);
            assert_eq!(insert["parent_span_id"], process["span_id"]);
            assert_eq!(select["attributes"]["db.system.name"], "postgresql");
            assert_eq!(process["attributes"]["messaging.system"], "rabbitmq");
            assert_eq!(
                process["attributes"]["messaging.message.id"],
                publish["attributes"]["messaging.message.id"]
            );
            coins.add(true);
        }
        for _ in traces.len()..n {
            coins.add(false);
        }
        if rate == 1.0 {
            assert_eq!(traces.len(), n, "every request traced at rate 1");
        } else {
            coins.assert_both("rate 0.1");
        }

        // Every request and message measured, sampled or not.
        let n = n as u64;
        assert_eq!(
            count(
                &collector,
                "http.server.request.duration",
                "http.route",
                "/orders/{id}"
            ),
            n
        );
        assert_eq!(
            count(
                &collector,
                "db.client.operation.duration",
                "db.operation.name",
                "SELECT"
            ),
            n
        );
        assert_eq!(
            count(
                &collector,
                "db.client.operation.duration",
                "db.operation.name",
                "INSERT"
            ),
            n
        );
        assert_eq!(
            count(
                &collector,
                "messaging.process.duration",
                "messaging.system",
                "rabbitmq"
            ),
            n
        );
    }
}
