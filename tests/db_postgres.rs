//! PostgreSQL client spans against a real server (Debian's postgresql, a cluster of the test's
//! own on a free loopback port): a CLIENT span per query named `{operation} {table}`, literals
//! out of `db.query.text`, a transaction as the parent of its queries, a syntax error marked
//! Error with its SQLSTATE.
#![cfg(feature = "postgres")]

mod support;

use std::time::{Duration, Instant};

use support::PostgresServer;
use tracewire::db::TracedPostgres;
use tracewire::testing::{AttrValue, Capture};

fn s(v: Option<&AttrValue>) -> Option<&str> {
    v.and_then(AttrValue::as_str)
}

async fn connect(port: u16) -> tokio_postgres::Client {
    let config = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio_postgres::connect(&config, tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                return client;
            }
            // The port accepts before the server takes queries.
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot connect: {e}"),
        }
    }
}

#[test]
fn queries_transactions_and_errors_are_client_spans() {
    let server = PostgresServer::start();
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = connect(server.port).await;
        let mut db = TracedPostgres::new(client)
            .with_database("postgres")
            .with_server("127.0.0.1", server.port);
        db.batch_execute("CREATE TABLE orders (id int PRIMARY KEY, customer text)")
            .await
            .unwrap();
        db.execute(
            "INSERT INTO orders (id, customer) VALUES (1, 'ann-secret')",
            &[],
        )
        .await
        .unwrap();
        let rows = db
            .query(
                "SELECT id FROM orders WHERE customer = $1",
                &[&"ann-secret"],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        let txn = db.transaction().await.unwrap();
        txn.execute(
            "UPDATE orders SET customer = 'bob-secret' WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
        let err = db.query("SELEC 1", &[]).await.expect_err("a syntax error");
        assert_eq!(err.code().map(|c| c.code()), Some("42601"));
    });

    let spans = capture.spans();
    let select = capture.span("SELECT orders");
    assert_eq!(select.kind, "client");
    assert_eq!(s(select.attr("db.system.name")), Some("postgresql"));
    assert_eq!(s(select.attr("db.operation.name")), Some("SELECT"));
    assert_eq!(s(select.attr("db.collection.name")), Some("orders"));
    assert_eq!(s(select.attr("db.namespace")), Some("postgres"));
    assert_eq!(
        s(select.attr("db.query.text")),
        Some("SELECT id FROM orders WHERE customer = $1")
    );
    assert_eq!(
        select.attr("server.port"),
        Some(&AttrValue::I64(i64::from(server.port)))
    );
    let insert = capture.span("INSERT orders");
    assert_eq!(
        s(insert.attr("db.query.text")),
        Some("INSERT INTO orders (id, customer) VALUES (?, ?)")
    );
    let txn = capture.span("transaction");
    let update = capture.span("UPDATE orders");
    assert_eq!(
        update.parent_span_id.as_deref(),
        Some(txn.span_id.as_str()),
        "inside the transaction"
    );
    assert_eq!(update.trace_id, txn.trace_id);
    let failed = capture.span("SELEC");
    assert!(failed.is_error());
    assert_eq!(s(failed.attr("db.response.status_code")), Some("42601"));
    assert_eq!(s(failed.attr("error.type")), Some("42601"));
    for span in &spans {
        for v in span.attributes.values() {
            assert!(
                !format!("{v:?}").contains("secret"),
                "no value leaked: {span:?}"
            );
        }
    }
}
