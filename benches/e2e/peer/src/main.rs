//! `peer serve [SETUP] PORT`: the service of tracewire's `examples/e2e.rs` (GET /work → handler → three
//! nested `#[instrument]` functions, one `info!` each, on a 2-worker runtime), instrumented with
//! init-tracing-opentelemetry's production preset (JSON lines on stdout, OTLP to
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) and axum-tracing-opentelemetry's `OtelAxumLayer`; SIGTERM
//! flushes and exits. Driven by `e2e drive` like the other setups (`scripts/e2e.sh`).

use axum::Router;
use axum::routing::get;

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(
        args.get(1).map(String::as_str),
        Some("serve"),
        "usage: peer serve [SETUP] PORT"
    );
    let port: u16 = args.last().and_then(|p| p.parse().ok()).expect("PORT");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let guard = init_tracing_opentelemetry::TracingConfig::production()
            .init_subscriber()
            .expect("init-tracing-opentelemetry");
        let app = Router::new()
            .route("/work", get(work))
            .layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default());
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
        drop(guard);
    });
}
