//! tracewire inside a subscriber of your own, beside another layer (here tracing-subscriber's
//! human-readable fmt layer on stderr; tokio-console or Sentry's layer go the same way).
//!
//! `cargo run --example composed`: JSON lines with trace ids on stdout (tracewire), the same
//! events as plain text on stderr (the other layer), spans to the configured endpoint or the
//! file sink.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[tracing::instrument]
fn checkout(items: u32) {
    tracing::info!(items, "checking out");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (tracewire_layer, guard) = tracewire::builder().layer()?;
    tracing_subscriber::registry()
        .with(tracewire_layer)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init()?;

    checkout(3);

    if let Err(e) = guard.shutdown() {
        eprintln!("{e}");
    }
    Ok(())
}
