//! [`TracedPostgres`]: tokio-postgres with a CLIENT span per query.
//!
//! A wrapper of tokio-postgres' `GenericClient` calls: it covers connections and transactions
//! alike, so one wrapper traces both. (sqlx has its own integration, [`TracedSqlx`]: sqlx's
//! query events are log lines, not spans.)
//!
//! [`TracedSqlx`]: crate::db::TracedSqlx
//!
//! Each query's span is `{db.operation.name} {db.collection.name}` (`SELECT orders`), with
//! `db.query.text` where string and number literals are replaced by `?` (parameters `$1` stay:
//! they carry no value), `db.namespace` (the database), `server.address`/`server.port`; an
//! error's SQLSTATE goes to `db.response.status_code` and `error.type`, status Error. A
//! transaction is a parent span `transaction` around its queries, ended by commit or rollback.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, GenericClient, Row, Transaction};
use tracing::Instrument as _;
use tracing::field::Empty;

use super::sql::{operation, sanitize};

#[derive(Debug, Default, Clone)]
struct Info {
    database: Option<String>,
    address: Option<String>,
    port: Option<u16>,
}

/// A PostgreSQL connection (a `tokio_postgres::Client`, or a transaction of one) whose queries
/// are traced.
///
/// ```no_run
/// # async fn run() -> Result<(), tokio_postgres::Error> {
/// let (client, connection) =
///     tokio_postgres::connect("host=127.0.0.1 user=app dbname=shop", tokio_postgres::NoTls).await?;
/// tokio::spawn(connection);
/// let db = tracewire::db::TracedPostgres::new(client)
///     .with_database("shop")
///     .with_server("127.0.0.1", 5432);
/// let rows = db.query("SELECT id FROM orders WHERE customer = $1", &[&42_i64]).await?;
/// # let _ = rows; Ok(()) }
/// ```
pub struct TracedPostgres<C> {
    inner: C,
    info: Info,
    /// The transaction span the queries of a transaction belong to.
    parent: Option<tracing::Span>,
}

impl<C> std::fmt::Debug for TracedPostgres<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedPostgres")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

macro_rules! query_span {
    ($($parent:expr)?; $name:expr, $op:expr, $table:expr, $text:expr, $info:expr) => {
        tracing::info_span!(
            target: "tracewire::db",
            $(parent: $parent,)?
            "postgresql query",
            otel.name = $name,
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = "postgresql",
            db.operation.name = $op,
            db.collection.name = $table,
            db.namespace = $info.database.as_deref(),
            db.query.text = $text,
            server.address = $info.address.as_deref(),
            server.port = $info.port.map(i64::from),
            error.type = Empty,
            db.response.status_code = Empty,
        )
    };
}

impl<C> TracedPostgres<C> {
    /// Traces `inner`'s queries.
    pub fn new(inner: C) -> Self {
        TracedPostgres {
            inner,
            info: Info::default(),
            parent: None,
        }
    }

    /// `db.namespace`: the database connected to.
    pub fn with_database(mut self, name: impl Into<String>) -> Self {
        self.info.database = Some(name.into());
        self
    }

    /// `server.address` and `server.port`.
    pub fn with_server(mut self, address: impl Into<String>, port: u16) -> Self {
        self.info.address = Some(address.into());
        self.info.port = Some(port);
        self
    }

    /// The wrapped client.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// The wrapped client, unwrapped.
    pub fn into_inner(self) -> C {
        self.inner
    }

    fn span(&self, sql: &str) -> tracing::Span {
        let (op, table) = operation(sql);
        let name = match &table {
            Some(t) => format!("{op} {t}"),
            None => op.clone(),
        };
        let text = sanitize(sql);
        let info = &self.info;
        match &self.parent {
            Some(p) => query_span!(p; name, op, table.as_deref(), text, info),
            None => query_span!(; name, op, table.as_deref(), text, info),
        }
    }
}

fn outcome<T>(span: &tracing::Span, r: &Result<T, Error>) {
    if let Err(e) = r {
        let code = e
            .code()
            .map_or_else(|| "_OTHER".to_string(), |c| c.code().to_string());
        span.record("error.type", code.as_str());
        span.record("db.response.status_code", code.as_str());
        span.record("otel.status_code", "error");
        span.in_scope(|| tracing::error!(target: "tracewire::db", error = %e, "query failed"));
    }
}

impl<C: GenericClient + Sync> TracedPostgres<C> {
    /// [`Client::query`], traced.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        let span = self.span(sql);
        let r = self.inner.query(sql, params).instrument(span.clone()).await;
        outcome(&span, &r);
        r
    }

    /// [`Client::query_one`], traced.
    pub async fn query_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, Error> {
        let span = self.span(sql);
        let r = self
            .inner
            .query_one(sql, params)
            .instrument(span.clone())
            .await;
        outcome(&span, &r);
        r
    }

    /// [`Client::query_opt`], traced.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        let span = self.span(sql);
        let r = self
            .inner
            .query_opt(sql, params)
            .instrument(span.clone())
            .await;
        outcome(&span, &r);
        r
    }

    /// [`Client::execute`], traced.
    pub async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let span = self.span(sql);
        let r = self
            .inner
            .execute(sql, params)
            .instrument(span.clone())
            .await;
        outcome(&span, &r);
        r
    }

    /// [`Client::batch_execute`], traced as one span.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        let span = self.span(sql);
        let r = self.inner.batch_execute(sql).instrument(span.clone()).await;
        outcome(&span, &r);
        r
    }
}

impl TracedPostgres<Client> {
    /// Starts a transaction: a `transaction` span, parent of its queries, ended by
    /// [`TracedTransaction::commit`] or [`TracedTransaction::rollback`] (or by dropping it,
    /// which rolls back).
    pub async fn transaction(&mut self) -> Result<TracedTransaction<'_>, Error> {
        let info = self.info.clone();
        let span = tracing::info_span!(
            target: "tracewire::db",
            "postgresql transaction",
            otel.name = "transaction",
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = "postgresql",
            db.namespace = info.database.as_deref(),
            server.address = info.address.as_deref(),
            server.port = info.port.map(i64::from),
            error.type = Empty,
            db.response.status_code = Empty,
        );
        let r = self.inner.transaction().instrument(span.clone()).await;
        outcome(&span, &r);
        Ok(TracedTransaction {
            db: TracedPostgres {
                inner: r?,
                info,
                parent: Some(span.clone()),
            },
            span,
        })
    }
}

/// A transaction whose queries are children of its `transaction` span (deref to
/// [`TracedPostgres`] for the queries).
#[derive(Debug)]
pub struct TracedTransaction<'a> {
    db: TracedPostgres<Transaction<'a>>,
    span: tracing::Span,
}

impl<'a> std::ops::Deref for TracedTransaction<'a> {
    type Target = TracedPostgres<Transaction<'a>>;
    fn deref(&self) -> &Self::Target {
        &self.db
    }
}

impl TracedTransaction<'_> {
    /// Commits; the transaction span ends here.
    pub async fn commit(self) -> Result<(), Error> {
        let r = self.db.inner.commit().instrument(self.span.clone()).await;
        outcome(&self.span, &r);
        r
    }

    /// Rolls back; the transaction span ends here, marked `db.transaction.outcome = rollback`
    /// in its events.
    pub async fn rollback(self) -> Result<(), Error> {
        self.span
            .in_scope(|| tracing::info!(target: "tracewire::db", "rollback"));
        let r = self.db.inner.rollback().instrument(self.span.clone()).await;
        outcome(&self.span, &r);
        r
    }
}
