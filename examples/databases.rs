//! Redis and PostgreSQL calls traced: `cargo run --example databases --features redis,postgres`
//! with a Redis at `REDIS_URL` (default `redis://127.0.0.1:6379/0`) and a PostgreSQL at
//! `DATABASE_URL` (default `host=127.0.0.1 user=postgres dbname=postgres`), e.g. Debian's
//! `redis-server` and `postgresql` packages. Each command and query is a CLIENT span under the
//! `checkout` span; with no collector configured they go to `tracewire-spans.jsonl`.

use redis::AsyncCommands as _;
use tracewire::db::{TracedPostgres, TracedRedis};

#[tracing::instrument(skip_all)]
async fn checkout(
    cache: &mut TracedRedis<redis::aio::MultiplexedConnection>,
    db: &mut TracedPostgres<tokio_postgres::Client>,
) -> Result<i64, Box<dyn std::error::Error>> {
    db.batch_execute("CREATE TABLE IF NOT EXISTS visits (n bigint)")
        .await?;
    let txn = db.transaction().await?;
    txn.execute("INSERT INTO visits VALUES (1)", &[]).await?;
    txn.commit().await?;
    let row = db.query_one("SELECT count(*) FROM visits", &[]).await?;
    let visits: i64 = row.get(0);
    let _: () = cache.set("visits", visits).await?;
    Ok(visits)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let pg_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=postgres".into());
    let redis = match redis::Client::open(redis_url.as_str())?
        .get_multiplexed_async_connection()
        .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cannot reach Redis at {redis_url} ({e}): start redis-server or set REDIS_URL"
            );
            std::process::exit(1);
        }
    };
    let (client, connection) = match tokio_postgres::connect(&pg_url, tokio_postgres::NoTls).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cannot reach PostgreSQL at {pg_url:?} ({e}): start postgresql or set DATABASE_URL"
            );
            std::process::exit(1);
        }
    };
    tokio::spawn(connection);
    let mut cache = TracedRedis::new(redis);
    let mut db = TracedPostgres::new(client).with_database("postgres");
    let visits = checkout(&mut cache, &mut db).await?;
    println!("visits: {visits}");
    guard.shutdown()?;
    Ok(())
}
