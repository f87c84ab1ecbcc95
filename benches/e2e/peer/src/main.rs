//! `peer serve [SETUP] PORT`: the service of tracewire's `examples/e2e.rs` (GET /work → handler → three
//! nested `#[instrument]` functions, one `info!` each, on a 2-worker runtime), instrumented with
//! init-tracing-opentelemetry's production preset (JSON lines on stdout, OTLP to
//! `OTEL_EXPORTER_OTLP_ENDPOINT`) and axum-tracing-opentelemetry's `OtelAxumLayer`; SIGTERM
//! flushes and exits. Driven by `e2e drive` like the other setups (`scripts/e2e.sh`).

#[path = "../../service.rs"]
mod service;

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
        let app =
            service::app().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default());
        service::serve(app, port).await;
        drop(guard);
    });
}
