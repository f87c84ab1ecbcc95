//! [`TracedRedis`]: a `redis::aio::ConnectionLike` that makes a CLIENT span per command.
//!
//! The span is `GET`, `SET`, ... (the command, as the conventions name a Redis operation), a
//! pipeline's `PIPELINE` (a transaction's `MULTI`; `PIPELINE GET` when every command is the
//! same; a pipeline of one command is that command) with `db.operation.batch.size`, as the
//! Redis conventions name them. `db.query.text` is the command with `?` for every argument: keys
//! and values are data, and may be personal or secret (`with_query_values(true)` shows them,
//! redaction rules still apply). An error answer (`WRONGTYPE`, `NOSCRIPT`, ...) sets status Error,
//! `error.type` and `db.response.status_code` to the server's code; a transport error sets
//! `error.type` to its kind.

use ::redis::aio::ConnectionLike;
use ::redis::{Arg, Cmd, Pipeline, RedisFuture, Value};
use tracing::Instrument as _;
use tracing::field::Empty;

/// A Redis connection whose commands are traced.
///
/// ```no_run
/// # async fn run() -> redis::RedisResult<()> {
/// use redis::AsyncCommands as _;
/// let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
/// let conn = client.get_multiplexed_async_connection().await?;
/// let mut conn = tracewire::db::TracedRedis::new(conn).with_server("127.0.0.1", 6379);
/// let _: () = conn.set("greeting", "hello").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TracedRedis<C> {
    inner: C,
    address: Option<String>,
    port: Option<u16>,
    query_values: bool,
}

impl<C> std::fmt::Debug for TracedRedis<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedRedis")
            .field("address", &self.address)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl<C: ConnectionLike> TracedRedis<C> {
    /// Traces `inner`'s commands.
    pub fn new(inner: C) -> Self {
        TracedRedis {
            inner,
            address: None,
            port: None,
            query_values: false,
        }
    }

    /// `server.address` and `server.port` of the spans (a connection does not say where it
    /// goes).
    pub fn with_server(mut self, address: impl Into<String>, port: u16) -> Self {
        self.address = Some(address.into());
        self.port = Some(port);
        self
    }

    /// Shows the arguments in `db.query.text` instead of `?` (off by default: they are data).
    pub fn with_query_values(mut self, show: bool) -> Self {
        self.query_values = show;
        self
    }

    /// The wrapped connection.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// The wrapped connection, unwrapped.
    pub fn into_inner(self) -> C {
        self.inner
    }

    fn span(&self, operation: &str, query: &str, batch: Option<usize>) -> tracing::Span {
        tracing::info_span!(
            target: "tracewire::db",
            "redis command",
            otel.name = operation,
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = "redis",
            db.operation.name = operation,
            db.namespace = self.inner.get_db().to_string(),
            db.query.text = query,
            db.operation.batch.size = batch.map(|n| n as i64),
            server.address = self.address.as_deref(),
            server.port = self.port.map(i64::from),
            error.type = Empty,
            db.response.status_code = Empty,
        )
    }

    /// `SET ? ?`, or with values `SET greeting hello`.
    fn query_text(&self, cmd: &Cmd) -> (String, String) {
        let mut args = cmd.args_iter();
        let name = match args.next() {
            Some(Arg::Simple(b)) => String::from_utf8_lossy(b).to_ascii_uppercase(),
            _ => "UNKNOWN".to_string(),
        };
        let mut text = name.clone();
        for a in args {
            text.push(' ');
            match a {
                Arg::Simple(b) if self.query_values => text.push_str(&String::from_utf8_lossy(b)),
                _ => text.push('?'),
            }
        }
        (name, text)
    }
}

/// Records how a call ended on its span.
fn outcome<T>(span: &tracing::Span, result: &::redis::RedisResult<T>, server_error: Option<&str>) {
    let code = match (result, server_error) {
        (Err(e), _) => Some(
            e.code()
                .map_or_else(|| format!("{:?}", e.kind()), str::to_string),
        ),
        (Ok(_), Some(code)) => Some(code.to_string()),
        _ => None,
    };
    if let Some(code) = code {
        span.record("error.type", code.as_str());
        span.record("db.response.status_code", code.as_str());
        span.record("otel.status_code", "error");
    }
}

fn server_error(v: &Value) -> Option<&str> {
    match v {
        Value::ServerError(e) => Some(e.code()),
        _ => None,
    }
}

impl<C: ConnectionLike + Send> ConnectionLike for TracedRedis<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let (name, text) = self.query_text(cmd);
        let span = self.span(&name, &text, None);
        let fut = self.inner.req_packed_command(cmd);
        Box::pin(async move {
            let r = fut.instrument(span.clone()).await;
            let err = r.as_ref().ok().and_then(server_error);
            outcome(&span, &r, err);
            r
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let mut names = Vec::new();
        let mut texts = Vec::new();
        for cmd in pipeline.cmd_iter() {
            let (name, text) = self.query_text(cmd);
            names.push(name);
            texts.push(text);
        }
        // The Redis conventions: `PIPELINE` or `MULTI` (a transaction), followed by the
        // command when every one is the same; one command alone is a single operation.
        let kind = if pipeline.is_transaction() {
            "MULTI"
        } else {
            "PIPELINE"
        };
        let (operation, batch) = match names.first() {
            Some(only) if names.len() == 1 && !pipeline.is_transaction() => (only.clone(), None),
            Some(first) if names.iter().all(|n| n == first) => {
                (format!("{kind} {first}"), Some(names.len()))
            }
            _ => (kind.to_string(), Some(names.len())),
        };
        let span = self.span(&operation, &texts.join("; "), batch);
        let fut = self.inner.req_packed_commands(pipeline, offset, count);
        Box::pin(async move {
            let r = fut.instrument(span.clone()).await;
            let err = r
                .as_ref()
                .ok()
                .and_then(|vs| vs.iter().find_map(server_error));
            outcome(&span, &r, err);
            r
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}
