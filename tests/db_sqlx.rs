//! sqlx queries as CLIENT spans against a real PostgreSQL (Debian's postgresql, a cluster of the
//! test's own on a free loopback port), through a pool and through a transaction's connection:
//! named `{operation} {table}`, children of the caller's span, literals out of `db.query.text`,
//! a database error marked Error with its SQLSTATE; and every query counted in
//! `db.client.operation.duration` at sampling 1, 0.1 and 0.
#![cfg(all(feature = "sqlx", feature = "testing", feature = "metrics"))]

mod support;

use std::time::{Duration, Instant};

use support::PostgresServer;
use tracewire::db::TracedSqlx;
use tracewire::testing::{AttrValue, Capture};
use tracing::Instrument as _;

fn s(v: Option<&AttrValue>) -> Option<&str> {
    v.and_then(AttrValue::as_str)
}

async fn pool(port: u16) -> sqlx::PgPool {
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
        {
            Ok(pool) => return pool,
            // The port accepts before the server takes queries.
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("cannot connect: {e}"),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn queries_through_a_pool_and_a_transaction_are_client_spans() {
    let server = PostgresServer::start();
    let capture = Capture::start();
    runtime().block_on(async {
        let db = TracedSqlx::new(pool(server.port).await)
            .with_database("postgres")
            .with_server("127.0.0.1", server.port);
        sqlx::query("CREATE TABLE orders (id int PRIMARY KEY, customer text)")
            .execute(&db)
            .await
            .unwrap();
        let handler = tracing::info_span!("handle order");
        async {
            sqlx::query("INSERT INTO orders (id, customer) VALUES (1, 'ann-secret')")
                .execute(&db)
                .await
                .unwrap();
            let rows: Vec<(i32,)> = sqlx::query_as("SELECT id FROM orders WHERE customer = $1")
                .bind("ann-secret")
                .fetch_all(&db)
                .await
                .unwrap();
            assert_eq!(rows, [(1,)]);
            let mut tx = db.get_ref().begin().await.unwrap();
            sqlx::query("UPDATE orders SET customer = 'bob-secret' WHERE id = 1")
                .execute(db.on(&mut *tx))
                .await
                .unwrap();
            let one: Option<(i32,)> = sqlx::query_as("SELECT id FROM orders WHERE id = 1")
                .fetch_optional(db.on(&mut *tx))
                .await
                .unwrap();
            assert_eq!(one, Some((1,)));
            tx.commit().await.unwrap();
            let err = sqlx::query("SELEC 1")
                .execute(&db)
                .await
                .expect_err("a syntax error");
            let code = err.as_database_error().and_then(|e| e.code());
            assert_eq!(code.as_deref(), Some("42601"));
            // A duplicate key: the error arrives while the stream of results is read.
            let dup = sqlx::query("INSERT INTO orders (id, customer) VALUES ($1, $2)")
                .bind(1)
                .bind("x")
                .execute(&db)
                .await
                .expect_err("duplicate key");
            assert!(dup.as_database_error().is_some());
        }
        .instrument(handler)
        .await;
    });

    let spans = capture.spans();
    let handler = capture.span("handle order");
    let select = spans
        .iter()
        .find(|s| {
            s.name == "SELECT orders"
                && s.attr("db.query.text").and_then(AttrValue::as_str)
                    == Some("SELECT id FROM orders WHERE customer = $1")
        })
        .unwrap_or_else(|| {
            panic!(
                "the SELECT through the pool: {:#?}",
                spans
                    .iter()
                    .map(|s| (&s.name, &s.attributes))
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(select.kind, "client");
    assert_eq!(
        select.parent_span_id.as_deref(),
        Some(handler.span_id.as_str())
    );
    assert_eq!(select.trace_id, handler.trace_id);
    assert_eq!(s(select.attr("db.system.name")), Some("postgresql"));
    assert_eq!(s(select.attr("db.operation.name")), Some("SELECT"));
    assert_eq!(s(select.attr("db.collection.name")), Some("orders"));
    assert_eq!(s(select.attr("db.namespace")), Some("postgres"));
    assert_eq!(s(select.attr("server.address")), Some("127.0.0.1"));
    assert_eq!(
        select.attr("server.port"),
        Some(&AttrValue::I64(i64::from(server.port)))
    );
    let inserts: Vec<_> = spans.iter().filter(|s| s.name == "INSERT orders").collect();
    assert_eq!(inserts.len(), 2, "{inserts:?}");
    assert_eq!(
        s(inserts[0].attr("db.query.text")),
        Some("INSERT INTO orders (id, customer) VALUES (?, ?)")
    );
    let update = capture.span("UPDATE orders");
    assert_eq!(
        update.parent_span_id.as_deref(),
        Some(handler.span_id.as_str())
    );
    assert!(!update.is_error());
    assert_eq!(
        spans.iter().filter(|s| s.name == "SELECT orders").count(),
        2,
        "fetch_optional on the transaction"
    );
    let failed = capture.span("SELEC");
    assert!(failed.is_error());
    assert_eq!(s(failed.attr("db.response.status_code")), Some("42601"));
    assert_eq!(s(failed.attr("error.type")), Some("42601"));
    let dup = inserts
        .iter()
        .find(|s| s.is_error())
        .expect("the duplicate key is an error");
    assert_eq!(s(dup.attr("db.response.status_code")), Some("23505"));
    assert_eq!(
        capture.span("CREATE").parent_span_id,
        None,
        "no caller span: a root"
    );
    for span in &spans {
        for v in span.attributes.values() {
            assert!(
                !format!("{v:?}").contains("secret"),
                "no value leaked: {span:?}"
            );
        }
    }
}

#[test]
fn every_query_is_measured_at_any_rate() {
    let server = PostgresServer::start();
    for rate in [1.0, 0.1, 0.0] {
        let capture = Capture::with_builder(
            tracewire::builder()
                .without_settings_file()
                .with_sampling_rate(rate),
        )
        .unwrap();
        runtime().block_on(async {
            let db = TracedSqlx::new(pool(server.port).await).with_database("postgres");
            for _ in 0..5 {
                let n: (i64,) = sqlx::query_as("SELECT count(*) FROM pg_class")
                    .fetch_one(&db)
                    .await
                    .unwrap();
                assert!(n.0 > 0);
            }
            let _ = sqlx::query("SELEC 1").execute(&db).await;
        });
        let m = capture.metric("db.client.operation.duration");
        let count = |op: &str, code: Option<&str>| -> u64 {
            m.points
                .iter()
                .filter(|p| s(p.attr("db.operation.name")) == Some(op))
                .filter(|p| s(p.attr("db.response.status_code")) == code)
                .map(|p| p.count)
                .sum()
        };
        assert_eq!(count("SELECT", None), 5, "rate {rate}: {m:?}");
        assert_eq!(count("SELEC", Some("42601")), 1, "rate {rate}: {m:?}");
        for p in &m.points {
            assert_eq!(s(p.attr("db.system.name")), Some("postgresql"));
            assert!(p.attr("db.query.text").is_none(), "opt-in: {p:?}");
        }
        let sampled = capture
            .spans()
            .iter()
            .filter(|s| s.kind == "client")
            .count();
        if rate == 0.0 {
            assert_eq!(sampled, 0, "rate 0 exports no span");
        }
        if rate == 1.0 {
            assert_eq!(sampled, 6);
        }
    }
}
