//! Consumes NATS messages, each processed in a CONSUMER span that continues the producer's trace.
//!
//! `cargo run --example nats_worker --features nats [COUNT]`: stops after COUNT messages
//! (default 3) or 60 s. `NATS_URL` as for `nats_producer`.

use std::time::Duration;

use futures_util::StreamExt as _;
use tracewire::messaging::Messaging;
use tracing::Instrument as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let client = async_nats::connect(&url).await?;
    let mut messages = client.subscribe("orders.created").await?.take(count);
    let nats = Messaging::new("nats");
    let work = async {
        while let Some(msg) = messages.next().await {
            let span = nats.process_span(&msg);
            async {
                tracing::info!(payload = %String::from_utf8_lossy(&msg.payload), "processing");
                println!(
                    "processed a message in trace {}",
                    tracewire::propagation::current_trace_id().unwrap_or_default()
                );
            }
            .instrument(span)
            .await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .is_err()
    {
        eprintln!("no more messages after 60 s");
    }
    guard.shutdown()?;
    Ok(())
}
