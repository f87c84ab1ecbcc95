//! An actix-web service that reads PostgreSQL through sqlx and publishes to RabbitMQ, and a
//! consumer that processes each message, in one trace:
//! `cargo run --example actix_sqlx_rabbitmq --features actix-web,sqlx,lapin` with a PostgreSQL at
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1/postgres`) and a RabbitMQ at `AMQP_URL`
//! (default `amqp://guest:guest@127.0.0.1:5672/%2f`), e.g. Debian's `postgresql` and
//! `rabbitmq-server`. It serves `POST /orders/{id}` on a free port, calls it three times, prints
//! each trace id and exits; with no collector configured the spans go to
//! `tracewire-spans.jsonl` (`tracewire view tracewire-spans.jsonl` draws the trees).

use actix_web::{App, HttpResponse, HttpServer, web};
use futures_util::StreamExt as _;
use tracewire::db::TracedSqlx;
use tracewire::messaging::RabbitMq;
use tracing::Instrument as _;

const QUEUE: &str = "orders";

struct Shop {
    db: TracedSqlx<sqlx::PgPool>,
    channel: lapin::Channel,
    rabbit: RabbitMq,
}

/// SERVER span `POST /orders/{id}` (the middleware) → `SELECT stock` → `publish orders`.
async fn order(id: web::Path<i32>, shop: web::Data<Shop>) -> HttpResponse {
    let stock: Result<(i64,), _> = sqlx::query_as("SELECT count(*) FROM pg_class")
        .fetch_one(&shop.db)
        .await;
    if stock.is_err() {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let body = format!("order {id}");
    let sent = shop
        .rabbit
        .basic_publish(
            &shop.channel,
            "",
            QUEUE,
            Default::default(),
            body.as_bytes(),
            Default::default(),
        )
        .await;
    match sent {
        Ok(_) => HttpResponse::Accepted()
            .body(tracewire::propagation::current_trace_id().unwrap_or_default()),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

/// CONSUMER span `process orders`, child of the publish, around the processing.
async fn consume(mut consumer: lapin::Consumer, rabbit: RabbitMq, n: usize) {
    for _ in 0..n {
        let Some(Ok(delivery)) = consumer.next().await else {
            return;
        };
        let span = rabbit.process_span(&delivery);
        async { tracing::info!(bytes = delivery.data.len(), "processing") }
            .instrument(span)
            .await;
        let _ = delivery.ack(Default::default()).await;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // lapin's own connection span (`io_loop`) would be a trace of its own.
    let guard = tracewire::builder()
        .with_setting("log_level", "info,lapin=warn")
        .init()?;
    let db_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/postgres".into());
    let amqp_url = std::env::var("AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    actix_web::rt::System::new().block_on(async move {
        let pool = sqlx::PgPool::connect(&db_url).await.map_err(|e| {
            format!("cannot reach PostgreSQL at {db_url} ({e}): start it or set DATABASE_URL")
        })?;
        let conn = lapin::Connection::connect(&amqp_url, Default::default())
            .await
            .map_err(|e| {
                format!("cannot reach RabbitMQ at {amqp_url} ({e}): start it or set AMQP_URL")
            })?;
        let channel = conn.create_channel().await?;
        channel
            .queue_declare(QUEUE.into(), Default::default(), Default::default())
            .await?;
        let consumer = channel
            .basic_consume(
                QUEUE.into(),
                "example".into(),
                Default::default(),
                Default::default(),
            )
            .await?;
        let rabbit = RabbitMq::new();
        let worker = tokio::spawn(consume(consumer, rabbit.clone(), 3));
        let shop = web::Data::new(Shop {
            db: TracedSqlx::new(pool).with_database("postgres"),
            channel,
            rabbit,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shop.clone())
                .wrap(tracewire::http::ActixMiddleware::new())
                .route("/orders/{id}", web::post().to(order))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))?;
        let port = server.addrs()[0].port();
        let running = server.run();
        let handle = running.handle();
        actix_web::rt::spawn(running);
        for id in 1..=3 {
            let trace = call(port, id).await?;
            println!("POST /orders/{id}: trace {trace}");
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), worker).await;
        handle.stop(true).await;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    guard.shutdown()?;
    Ok(())
}

/// A plain HTTP/1.1 POST, so the example needs no HTTP client crate.
async fn call(port: u16, id: i32) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let req = format!(
        "POST /orders/{id} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out.rsplit("\r\n\r\n").next().unwrap_or("").to_string())
}
