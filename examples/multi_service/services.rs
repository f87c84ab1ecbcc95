//! The services of the multi-service demo, also driven by `tests/multi_service.rs`:
//! service A (HTTP) calls service B (HTTP) and publishes to NATS; a worker consumes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use futures_util::StreamExt as _;
use tracewire::http::{ClientMiddleware, ServerLayer};
use tracewire::messaging::Messaging;
use tracing::Instrument as _;

pub(crate) const SUBJECT: &str = "orders.created";

/// Service B: inventory. `/inventory/{sku}` answers 200, 404 for `missing`, 500 for `broken`.
pub(crate) fn service_b() -> Router {
    Router::new()
        .route("/inventory/{sku}", get(inventory))
        .route("/health", get(|| async { "ok" }))
        .layer(ServerLayer::new().with_exclude_paths(["/health"]))
}

#[tracing::instrument]
async fn inventory(Path(sku): Path<String>) -> Result<String, StatusCode> {
    match sku.as_str() {
        "missing" => Err(StatusCode::NOT_FOUND),
        "broken" => {
            tracing::error!(%sku, "inventory database unavailable");
            Err(StatusCode::INTERNAL_SERVER_ERROR)
        }
        _ => Ok(format!("{{\"sku\":\"{sku}\",\"in_stock\":7}}")),
    }
}

#[derive(Clone)]
struct A {
    b_url: String,
    http: reqwest_middleware::ClientWithMiddleware,
    nats: async_nats::Client,
}

/// Service A: checkout. `/checkout/{sku}` asks B for stock, then publishes the order.
pub(crate) fn service_a(b_url: String, nats: async_nats::Client) -> Router {
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientMiddleware::default())
        .build();
    Router::new()
        .route("/checkout/{sku}", get(checkout))
        .route("/health", get(|| async { "ok" }))
        .with_state(A { b_url, http, nats })
        .layer(
            ServerLayer::new()
                .with_exclude_paths(["/health"])
                .with_traceparent_response(true),
        )
}

async fn checkout(State(a): State<A>, Path(sku): Path<String>) -> Result<String, StatusCode> {
    let stock = a
        .http
        .get(format!("{}/inventory/{sku}", a.b_url))
        .send()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    if !stock.status().is_success() {
        return Err(StatusCode::BAD_GATEWAY);
    }
    let nats = Messaging::new("nats");
    nats.publish(&a.nats, SUBJECT, format!("{{\"sku\":\"{sku}\"}}").into())
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    a.nats
        .flush()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok("ordered".into())
}

/// The worker: one CONSUMER span per message. Returns a counter of processed messages.
pub(crate) async fn worker(nats: async_nats::Client) -> Arc<AtomicUsize> {
    let processed = Arc::new(AtomicUsize::new(0));
    let mut sub = nats.subscribe(SUBJECT).await.expect("subscribe");
    nats.flush().await.expect("flush the subscription");
    let count = processed.clone();
    tokio::spawn(async move {
        let telemetry = Messaging::new("nats");
        while let Some(msg) = sub.next().await {
            let span = telemetry.process_span(&msg);
            async {
                tracing::info!(bytes = msg.payload.len(), "order processed");
            }
            .instrument(span)
            .await;
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    processed
}

/// Serves `router` on a free loopback port; returns its base URL.
pub(crate) async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}
