//! The service both halves of the end-to-end benchmark serve: `examples/e2e.rs` (untraced,
//! stock, tracewire) and `benches/e2e/peer` include this one file, so every setup runs exactly
//! the same code. GET /work → handler → three nested `#[instrument]` functions, one `info!` each.

#[tracing::instrument]
fn price(item: u64) -> u64 {
    tracing::info!(item, "pricing");
    item * 3
}

#[tracing::instrument]
fn stock(item: u64) -> u64 {
    tracing::info!(item, "checking stock");
    price(item) + 1
}

#[tracing::instrument]
fn quote(item: u64) -> u64 {
    tracing::info!(item, "quoting");
    stock(item) + 2
}

#[tracing::instrument]
async fn work() -> String {
    tracing::info!("handling");
    quote(7).to_string()
}

/// The router, before any setup's layer.
pub(crate) fn app() -> axum::Router {
    axum::Router::new().route("/work", axum::routing::get(work))
}

/// Serves `app` on 127.0.0.1:`port`, says "ready" on stderr, and returns after SIGTERM once the
/// open requests are answered (the setup then flushes its spans).
pub(crate) async fn serve(app: axum::Router, port: u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    eprintln!("ready");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            term.recv().await;
        })
        .await
        .unwrap();
}
