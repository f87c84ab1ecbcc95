//! Redis client spans against a real redis-server (Debian's, on a free loopback port): a CLIENT
//! span per command with the database conventions, no key or value in `db.query.text` unless
//! asked, a pipeline as one `PIPELINE` span with its size (`MULTI` for a transaction), a `WRONGTYPE` answer marked Error with
//! its code; at `sampling_rate = 0` nothing is exported and the calls still work.
#![cfg(feature = "redis")]

mod support;

use redis::AsyncCommands as _;
use support::RedisServer;
use tracewire::db::TracedRedis;
use tracewire::testing::{AttrValue, Capture};

fn s(v: Option<&AttrValue>) -> Option<&str> {
    v.and_then(AttrValue::as_str)
}

async fn connect(server: &RedisServer) -> TracedRedis<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/3", server.port)).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    TracedRedis::new(conn).with_server("127.0.0.1", server.port)
}

#[test]
fn commands_pipelines_and_errors_are_client_spans() {
    let server = RedisServer::start();
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = connect(&server).await;
        tracing::info_span!("handler").in_scope(|| {});
        let _: () = conn.set("session:ann", "s3cr3t-token").await.unwrap();
        let got: String = conn.get("session:ann").await.unwrap();
        assert_eq!(got, "s3cr3t-token");
        let (a, b): (i64, i64) = redis::pipe()
            .incr("hits", 1)
            .incr("hits", 2)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!((a, b), (1, 3));
        let (c, d): (i64, String) = redis::pipe()
            .atomic()
            .incr("hits", 1)
            .get("session:ann")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!((c, d.as_str()), (4, "s3cr3t-token"));
        let (only,): (i64,) = redis::pipe()
            .incr("solo", 1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(only, 1);
        let err = conn
            .lpush::<_, _, i64>("session:ann", "x")
            .await
            .expect_err("a list command on a string key");
        assert_eq!(err.code(), Some("WRONGTYPE"));
    });
    let spans = capture.spans();
    let by_name = |n: &str| capture.span(n);
    let set = by_name("SET");
    assert_eq!(set.kind, "client");
    assert_eq!(s(set.attr("db.system.name")), Some("redis"));
    assert_eq!(s(set.attr("db.operation.name")), Some("SET"));
    assert_eq!(s(set.attr("db.namespace")), Some("3"));
    assert_eq!(s(set.attr("db.query.text")), Some("SET ? ?"));
    assert_eq!(s(set.attr("server.address")), Some("127.0.0.1"));
    assert_eq!(
        set.attr("server.port"),
        Some(&AttrValue::I64(i64::from(server.port)))
    );
    assert!(set.error.is_none());
    assert_eq!(s(by_name("GET").attr("db.query.text")), Some("GET ?"));
    // The Redis conventions: `PIPELINE` (+ the command when all are the same), `MULTI` for a
    // transaction, one command alone a single operation.
    let transaction = by_name("MULTI");
    assert_eq!(s(transaction.attr("db.operation.name")), Some("MULTI"));
    assert_eq!(
        transaction.attr("db.operation.batch.size"),
        Some(&AttrValue::I64(2))
    );
    let single = spans
        .iter()
        .filter(|sp| sp.name == "INCRBY")
        .find(|sp| s(sp.attr("db.query.text")) == Some("INCRBY ? ?"))
        .expect("a pipeline of one command is that command");
    assert!(single.attr("db.operation.batch.size").is_none());
    let batch = by_name("PIPELINE INCRBY");
    assert_eq!(s(batch.attr("db.operation.name")), Some("PIPELINE INCRBY"));
    assert_eq!(
        batch.attr("db.operation.batch.size"),
        Some(&AttrValue::I64(2))
    );
    assert_eq!(
        s(batch.attr("db.query.text")),
        Some("INCRBY ? ?; INCRBY ? ?")
    );
    let failed = by_name("LPUSH");
    assert!(failed.is_error(), "{failed:?}");
    assert_eq!(s(failed.attr("error.type")), Some("WRONGTYPE"));
    assert_eq!(s(failed.attr("db.response.status_code")), Some("WRONGTYPE"));
    for span in &spans {
        for v in span.attributes.values() {
            assert!(
                !format!("{v:?}").contains("s3cr3t"),
                "no value leaked: {span:?}"
            );
        }
    }
}

#[test]
fn unsampled_calls_work_and_export_nothing() {
    let server = RedisServer::start();
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
    rt.block_on(async {
        let mut conn = connect(&server).await.with_query_values(true);
        let _: () = conn.set("k", "v").await.unwrap();
        let v: String = conn.get("k").await.unwrap();
        assert_eq!(v, "v");
    });
    assert!(capture.spans().is_empty());
}
