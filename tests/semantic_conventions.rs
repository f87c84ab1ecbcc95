//! Every span and metric tracewire's integrations make, checked against the semantic
//! conventions' model: `tests/data/semconv.tsv`, derived from the model's YAML by
//! `scripts/semconv-table.py` (its first row names the model's commit). For each span and metric
//! point: every attribute in a convention namespace exists in the model, is not deprecated, has
//! the model's type, and belongs to the span's or metric's group (and is not opt-in, which
//! tracewire only emits when asked); every attribute the group requires is there; a metric has
//! the model's unit. When the model moves, re-derive the table: this test says where tracewire
//! drifted.
//!
//! The integrations run against real parts where they need one (redis-server, PostgreSQL through
//! tokio-postgres and sqlx, rabbitmq-server); the HTTP and gRPC layers wrap in-process services,
//! actix-web's middleware an in-process app (the conventions are about what the layers record).
#![cfg(all(
    feature = "testing",
    feature = "http-server",
    feature = "http-client",
    feature = "tonic",
    feature = "redis",
    feature = "postgres",
    feature = "sqlx",
    feature = "lapin",
    feature = "actix-web",
    feature = "reqwest",
    feature = "metrics"
))]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use futures_util::StreamExt as _;
use redis::AsyncCommands as _;
use tower::ServiceExt as _;
use tracewire::testing::{AttrValue, Capture};

/// The model's facts tracewire is checked against.
#[derive(Default)]
struct Model {
    version: String,
    /// name → (type, deprecated)
    attrs: BTreeMap<String, (String, String)>,
    /// group → attribute → requirement level
    refs: BTreeMap<String, BTreeMap<String, String>>,
    /// metric name → (group, unit)
    metrics: BTreeMap<String, (String, String)>,
}

fn model() -> Model {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/semconv.tsv"
    ))
    .expect("tests/data/semconv.tsv (scripts/semconv-table.py makes it)");
    let mut m = Model::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "version" => m.version = f[1].to_string(),
            "attr" => {
                m.attrs
                    .insert(f[1].to_string(), (f[2].to_string(), f[4].to_string()));
            }
            "metric" => {
                m.metrics
                    .insert(f[2].to_string(), (f[1].to_string(), f[4].to_string()));
            }
            "ref" => {
                m.refs
                    .entry(f[1].to_string())
                    .or_default()
                    .insert(f[2].to_string(), f[3].to_string());
            }
            _ => {}
        }
    }
    m
}

const NAMESPACES: &[&str] = &[
    "http.",
    "url.",
    "server.",
    "client.",
    "network.",
    "rpc.",
    "db.",
    "messaging.",
    "error.",
    "exception.",
    "user_agent.",
];

fn type_of(v: &AttrValue) -> &'static str {
    match v {
        AttrValue::Bool(_) => "boolean",
        AttrValue::I64(_) => "int",
        AttrValue::F64(_) => "double",
        AttrValue::Str(_) => "string",
        AttrValue::Array(_) => "array",
        _ => "other",
    }
}

/// Checks one span's or point's attributes against `groups`; returns the problems found.
fn check(
    model: &Model,
    what: &str,
    attrs: &BTreeMap<String, AttrValue>,
    groups: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let refs: BTreeMap<&str, &str> = groups
        .iter()
        .flat_map(|g| {
            model
                .refs
                .get(*g)
                .unwrap_or_else(|| panic!("group {g} is not in the table"))
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
        })
        .collect();
    for (key, value) in attrs {
        if !NAMESPACES.iter().any(|n| key.starts_with(n)) {
            continue;
        }
        let Some((ty, deprecated)) = model.attrs.get(key) else {
            problems.push(format!("{what}: `{key}` is not in the model"));
            continue;
        };
        if deprecated != "-" {
            problems.push(format!("{what}: `{key}` is deprecated ({deprecated})"));
        }
        let got = type_of(value);
        let ok = match ty.as_str() {
            t if t.ends_with("[]") => got == "array",
            t => t == got,
        };
        if !ok {
            problems.push(format!("{what}: `{key}` is {got}, the model says {ty}"));
        }
        // The database span groups say in their note that `db.system.name` MUST be set, but do
        // not list it (a weaver limitation the model's own TODO names).
        let noted = key == "db.system.name" && groups.iter().any(|g| g.starts_with("span.db."));
        match refs.get(key.as_str()) {
            None if !groups.is_empty() && !noted => {
                problems.push(format!("{what}: `{key}` is not an attribute of {groups:?}"))
            }
            Some(&"opt_in") => problems.push(format!(
                "{what}: `{key}` is opt-in in {groups:?}, and was not asked for"
            )),
            _ => {}
        }
    }
    for (key, level) in &refs {
        if *level == "required" && !attrs.contains_key(*key) {
            problems.push(format!("{what}: required `{key}` is missing"));
        }
    }
    problems
}

/// Connects, retrying while the server starts taking connections (its port answers first).
async fn retry<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
    connect: impl Fn() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match connect().await {
            Ok(t) => return t,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(e) => panic!("cannot connect: {e}"),
        }
    }
}

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.into())
}

#[test]
fn every_span_and_metric_follows_the_model() {
    let model = model();
    assert!(!model.version.is_empty());
    let redis_server = support::RedisServer::start();
    let pg = support::PostgresServer::start();
    let rabbit = support::rabbitmq::RabbitMqServer::start();
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // HTTP server: a request through ServerLayer.
        let server = tower::ServiceBuilder::new()
            .layer(tracewire::http::ServerLayer::new())
            .service_fn(|_req: http::Request<String>| async {
                Ok::<_, Infallible>(http::Response::new(String::new()))
            });
        let req = http::Request::get("http://shop.local:8080/orders?page=2")
            .body(String::new())
            .unwrap();
        server.oneshot(req).await.unwrap();

        // HTTP client: the tower layer around a service that answers 503.
        let client = tower::ServiceBuilder::new()
            .layer(tracewire::http::ClientLayer::new())
            .service_fn(|_req: http::Request<String>| async {
                let mut r = http::Response::new(String::new());
                *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                Ok::<_, Infallible>(r)
            });
        let req = http::Request::get("https://payments.local/charge")
            .body(String::new())
            .unwrap();
        client.oneshot(req).await.unwrap();

        // HTTP client: reqwest-middleware against a real (axum) server answering 404.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let app = axum::Router::new().fallback(|| async { http::StatusCode::NOT_FOUND });
            let _ = axum::serve(listener, app).await;
        });
        let reqwest_client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(tracewire::http::ClientMiddleware::default())
            .build();
        let r = reqwest_client
            .get(format!("http://{addr}/missing"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        // gRPC: both layers around services answering with a status in the headers.
        let grpc = |code: &'static str| {
            move |_req: http::Request<String>| async move {
                let mut r = http::Response::new(String::new());
                r.headers_mut().insert("grpc-status", code.parse().unwrap());
                Ok::<_, Infallible>(r)
            }
        };
        let server = tower::ServiceBuilder::new()
            .layer(tracewire::grpc::ServerLayer::new())
            .service_fn(grpc("0"));
        let req = http::Request::post("http://orders.local:50051/shop.v1.Orders/Get")
            .body(String::new())
            .unwrap();
        let _ = server.oneshot(req).await.unwrap();
        let client = tower::ServiceBuilder::new()
            .layer(tracewire::grpc::ClientLayer::new().with_server("orders.local:50051"))
            .service_fn(grpc("5"));
        let req = http::Request::post("/shop.v1.Orders/Get")
            .body(String::new())
            .unwrap();
        let _ = client.oneshot(req).await.unwrap();

        // Redis, against a real server: a command, a pipeline, a failing command.
        let c = redis::Client::open(format!("redis://127.0.0.1:{}/1", redis_server.port)).unwrap();
        let conn = c.get_multiplexed_async_connection().await.unwrap();
        let mut conn =
            tracewire::db::TracedRedis::new(conn).with_server("127.0.0.1", redis_server.port);
        let _: () = conn.set("k", "v").await.unwrap();
        let _: (i64, i64) = redis::pipe()
            .incr("n", 1)
            .incr("n", 1)
            .query_async(&mut conn)
            .await
            .unwrap();
        let _ = conn.lpush::<_, _, i64>("k", "x").await;

        // PostgreSQL, against a real server: tokio-postgres and sqlx, a query and an error each.
        let url = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port);
        let pool = retry(|| sqlx::PgPool::connect(&url)).await;
        let db = tracewire::db::TracedSqlx::new(pool)
            .with_database("postgres")
            .with_server("127.0.0.1", pg.port);
        let _: (i32,) = sqlx::query_as("SELECT 1").fetch_one(&db).await.unwrap();
        let _ = sqlx::query("SELEC 1").execute(&db).await;
        let (client, connection) = tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres",
                pg.port
            ),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let pgdb = tracewire::db::TracedPostgres::new(client)
            .with_database("postgres")
            .with_server("127.0.0.1", pg.port);
        pgdb.query("SELECT 1", &[]).await.unwrap();
        let _ = pgdb.query("SELEC 1", &[]).await;

        // RabbitMQ, against a real broker: a publish and the processing of its delivery.
        let amqp_url = rabbit.url();
        let conn =
            retry(|| lapin::Connection::connect(&amqp_url, lapin::ConnectionProperties::default()))
                .await;
        let ch = conn.create_channel().await.unwrap();
        let none = lapin::types::FieldTable::default;
        ch.queue_declare("semconv".into(), Default::default(), none())
            .await
            .unwrap();
        let mut consumer = ch
            .basic_consume("semconv".into(), "c".into(), Default::default(), none())
            .await
            .unwrap();
        let amqp = tracewire::messaging::RabbitMq::new().with_server("127.0.0.1", rabbit.port);
        amqp.basic_publish(
            &ch,
            "",
            "semconv",
            Default::default(),
            b"{}",
            Default::default(),
        )
        .await
        .unwrap();
        let delivery = tokio::time::timeout(std::time::Duration::from_secs(20), consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        amqp.process_span(&delivery).in_scope(|| {});

        // Messaging, the broker-independent helpers.
        let m = tracewire::messaging::Messaging::new("kafka");
        m.send_span("orders").in_scope(|| {});
        let headers: Vec<(String, Vec<u8>)> = Vec::new();
        m.process_span_from("orders", &headers).in_scope(|| {});
    });
    drop(rt);

    // actix-web: a request through the middleware, on actix's own runtime.
    actix_web::rt::System::new().block_on(async {
        use actix_web::{App, HttpResponse, test, web};
        let app = test::init_service(
            App::new()
                .wrap(tracewire::http::ActixMiddleware::new())
                .route(
                    "/carts/{id}",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                ),
        )
        .await;
        let req = test::TestRequest::get().uri("/carts/7?x=1").to_request();
        let _ = test::call_service(&app, req).await;
    });

    let mut problems = Vec::new();
    let spans = capture.spans();
    let mut seen = BTreeSet::new();
    for span in &spans {
        let a = &span.attributes;
        let groups: Vec<&str> = if a.get("rpc.system.name") == Some(&s("grpc")) {
            if span.kind == "server" {
                vec!["span.rpc.call.server", "span.rpc.grpc.call.server"]
            } else {
                vec!["span.rpc.call.client", "span.rpc.grpc.call.client"]
            }
        } else if a.contains_key("http.request.method") {
            vec![if span.kind == "server" {
                "span.http.server"
            } else {
                "span.http.client"
            }]
        } else if a.get("db.system.name") == Some(&s("redis")) {
            vec!["span.db.redis.client"]
        } else if a.get("db.system.name") == Some(&s("postgresql")) {
            vec!["span.db.postgresql.client"]
        } else if a.get("messaging.system") == Some(&s("rabbitmq")) {
            vec![if span.kind == "producer" {
                "span.messaging.rabbitmq.send.producer"
            } else {
                "span.messaging.rabbitmq.process.consumer"
            }]
        } else if a.get("messaging.operation.type") == Some(&s("send")) {
            vec!["span.messaging.send.producer"]
        } else if a.get("messaging.operation.type") == Some(&s("process")) {
            vec!["span.messaging.process.consumer"]
        } else {
            panic!("a span of no known kind: {span:?}")
        };
        seen.insert(groups[0]);
        problems.extend(check(&model, &format!("span {}", span.name), a, &groups));
    }
    assert_eq!(
        seen.len(),
        10,
        "every kind of span was made: {seen:?} from {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let mut metrics_seen = 0;
    for metric in capture.metrics() {
        let Some((group, unit)) = model.metrics.get(&metric.name) else {
            problems.push(format!("metric {} is not in the model", metric.name));
            continue;
        };
        metrics_seen += 1;
        if &metric.unit != unit {
            problems.push(format!(
                "metric {}: unit {}, the model says {unit}",
                metric.name, metric.unit
            ));
        }
        for p in &metric.points {
            problems.extend(check(
                &model,
                &format!("metric {}", metric.name),
                &p.attributes,
                &[group.as_str()],
            ));
        }
    }
    assert!(metrics_seen >= 6, "{metrics_seen} metrics checked");
    assert!(
        problems.is_empty(),
        "against the model @{}:\n{}",
        model.version,
        problems.join("\n")
    );
}
