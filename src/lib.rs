//! # tracewire
//!
//! Production-grade distributed tracing for a Rust service in one call.
//!
//! ```no_run
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _guard = tracewire::init()?; // settings.toml [observability] + OTEL_* + TRACEWIRE_*
//!     checkout(7);
//!     Ok(()) // dropping the guard flushes, bounded by shutdown_timeout_ms
//! }
//!
//! #[tracing::instrument]
//! fn checkout(items: u32) {
//!     tracing::info!(items, "checking out");
//! }
//! ```
//!
//! `init()` installs one `tracing` subscriber made of:
//!
//! 1. an env filter (`log_level`, `RUST_LOG`);
//! 2. the OpenTelemetry layer (`tracing-opentelemetry` over `opentelemetry_sdk`): spans become
//!    OTLP spans, events inside them span events, ERROR events and `#[instrument(err)]`
//!    `exception` events with status Error; `otel.name`, `otel.kind`, `otel.status_code` fields
//!    are honoured;
//! 3. a JSON log layer: one object per line, with `trace_id`, `span_id` and `trace_flags` of the
//!    exported span whenever the event happens inside a span.
//!
//! Spans are exported over OTLP/gRPC or OTLP/HTTP from a small runtime that tracewire owns,
//! so `init()` works the same from a plain `main`, `#[tokio::main]` and
//! `#[tokio::main(flavor = "current_thread")]`, and the guard's shutdown is bounded even when
//! the collector is unreachable. With no endpoint configured anywhere, spans go to the file
//! [`DEFAULT_FILE_SINK`](settings::DEFAULT_FILE_SINK) as OTLP/JSON lines: a newcomer sees their spans without a collector.
//!
//! Nothing is lost silently: spans dropped because the queue was full, the file sink reached its
//! cap or an export failed are counted in [`Guard::stats`] and reported at shutdown.
//!
//! ## Instrumenting functions
//!
//! `#[tracing::instrument]` is the decorator: `name = ".."` names the span, `fields(otel.kind =
//! "client")` sets its kind, arguments become attributes (integers typed, secrets redacted by
//! name), `fields(component = "billing")` adds a static one, `skip(..)` / `skip_all` leaves
//! arguments out, `ret` logs the result and `err` the error (status Error). The README's
//! "decorator recipes" table maps each option of the Python seeds' decorators.
//!
//! ```
//! #[tracing::instrument(name = "charge card", skip(card), fields(otel.kind = "client", component = "billing"), err)]
//! fn charge(user_id: u64, card: &str) -> Result<u64, String> {
//!     tracing::info!("charging");
//!     Ok(user_id)
//! }
//! # let _ = charge(7, "4111");
//! ```
//!
//! ## Configuration
//!
//! Every setting is a key of `[observability]` in `settings.toml` (the file at the root of the
//! repository documents each one). Precedence, lowest to highest:
//!
//! 1. built-in defaults;
//! 2. `settings.toml` (or the file named by [`TRACEWIRE_SETTINGS`](settings::TRACEWIRE_SETTINGS)): `[observability]`, then
//!    `[default.observability]`, then `[<TRACEWIRE_ENV>.observability]`;
//! 3. the OpenTelemetry variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER`, ...) and
//!    `RUST_LOG`;
//! 4. `TRACEWIRE_<KEY>` for every key;
//! 5. code: the `with_*` methods of [`Builder`], and [`Builder::with_setting`] for any key.
//!
//! Bad values stop [`init`] with an error naming the key, the value and what is allowed.
//! [`Settings::explain`](settings::Settings::explain) (or `tracewire config`) prints each effective value and its source.
//!
//! ```
//! let settings = tracewire::builder()
//!     .without_settings_file()
//!     .with_env([("OTEL_TRACES_SAMPLER_ARG", "0.1")])
//!     .with_setting("keep_errors", true)
//!     .settings()?;
//! assert_eq!(settings.sampling_rate, 0.1);
//! assert_eq!(settings.source("keep_errors"), Some(&tracewire::settings::Source::Code));
//! # Ok::<(), tracewire::Error>(())
//! ```
//!
//! `log_level` filters your logs and your spans; the spans of tracewire's integrations (targets
//! `tracewire::http`, `tracewire::messaging`) stay on unless a directive names a `tracewire`
//! target, so `RUST_LOG=warn` never breaks a trace at the first hop. Records of the `log` crate
//! become tracing events (`log_bridge`).
//!
//! ## Composing with your own layers
//!
//! [`Builder::layer`] gives tracewire's layers as one, with their own filter, for a
//! `tracing_subscriber::registry()` of yours (the one constraint: a `Registry` underneath);
//! [`Builder::with_layer`] adds yours to the stack `init()` installs.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt as _;
//! let (tracewire_layer, guard) = tracewire::builder().without_settings_file()
//!     .with_env([("OTEL_TRACES_EXPORTER", "none")])
//!     .with_log_writer(std::io::sink())
//!     .layer()?;
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracewire_layer)
//!     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink)); // or tokio-console, Sentry
//! tracing::subscriber::with_default(subscriber, || tracing::info!("seen by both"));
//! guard.shutdown()?;
//! # Ok::<(), tracewire::Error>(())
//! ```
//!
//! ## Shutting down
//!
//! Keep the [`Guard`]: dropping it flushes within `shutdown_timeout_ms` and prints what was not
//! delivered. [`Guard::shutdown`] returns that report as an error; it means only that telemetry
//! was lost, so a service logs it rather than failing, and [`Guard::stats`] counts every span by
//! cause at any time.
//!
//! ## Cargo features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `grpc` | on | OTLP/gRPC (tonic) |
//! | `http-proto` | on | OTLP/HTTP with protobuf bodies (tracewire's own hyper client: builds beside any other OpenTelemetry crate) |
//! | `gzip` | on | `otlp_compression = "gzip"` |
//! | `tls` | on | `https://` endpoints, custom CA, mutual TLS (rustls, ring) |
//! | `metrics` | on | OTLP metrics: HTTP and messaging histograms from every request at any sampling rate, `span_metrics`, [`Guard::meter`] and the global meter provider |
//! | `http-server`, `axum` | | `http::ServerLayer` for axum and hyper servers |
//! | `actix-web` | | `http::ActixMiddleware` for actix-web 4 servers |
//! | `reqwest` | | `http::ClientMiddleware` for reqwest-middleware |
//! | `http-client` | | `http::ClientLayer` for hyper-util's client and any tower HTTP client |
//! | `tonic` | | `grpc::ServerLayer` / `ClientLayer` for tonic servers and channels |
//! | `nats` | | NATS helpers of [`messaging`] |
//! | `lapin` | | `messaging::RabbitMq`: publish and process spans for RabbitMQ over lapin |
//! | `redis` | | `db::TracedRedis`: CLIENT spans for every Redis command and pipeline |
//! | `postgres` | | `db::TracedPostgres`: CLIENT spans for every tokio-postgres query, transactions as parents |
//! | `sqlx` | | `db::TracedSqlx`: CLIENT spans for every query sqlx 0.9 runs (Rust 1.94, sqlx's own minimum) |
//! | `logs` | | OTLP log records from tracing events (`logs_enabled`) |
//! | `testing` | | `testing::Capture`: spans, log lines and metrics in memory, for tests |
//! | `cli` | | the `tracewire` command: `view`, `config`, `send` |
//!
//! ## Across services, and the rest
//!
//! - [`propagation`]: W3C Trace Context (Level 2) and Baggage into and out of header maps and
//!   message headers, and making a span the child of a remote caller; at every sampling rate the
//!   trace goes on.
//! - `http` (features `http-server`, `axum`, `reqwest`): a tower layer for servers and a
//!   reqwest middleware for clients, with the HTTP semantic conventions.
//! - [`messaging`]: PRODUCER/CONSUMER spans across a broker (NATS helpers with `nats`,
//!   RabbitMQ with `lapin`).
//! - `testing` (feature `testing`): capture spans and log lines in a test, also of a real
//!   multi-thread server.
//! - [`install_panic_hook`]: record panics on their span.
//! - The tail rule (`keep_errors`, `slow_threshold_ms`) keeps errors and slow traces whatever
//!   the head sampler said; OTLP log records with `logs_enabled` (feature `logs`).
//! - [`opentelemetry`]: the API crate tracewire's `Context` comes from, re-exported.

#![deny(unsafe_code)]
// docs.rs (nightly) marks each feature-gated item with its feature; stable builds skip this.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlx"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "redis", feature = "postgres", feature = "sqlx")))
)]
pub mod db;
mod error;
mod export;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod grpc;
#[cfg(any(feature = "http-server", feature = "http-client", feature = "tonic"))]
mod hooks;
#[cfg(any(
    feature = "http-server",
    feature = "http-client",
    feature = "reqwest",
    feature = "actix-web"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "http-server",
        feature = "http-client",
        feature = "reqwest",
        feature = "actix-web"
    )))
)]
pub mod http;
mod ids;
mod layers;
mod lock;
pub mod messaging;
#[cfg(feature = "metrics")]
mod metrics;
mod panic;
pub mod propagation;
mod redact;
mod sampling;
pub mod settings;
mod stack;
mod stats;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod text;

/// The OpenTelemetry API crate tracewire is built on (the version `propagation`'s
/// `Context` and `TraceContextExt` come from): use it through here rather than pinning the same
/// version by hand.
///
/// ```
/// use tracewire::opentelemetry::trace::TraceContextExt as _;
/// let cx = tracewire::propagation::current_context();
/// assert!(!cx.span().span_context().is_valid());
/// ```
#[doc(no_inline)]
pub use opentelemetry;
/// The `tracing-opentelemetry` crate tracewire's layer is built on, re-exported: its
/// `OpenTelemetrySpanExt` (`set_parent`, `context`, `add_link`, `set_attribute`) finds
/// tracewire's layer only through the very same copy of the crate. Import it from here
/// (`use tracewire::tracing_opentelemetry::OpenTelemetrySpanExt as _;`) so that a different
/// version in your `Cargo.toml` cannot make those calls silent no-ops.
///
/// ```
/// use tracewire::tracing_opentelemetry::OpenTelemetrySpanExt as _;
/// # let g = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
/// #     .with_log_writer(std::io::sink()).set_default()?;
/// let span = tracing::info_span!("work");
/// span.set_attribute("tier", "gold");
/// # Ok::<(), tracewire::Error>(())
/// ```
#[doc(no_inline)]
pub use tracing_opentelemetry;

pub use error::{Error, ErrorKind, Result};
pub use layers::BoxedLayer;
pub use panic::install_panic_hook;
pub use stack::{Builder, Guard, builder, init};
pub use stats::Stats;

/// Renames `span`: its exported name (also after it started, which tracing-opentelemetry's
/// `otel.name` field cannot do once the span's context exists, as it does as soon as the span is
/// entered or propagated), and its `otel.name` field where it declares one (JSON log lines,
/// span metrics). For hooks of the HTTP integrations, and any span of your own.
///
/// ```
/// let span = tracing::info_span!("work", otel.name = tracing::field::Empty);
/// tracewire::rename_span(&span, "work for acme");
/// ```
pub fn rename_span(span: &tracing::Span, name: impl Into<std::borrow::Cow<'static, str>>) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let name = name.into();
    span.record("otel.name", name.as_ref());
    span.context().span().update_name(name);
}

// The README's and the migration guides' code blocks, compiled (and the runnable ones run) as
// doctests: documentation that stops compiling fails CI.
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "reqwest",
    feature = "nats",
    feature = "lapin",
    feature = "tonic",
    feature = "testing"
))]
#[doc = include_str!("../README.md")]
#[doc = include_str!("../docs/migrating-from-init-tracing-opentelemetry.md")]
#[doc = include_str!("../docs/migrating-from-tracing-opentelemetry.md")]
struct DocumentationDoctests;
