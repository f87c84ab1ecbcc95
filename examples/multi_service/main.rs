//! Two HTTP services and a NATS worker in one process, one trace across all of them.
//!
//! `cargo run --example multi_service --features axum,reqwest,nats`
//! Needs a NATS server: `NATS_URL=nats://127.0.0.1:4222`, or `nats-server` on PATH
//! (`bash scripts/install-nats.sh`), which the demo then starts on a free port itself.

mod services;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;
    let (nats_url, _server) = match std::env::var("NATS_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let child = std::process::Command::new("nats-server")
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .spawn()
                .map_err(|e| format!("start nats-server (bash scripts/install-nats.sh): {e}"))?;
            (format!("nats://127.0.0.1:{port}"), Some(KillOnDrop(child)))
        }
    };
    let nats = connect(&nats_url).await?;
    let processed = services::worker(nats.clone()).await;
    let b = services::serve(services::service_b()).await;
    let a = services::serve(services::service_a(b, nats)).await;

    let res = reqwest::get(format!("{a}/checkout/sku-42")).await?;
    let traceparent = res
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    println!("checkout answered {}", res.status());
    let deadline = Instant::now() + Duration::from_secs(5);
    while processed.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("trace id {}", traceparent.get(3..35).unwrap_or("?"));
    guard.shutdown()?;
    Ok(())
}

async fn connect(url: &str) -> Result<async_nats::Client, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match async_nats::connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(e.into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
