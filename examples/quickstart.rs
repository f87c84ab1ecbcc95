//! The README's quickstart: run it with `cargo run --example quickstart`.
//!
//! With the repository's `settings.toml` and no collector, spans go to `tracewire-spans.jsonl`;
//! set `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317` to send them to a collector instead.

use std::time::Duration;

use tracing::{Instrument as _, info, instrument, warn};

#[derive(Debug)]
struct OutOfStock {
    sku: &'static str,
}

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is out of stock", self.sku)
    }
}

impl std::error::Error for OutOfStock {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;

    let trace_id = handle_order(42, 3).await;

    // Shutting down explicitly reports anything that could not be delivered; telemetry that
    // did not arrive is worth a line on stderr, not a failed run.
    if let Err(e) = guard.shutdown() {
        eprintln!("{e}");
    }
    eprintln!(
        "quickstart: done, trace id {}",
        trace_id.unwrap_or_default()
    );
    Ok(())
}

/// Level 1: the root span of the trace.
#[instrument(fields(otel.kind = "server"))]
async fn handle_order(order_id: u64, items: i64) -> Option<String> {
    info!(order_id, items, "order received");
    let prices = price_items(items).await;
    match reserve_stock("sku-123") {
        Ok(()) => info!("stock reserved"),
        // The error is recorded on `reserve_stock`'s span (status Error) and handled here.
        Err(e) => warn!(error = %e, "continuing without reservation"),
    }
    info!(total_cents = prices.iter().sum::<i64>(), "order priced");
    tracewire::propagation::current_trace_id()
}

/// Level 2: spawned tasks keep their parent because they carry the current span.
#[instrument]
async fn price_items(items: i64) -> Vec<i64> {
    let mut tasks = Vec::new();
    for item in 0..items {
        tasks.push(tokio::spawn(price_one(item).in_current_span()));
    }
    let mut prices = Vec::new();
    for t in tasks {
        prices.push(t.await.unwrap_or(0));
    }
    prices
}

/// Level 3.
#[instrument]
async fn price_one(item: i64) -> i64 {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let cents = 250 + item * 100;
    info!(cents, "priced");
    cents
}

#[instrument(err)]
fn reserve_stock(sku: &'static str) -> Result<(), OutOfStock> {
    Err(OutOfStock { sku })
}
