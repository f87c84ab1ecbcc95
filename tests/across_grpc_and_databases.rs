//! One trace across every hop a request of a real service takes, delivered to the real
//! collector: an axum request (`ServerLayer`) calls a tonic service (`ClientLayer` →
//! `ServerLayer`), whose handler queries PostgreSQL (`TracedPostgres`) and Redis
//! (`TracedRedis`) — Debian's servers, started by the test. Every parent and kind is right, the
//! conventions' attributes are there, and no argument value leaks.
#![cfg(all(
    feature = "tonic",
    feature = "redis",
    feature = "postgres",
    feature = "axum"
))]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::grpc_service::{BoxFut, ServiceName, Unary};
use support::{Collector, PostgresServer, RedisServer, to_collector};
use tracewire::db::{TracedPostgres, TracedRedis};
use tracewire::grpc::{ClientLayer, ServerLayer};
use tracewire::settings::Protocol;

#[derive(Clone, PartialEq, prost::Message)]
struct OrderRequest {
    #[prost(int32, tag = "1")]
    id: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct OrderReply {
    #[prost(string, tag = "1")]
    customer: String,
}

struct Db {
    pg: TracedPostgres<tokio_postgres::Client>,
    redis: TracedRedis<redis::aio::MultiplexedConnection>,
}

/// `shop.Orders`: `Get` reads the customer from PostgreSQL and caches it in Redis.
struct ShopOrders;

impl ServiceName for ShopOrders {
    const NAME: &'static str = "shop.Orders";
}

fn orders(db: Arc<Db>) -> Unary<ShopOrders, OrderRequest, OrderReply> {
    Unary::new(move |method, req: OrderRequest| -> BoxFut<_> {
        let db = db.clone();
        let known = method == "Get";
        Box::pin(async move {
            use redis::AsyncCommands as _;
            if !known {
                return Err(tonic::Status::unimplemented(""));
            }
            let id = req.id;
            let row = db
                .pg
                .query_one("SELECT customer FROM orders WHERE id = $1", &[&id])
                .await
                .map_err(|e| tonic::Status::internal(e.to_string()))?;
            let customer: String = row.get(0);
            let mut cache = db.redis.clone();
            let _: () = cache
                .set(format!("order:{id}"), &customer)
                .await
                .map_err(|e| tonic::Status::internal(e.to_string()))?;
            Ok(OrderReply { customer })
        })
    })
}

async fn postgres(port: u16) -> tokio_postgres::Client {
    let config = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio_postgres::connect(&config, tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                return client;
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot connect: {e}"),
        }
    }
}

#[test]
fn one_trace_from_http_through_grpc_to_the_databases() {
    let (pg_server, redis_server) = (PostgresServer::start(), RedisServer::start());
    let collector = Collector::start();
    let service = "across";
    let guard = to_collector(&collector, Protocol::Grpc, service)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let rt = support::current_thread_runtime();
    rt.block_on(async {
        let pg = postgres(pg_server.port).await;
        pg.batch_execute(
            "CREATE TABLE orders (id int PRIMARY KEY, customer text); \
             INSERT INTO orders VALUES (1, 'ann-private')",
        )
        .await
        .unwrap();
        let redis = redis::Client::open(format!("redis://127.0.0.1:{}/0", redis_server.port))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let db = Arc::new(Db {
            pg: TracedPostgres::new(pg)
                .with_database("postgres")
                .with_server("127.0.0.1", pg_server.port),
            redis: TracedRedis::new(redis).with_server("127.0.0.1", redis_server.port),
        });
        let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_addr = grpc_listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(ServerLayer::new())
                .add_service(orders(db))
                .serve_with_incoming(support::incoming(grpc_listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let grpc = tower::ServiceBuilder::new()
            .layer(ClientLayer::new())
            .service(channel);
        let app = axum::Router::new()
            .route(
                "/orders/{id}",
                axum::routing::get(move |axum::extract::Path(id): axum::extract::Path<i32>| {
                    let mut client = tonic::client::Grpc::new(grpc.clone());
                    async move {
                        client.ready().await.unwrap();
                        let reply = client
                            .unary::<OrderRequest, OrderReply, _>(
                                tonic::Request::new(OrderRequest { id }),
                                http::uri::PathAndQuery::from_static("/shop.Orders/Get"),
                                tonic_prost::ProstCodec::default(),
                            )
                            .await
                            .unwrap();
                        reply.into_inner().customer.len().to_string()
                    }
                }),
            )
            .layer(tracewire::http::ServerLayer::new());
        let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", http_listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(http_listener, app).await });
        let res = reqwest::get(format!("{base}/orders/1")).await.unwrap();
        assert_eq!(res.status(), 200);
    });
    drop(rt);
    guard.shutdown().expect("delivered");

    let spans: Vec<Value> = collector
        .wait_for_spans(5, Duration::from_secs(10))
        .into_iter()
        .filter(|s| s["resource"]["service.name"] == service)
        .collect();
    let one = |name: &str, kind: &str| -> Value {
        let found: Vec<&Value> = spans
            .iter()
            .filter(|s| s["name"] == name && s["kind"] == kind)
            .collect();
        assert_eq!(found.len(), 1, "{name} {kind}: {spans:#?}");
        found[0].clone()
    };
    let http = one("GET /orders/{id}", "SERVER");
    let client = one("shop.Orders/Get", "CLIENT");
    let server = one("shop.Orders/Get", "SERVER");
    let select = one("SELECT orders", "CLIENT");
    let set = one("SET", "CLIENT");
    for s in [&client, &server, &select, &set] {
        assert_eq!(s["trace_id"], http["trace_id"], "one trace: {s:#?}");
    }
    assert_eq!(client["parent_span_id"], http["span_id"]);
    assert_eq!(server["parent_span_id"], client["span_id"]);
    assert_eq!(select["parent_span_id"], server["span_id"]);
    assert_eq!(set["parent_span_id"], server["span_id"]);
    assert_eq!(server["attributes"]["rpc.system.name"], "grpc");
    assert_eq!(server["attributes"]["rpc.status_code"], "OK");
    assert_eq!(select["attributes"]["db.system.name"], "postgresql");
    assert_eq!(set["attributes"]["db.system.name"], "redis");
    assert_eq!(set["attributes"]["db.query.text"], "SET ? ?");
    let all = serde_json::to_string(&spans).unwrap();
    assert!(!all.contains("ann-private"), "no argument value leaked");
}
