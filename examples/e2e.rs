//! The end-to-end benchmark's two halves (`scripts/e2e.sh` runs them; see README "Performance"):
//!
//! - `e2e serve SETUP PORT`: an axum service (GET /work → handler → three nested
//!   `#[tracing::instrument]` functions, one `info!` each) in one of the setups below, exporting
//!   to the collector named by `OTEL_EXPORTER_OTLP_ENDPOINT` (gRPC); SIGTERM flushes and exits.
//! - `e2e drive PORT RATE SECONDS CONNECTIONS`: requests at a fixed total RATE over keep-alive
//!   connections for SECONDS; prints `requests ok p50_us p99_us`.
//!
//! Setups: `untraced` (no subscriber), `stock` (tracing-opentelemetry 0.34 over the SDK's
//! BatchSpanProcessor and opentelemetry-otlp's gRPC exporter, with tracing-subscriber's JSON fmt
//! layer: 4 spans a request), `tracewire` (`tracewire::init()` and `ServerLayer`: 5 spans a
//! request; sampling and the tail rule come from the environment).

use std::time::{Duration, Instant};

#[path = "../benches/e2e/service.rs"]
mod service;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") => serve(&args[2], args[3].parse().expect("PORT")),
        Some("drive") => drive(
            args[2].parse().expect("PORT"),
            args[3].parse().expect("RATE"),
            args[4].parse().expect("SECONDS"),
            args[5].parse().expect("CONNECTIONS"),
        ),
        _ => eprintln!("usage: e2e serve SETUP PORT | e2e drive PORT RATE SECONDS CONNECTIONS"),
    }
}

enum Held {
    None,
    Stock(opentelemetry_sdk::trace::SdkTracerProvider),
    Tracewire(tracewire::Guard),
}

fn serve(setup: &str, port: u16) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let held = match setup {
            "untraced" => Held::None,
            "stock" => Held::Stock(stock_stack()),
            "tracewire" => Held::Tracewire(tracewire::init().expect("tracewire")),
            other => panic!("unknown setup {other}"),
        };
        let mut app = service::app();
        if matches!(held, Held::Tracewire(_)) {
            app = app.layer(tracewire::http::ServerLayer::new());
        }
        service::serve(app, port).await;
        match held {
            Held::None => {}
            Held::Stock(provider) => {
                let _ = provider.shutdown();
            }
            Held::Tracewire(guard) => {
                let _ = guard.shutdown();
            }
        }
    });
}

/// What a team would write without tracewire: tracing-opentelemetry over the SDK's batch
/// processor and the OTLP gRPC exporter, and tracing-subscriber's JSON lines on stdout.
fn stock_stack() -> opentelemetry_sdk::trace::SdkTracerProvider {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").expect("an endpoint");
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .expect("exporter");
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("e2e-stock")
                .build(),
        )
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e")))
        .with(tracing_subscriber::fmt::layer().json());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    provider
}

/// Requests at a fixed rate over `conns` keep-alive connections, each paced on its own schedule.
fn drive(port: u16, rate: f64, secs: f64, conns: usize) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (sent, ok, mut lat) = rt.block_on(async move {
        let start = Instant::now();
        let per_conn = rate / conns as f64;
        let tasks: Vec<_> = (0..conns)
            .map(|c| {
                tokio::spawn(async move {
                    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .expect("connect");
                    s.set_nodelay(true).unwrap();
                    let mut buf = vec![0u8; 4096];
                    let (mut sent, mut ok, mut lat) = (0u64, 0u64, Vec::new());
                    let offset = Duration::from_secs_f64(c as f64 / rate);
                    loop {
                        let due = offset + Duration::from_secs_f64(sent as f64 / per_conn);
                        if due.as_secs_f64() >= secs {
                            break;
                        }
                        if let Some(wait) = due.checked_sub(start.elapsed()) {
                            tokio::time::sleep(wait).await;
                        }
                        let t = Instant::now();
                        s.write_all(b"GET /work HTTP/1.1\r\nHost: bench\r\n\r\n")
                            .await
                            .unwrap();
                        sent += 1;
                        // One response: headers, then Content-Length bytes of body.
                        let mut have = 0;
                        let done = loop {
                            let n = s.read(&mut buf[have..]).await.unwrap();
                            if n == 0 {
                                break false;
                            }
                            have += n;
                            let text = &buf[..have];
                            if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                                let head =
                                    String::from_utf8_lossy(&text[..end]).to_ascii_lowercase();
                                let len: usize = head
                                    .lines()
                                    .find_map(|l| l.strip_prefix("content-length:"))
                                    .and_then(|v| v.trim().parse().ok())
                                    .unwrap_or(0);
                                if have >= end + 4 + len {
                                    break head.starts_with("http/1.1 200");
                                }
                            }
                        };
                        lat.push(t.elapsed().as_micros() as u64);
                        ok += u64::from(done);
                    }
                    (sent, ok, lat)
                })
            })
            .collect();
        let (mut sent, mut ok, mut lat) = (0, 0, Vec::new());
        for t in tasks {
            let (s, o, l) = t.await.unwrap();
            sent += s;
            ok += o;
            lat.extend(l);
        }
        (sent, ok, lat)
    });
    lat.sort_unstable();
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!("{sent} {ok} {} {}", q(0.5), q(0.99));
}
