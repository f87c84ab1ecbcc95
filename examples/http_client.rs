//! A reqwest client whose requests carry the trace (`tracewire::http::ClientMiddleware`).
//!
//! `cargo run --example http_client --features reqwest [URL]` (default
//! `http://127.0.0.1:3000/hello/world`, served by the `http_server` example).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:3000/hello/world".into());
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(tracewire::http::ClientMiddleware::default())
        .build();
    let outcome = call(&client, &url).await;
    guard.shutdown()?;
    let (status, trace_id) = outcome?;
    println!("{status} (trace id {trace_id})");
    Ok(())
}

#[tracing::instrument(skip(client))]
async fn call(
    client: &reqwest_middleware::ClientWithMiddleware,
    url: &str,
) -> Result<(reqwest::StatusCode, String), reqwest_middleware::Error> {
    let res = client.get(url).send().await?;
    Ok((
        res.status(),
        tracewire::propagation::current_trace_id().unwrap_or_default(),
    ))
}
