//! Database and cache clients: CLIENT spans per call with the stable database semantic
//! conventions (`db.system.name`, `db.operation.name`, `db.namespace`, `db.query.text` without
//! values, `server.address`/`server.port`, `error.type`), target `tracewire::db` (kept whatever
//! `log_level` says, as the HTTP and messaging spans are).
//!
//! - `TracedRedis` (feature `redis`): any `redis::aio::ConnectionLike` (a multiplexed
//!   connection, a connection manager), one span per command, one per pipeline.
//! - `TracedPostgres` (feature `postgres`): tokio-postgres, one span per query, a parent span
//!   per transaction.
//! - `TracedSqlx` (feature `sqlx`): any sqlx 0.9 executor (a pool, a connection, a
//!   transaction's connection), one span per query, whatever the database.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "postgres", feature = "sqlx"))]
mod sql;
#[cfg(feature = "sqlx")]
mod sqlx;

#[cfg(feature = "postgres")]
pub use self::postgres::{TracedPostgres, TracedTransaction};
#[cfg(feature = "redis")]
pub use self::redis::TracedRedis;
#[cfg(feature = "sqlx")]
pub use self::sqlx::TracedSqlx;
