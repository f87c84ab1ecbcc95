//! An axum service traced by `tracewire::http::ServerLayer`.
//!
//! `cargo run --example http_server --features axum` then, in another terminal,
//! `cargo run --example http_client --features reqwest` (or `curl localhost:3000/hello/you`).
//! `PORT` changes the port; Ctrl-C stops it.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use tracewire::http::ServerLayer;

#[tracing::instrument]
async fn hello(Path(name): Path<String>) -> String {
    tracing::info!(%name, "greeting");
    format!("hello, {name}\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;
    let app = Router::new()
        .route("/hello/{name}", get(hello))
        .route("/health", get(|| async { "ok\n" }))
        // exclude_paths from settings.toml ([observability]) keep /health out of the traces.
        .layer(ServerLayer::new().with_traceparent_response(true));
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    guard.shutdown()?;
    Ok(())
}
