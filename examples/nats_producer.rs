//! Publishes messages to NATS with the trace context in their headers.
//!
//! `cargo run --example nats_producer --features nats [COUNT]`, with a NATS server at
//! `NATS_URL` (default `nats://127.0.0.1:4222`; `nats-server -a 127.0.0.1` starts one).
//! Run `nats_worker` first to see one trace span both processes.

use tracewire::messaging::Messaging;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let client = async_nats::connect(&url).await?;
    let nats = Messaging::new("nats");
    for i in 0..count {
        produce(&nats, &client, i).await?;
    }
    client.flush().await?;
    guard.shutdown()?;
    Ok(())
}

#[tracing::instrument(skip(nats, client))]
async fn produce(
    nats: &Messaging,
    client: &async_nats::Client,
    order: usize,
) -> Result<(), async_nats::PublishError> {
    nats.publish(
        client,
        "orders.created",
        format!("{{\"order\":{order}}}").into(),
    )
    .await?;
    println!(
        "published order {order} in trace {}",
        tracewire::propagation::current_trace_id().unwrap_or_default()
    );
    Ok(())
}
