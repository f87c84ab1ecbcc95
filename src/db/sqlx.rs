//! [`TracedSqlx`]: a CLIENT span per sqlx query, whatever the database.
//!
//! Why a wrapper that is itself an `Executor`, not sqlx's own query events turned into spans:
//! those events are log lines written when a query ends (the span would have to be invented
//! after the fact, with a start time tracing cannot set), they name no database, server or
//! error, and they vanish when the user's filter leaves out `sqlx::query`. An executor sees
//! every query sqlx runs through it (`query`, `query_as`, `query!`, `QueryBuilder`, raw SQL),
//! starts its span in the caller's span before the query runs, and sees the error.
//!
//! The statement's text is only handed over once sqlx consumes the query, which it does when
//! the query starts; so the span starts as `sqlx query` and takes its name, operation, table
//! and sanitised text at that moment (before it ends, so every exported span has them).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use sqlx::error::BoxDynError;
use sqlx::{Database, Describe, Error, Execute, Executor, SqlStr};
use tracing::Instrument as _;
use tracing::field::Empty;

use super::sql::{operation, sanitize};

#[derive(Debug, Default, Clone)]
struct Info {
    database: Option<String>,
    address: Option<String>,
    port: Option<u16>,
}

/// An sqlx executor (a `Pool`, or a connection such as a transaction's `&mut *tx`) whose
/// queries are traced: pass `&db` (or [`db.on(&mut *tx)`](Self::on)) where sqlx takes an
/// executor.
///
/// Each query is a CLIENT span `{db.operation.name} {db.collection.name}` (`SELECT orders`),
/// child of the caller's span, with `db.system.name` from the driver (`postgresql`, `mysql`,
/// `sqlite`), `db.query.text` with string and number literals replaced by `?`, `db.namespace`
/// and `server.address`/`server.port` as set here; a database error's SQLSTATE goes to
/// `db.response.status_code` and `error.type`, status Error. Every query, sampled or not, also
/// counts in `db.client.operation.duration`.
///
/// ```no_run
/// # async fn run() -> Result<(), sqlx::Error> {
/// let pool = sqlx::PgPool::connect("postgres://app@127.0.0.1/shop").await?;
/// let db = tracewire::db::TracedSqlx::new(pool)
///     .with_database("shop")
///     .with_server("127.0.0.1", 5432);
/// let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM orders WHERE customer = $1")
///     .bind(42_i64)
///     .fetch_all(&db)
///     .await?;
/// let mut tx = db.get_ref().begin().await?;
/// sqlx::query("UPDATE stock SET n = n - 1").execute(db.on(&mut *tx)).await?;
/// tx.commit().await?;
/// # let _ = ids; Ok(()) }
/// ```
pub struct TracedSqlx<E> {
    inner: E,
    info: Arc<Info>,
}

impl<E> std::fmt::Debug for TracedSqlx<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedSqlx")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl<E: Clone> Clone for TracedSqlx<E> {
    fn clone(&self) -> Self {
        TracedSqlx {
            inner: self.inner.clone(),
            info: Arc::clone(&self.info),
        }
    }
}

impl<E> TracedSqlx<E> {
    /// Traces the queries run through `inner` (a pool, or a connection).
    ///
    /// ```
    /// let db = tracewire::db::TracedSqlx::new(());
    /// # let _ = db;
    /// ```
    pub fn new(inner: E) -> Self {
        TracedSqlx {
            inner,
            info: Arc::default(),
        }
    }

    /// `db.namespace`: the database connected to.
    ///
    /// ```
    /// let db = tracewire::db::TracedSqlx::new(()).with_database("shop");
    /// # let _ = db;
    /// ```
    pub fn with_database(mut self, name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.info).database = Some(name.into());
        self
    }

    /// `server.address` and `server.port`.
    ///
    /// ```
    /// let db = tracewire::db::TracedSqlx::new(()).with_server("db.internal", 5432);
    /// # let _ = db;
    /// ```
    pub fn with_server(mut self, address: impl Into<String>, port: u16) -> Self {
        let info = Arc::make_mut(&mut self.info);
        info.address = Some(address.into());
        info.port = Some(port);
        self
    }

    /// The wrapped executor (to `begin()` a transaction, or close a pool).
    pub fn get_ref(&self) -> &E {
        &self.inner
    }

    /// The wrapped executor, unwrapped.
    pub fn into_inner(self) -> E {
        self.inner
    }

    /// Another executor with the same attributes: `db.on(&mut *tx)` traces a transaction's
    /// queries (`&mut *conn` for a connection of the pool).
    ///
    /// ```
    /// let db = tracewire::db::TracedSqlx::new(()).with_database("shop");
    /// let mut conn = 7;
    /// let on_conn = db.on(&mut conn);
    /// # let _ = on_conn;
    /// ```
    pub fn on<C>(&self, executor: C) -> TracedSqlx<C> {
        TracedSqlx {
            inner: executor,
            info: Arc::clone(&self.info),
        }
    }

    fn span<DB: Database>(&self) -> tracing::Span {
        let info = &self.info;
        tracing::info_span!(
            target: "tracewire::db",
            "sqlx query",
            otel.name = Empty,
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = system(DB::NAME),
            db.operation.name = Empty,
            db.collection.name = Empty,
            db.namespace = info.database.as_deref(),
            db.query.text = Empty,
            server.address = info.address.as_deref(),
            server.port = info.port.map(i64::from),
            error.type = Empty,
            db.response.status_code = Empty,
        )
    }
}

/// `db.system.name` for sqlx's driver names (`Database::NAME`).
fn system(name: &'static str) -> &'static str {
    match name {
        "PostgreSQL" => "postgresql",
        "MySQL" => "mysql",
        "SQLite" => "sqlite",
        "Microsoft SQL Server" | "MSSQL" => "microsoft.sql_server",
        _ => "other_sql",
    }
}

/// The query, passed on to sqlx unchanged; when sqlx takes its text, the span gets its name,
/// operation, table and sanitised text.
struct Described<Q> {
    query: Q,
    span: tracing::Span,
}

impl<'q, DB: Database, Q: Execute<'q, DB>> Execute<'q, DB> for Described<Q> {
    fn sql(self) -> SqlStr {
        let sql = self.query.sql();
        let (op, table) = operation(sql.as_str());
        let name = match &table {
            Some(t) => format!("{op} {t}"),
            None => op.clone(),
        };
        crate::rename_span(&self.span, name);
        self.span.record("db.operation.name", op.as_str());
        if let Some(t) = &table {
            self.span.record("db.collection.name", t.as_str());
        }
        self.span
            .record("db.query.text", sanitize(sql.as_str()).as_str());
        sql
    }

    fn statement(&self) -> Option<&DB::Statement> {
        self.query.statement()
    }

    fn take_arguments(&mut self) -> Result<Option<DB::Arguments>, BoxDynError> {
        self.query.take_arguments()
    }

    fn persistent(&self) -> bool {
        self.query.persistent()
    }
}

fn failed(span: &tracing::Span, e: &Error) {
    let kind = match e {
        Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    if let Some(code) = &kind {
        span.record("db.response.status_code", code.as_str());
    }
    let kind = kind.unwrap_or_else(|| {
        match e {
            Error::Io(_) => "io",
            Error::Tls(_) => "tls",
            Error::Protocol(_) => "protocol",
            Error::PoolTimedOut => "pool_timed_out",
            Error::PoolClosed => "pool_closed",
            Error::WorkerCrashed => "worker_crashed",
            Error::Configuration(_) => "configuration",
            Error::Encode(_) => "encode",
            Error::Decode(_) | Error::ColumnDecode { .. } => "decode",
            _ => "_OTHER",
        }
        .to_string()
    });
    span.record("error.type", kind.as_str());
    span.record("otel.status_code", "error");
    span.in_scope(|| tracing::error!(target: "tracewire::db", error = %e, "query failed"));
}

/// sqlx's result stream, polled inside the query's span; the span ends when the stream is
/// dropped (read to the end, or given up on).
struct InSpan<'e, T> {
    inner: BoxStream<'e, Result<T, Error>>,
    span: tracing::Span,
}

impl<T> Stream for InSpan<'_, T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        let next = this.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Err(e))) = &next {
            failed(&this.span, e);
        }
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

type Step<DB> = sqlx::Either<<DB as Database>::QueryResult, <DB as Database>::Row>;

/// What both executors (`&TracedSqlx<Pool>`, `TracedSqlx<&mut Connection>`) do with a query.
fn fetch_many<'c: 'e, 'e, 'q: 'e, DB, X, Q>(
    traced: &TracedSqlx<impl Sized>,
    executor: X,
    query: Q,
) -> BoxStream<'e, Result<Step<DB>, Error>>
where
    DB: Database,
    X: Executor<'c, Database = DB>,
    Q: 'q + Execute<'q, DB>,
{
    let span = traced.span::<DB>();
    let inner = {
        let _entered = span.enter();
        executor.fetch_many(Described {
            query,
            span: span.clone(),
        })
    };
    Box::pin(InSpan { inner, span })
}

fn fetch_optional<'c: 'e, 'e, 'q: 'e, DB, X, Q>(
    traced: &TracedSqlx<impl Sized>,
    executor: X,
    query: Q,
) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
where
    DB: Database,
    X: Executor<'c, Database = DB>,
    Q: 'q + Execute<'q, DB>,
{
    let span = traced.span::<DB>();
    let inner = {
        let _entered = span.enter();
        executor.fetch_optional(Described {
            query,
            span: span.clone(),
        })
    };
    Box::pin(async move {
        let r = inner.instrument(span.clone()).await;
        if let Err(e) = &r {
            failed(&span, e);
        }
        r
    })
}

impl<'c, E> Executor<'c> for &'c TracedSqlx<E>
where
    E: Sync,
    &'c E: Executor<'c>,
{
    type Database = <&'c E as Executor<'c>>::Database;

    fn fetch_many<'e, 'q: 'e, Q>(
        self,
        query: Q,
    ) -> BoxStream<'e, Result<Step<Self::Database>, Error>>
    where
        'c: 'e,
        Q: 'q + Execute<'q, Self::Database>,
    {
        fetch_many(self, &self.inner, query)
    }

    fn fetch_optional<'e, 'q: 'e, Q>(
        self,
        query: Q,
    ) -> BoxFuture<'e, Result<Option<<Self::Database as Database>::Row>, Error>>
    where
        'c: 'e,
        Q: 'q + Execute<'q, Self::Database>,
    {
        fetch_optional(self, &self.inner, query)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<Self::Database as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Self::Database as Database>::Statement, Error>>
    where
        'c: 'e,
    {
        self.inner.prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Self::Database>, Error>>
    where
        'c: 'e,
    {
        self.inner.describe(sql)
    }
}

impl<'c, C> Executor<'c> for TracedSqlx<&'c mut C>
where
    C: Send,
    &'c mut C: Executor<'c>,
{
    type Database = <&'c mut C as Executor<'c>>::Database;

    fn fetch_many<'e, 'q: 'e, Q>(
        self,
        query: Q,
    ) -> BoxStream<'e, Result<Step<Self::Database>, Error>>
    where
        'c: 'e,
        Q: 'q + Execute<'q, Self::Database>,
    {
        let TracedSqlx { inner, info } = self;
        fetch_many(&TracedSqlx { inner: (), info }, inner, query)
    }

    fn fetch_optional<'e, 'q: 'e, Q>(
        self,
        query: Q,
    ) -> BoxFuture<'e, Result<Option<<Self::Database as Database>::Row>, Error>>
    where
        'c: 'e,
        Q: 'q + Execute<'q, Self::Database>,
    {
        let TracedSqlx { inner, info } = self;
        fetch_optional(&TracedSqlx { inner: (), info }, inner, query)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<Self::Database as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Self::Database as Database>::Statement, Error>>
    where
        'c: 'e,
    {
        self.inner.prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Self::Database>, Error>>
    where
        'c: 'e,
    {
        self.inner.describe(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_names_map_to_the_registry() {
        assert_eq!(system("PostgreSQL"), "postgresql");
        assert_eq!(system("SQLite"), "sqlite");
        assert_eq!(system("MySQL"), "mysql");
        assert_eq!(system("Something"), "other_sql");
    }
}
