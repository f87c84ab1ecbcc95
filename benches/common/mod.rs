//! The setups and workloads compared by `benches/stack.rs` and `examples/instructions.rs`, so
//! the time and the instruction counts measure the same thing.
#![allow(dead_code, unreachable_pub)]

mod own_layer;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::layer::SubscriberExt as _;

/// An exporter that accepts everything: the stock stack's export cost is not what is compared.
#[derive(Debug)]
pub struct Noop;

impl SpanExporter for Noop {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}

pub const SETUPS: &[&str] = &[
    "no_subscriber",
    "registry_empty_layer",
    "stock_otel",
    "stock_otel_json",
    "tracewire_sampled",
    "tracewire_unsampled",
    "tracewire_tail_10pct",
    "tracewire_tracing_disabled",
    "tracewire_disabled",
    "tracewire_metrics_off",
    "tracewire_span_metrics",
    "tracewire_span_metrics_unsampled",
    "own_layer_prototype",
];

/// What a setup keeps alive while it is measured.
pub enum Held {
    None,
    Provider(SdkTracerProvider),
    Guard(tracewire::Guard),
}

/// Installs `setup` for the current thread; the dispatcher must be kept for the measurement.
pub fn install(setup: &str, dir: &std::path::Path) -> (Option<tracing::Dispatch>, Held) {
    let stock = |json: bool| {
        // tracing-opentelemetry 0.34 defaults over the SDK's BatchSpanProcessor (queue 2048).
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(Noop)
            .build();
        let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
        let json = json.then(|| {
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::sink)
        });
        let d = tracing::Dispatch::new(tracing_subscriber::registry().with(otel).with(json));
        (Some(d), Held::Provider(provider))
    };
    let tracewire = |env: &[(&str, &str)]| {
        let (d, g) = tracewire_stack(env, dir);
        (Some(d), Held::Guard(g))
    };
    match setup {
        "no_subscriber" => (None, Held::None),
        "registry_empty_layer" => (
            Some(tracing::Dispatch::new(
                tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new()),
            )),
            Held::None,
        ),
        "stock_otel" => stock(false),
        "stock_otel_json" => stock(true),
        "tracewire_sampled" => tracewire(&[]),
        "tracewire_unsampled" => tracewire(&[("TRACEWIRE_SAMPLING_RATE", "0")]),
        // 10% head sampling, plus every error and every root slower than 100 ms.
        "tracewire_tail_10pct" => tracewire(&[
            ("TRACEWIRE_SAMPLING_RATE", "0.1"),
            ("TRACEWIRE_KEEP_ERRORS", "true"),
            ("TRACEWIRE_SLOW_THRESHOLD_MS", "100"),
        ]),
        "tracewire_tracing_disabled" => tracewire(&[("TRACEWIRE_TRACING_ENABLED", "false")]),
        "tracewire_disabled" => tracewire(&[("TRACEWIRE_ENABLED", "false")]),
        // What metrics cost: the same stack without them, and with a series per span name.
        "tracewire_metrics_off" => tracewire(&[("TRACEWIRE_METRICS_ENABLED", "false")]),
        "tracewire_span_metrics" => tracewire(&[("TRACEWIRE_SPAN_METRICS", "true")]),
        "tracewire_span_metrics_unsampled" => tracewire(&[
            ("TRACEWIRE_SPAN_METRICS", "true"),
            ("TRACEWIRE_SAMPLING_RATE", "0"),
        ]),
        // What a span layer of tracewire's own would cost in place of tracing-opentelemetry's,
        // over the same SDK batch processor: compare with `stock_otel` (own_layer.rs).
        "own_layer_prototype" => {
            let processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(Noop).build();
            let d = tracing::Dispatch::new(
                tracing_subscriber::registry().with(own_layer::OwnLayer::new(processor)),
            );
            (Some(d), Held::None)
        }
        other => panic!("unknown setup {other}"),
    }
}

fn tracewire_stack(
    env: &[(&str, &str)],
    dir: &std::path::Path,
) -> (tracing::Dispatch, tracewire::Guard) {
    // The file sink into a temp dir, capped: the caller's cost is measured, not delivery.
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env(env.iter().copied())
        .with_otlp_endpoint(format!("file:{}", dir.join("spans.jsonl").display()))
        .with_log_writer(std::io::sink())
        .set_default()
        .expect("stack");
    let d = tracing::dispatcher::get_default(|d| d.clone());
    (d, guard)
}

#[tracing::instrument]
pub fn one_field(n: i64) -> i64 {
    n + 1
}

#[tracing::instrument]
pub fn with_event(n: i64) -> i64 {
    tracing::info!(n, "inside");
    n + 1
}

#[tracing::instrument]
pub fn root_with_children(n: i64) -> i64 {
    let mut s = 0;
    for i in 0..10 {
        s += one_field(n + i);
    }
    s
}

/// One request through `ServerLayer` (feature `http-server`): the SERVER span with its
/// attributes, context extraction from a `traceparent`-less request, the status code and, with
/// metrics on, `http.server.request.duration`. The handler answers at once; the future is
/// polled once, with a no-op waker.
#[cfg(feature = "http-server")]
pub fn http_request(n: i64) -> i64 {
    use std::cell::RefCell;
    use std::future::Future as _;
    use tower::{Layer as _, Service as _};
    type Handler = tower::util::ServiceFn<
        fn(
            http::Request<()>,
        ) -> std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>,
    >;
    fn answer(
        _: http::Request<()>,
    ) -> std::future::Ready<Result<http::Response<()>, std::convert::Infallible>> {
        std::future::ready(Ok(http::Response::new(())))
    }
    thread_local! {
        static SVC: RefCell<tracewire::http::ServerService<Handler>> = RefCell::new(
            tracewire::http::ServerLayer::new().layer(tower::service_fn(answer as fn(_) -> _)),
        );
    }
    let req = http::Request::get("/orders/42")
        .header("host", "shop.example.com")
        .header("user-agent", "bench/1.0")
        .body(())
        .unwrap();
    SVC.with(|svc| {
        let mut fut = std::pin::pin!(svc.borrow_mut().call(req));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Ok(res)) => n + i64::from(res.status().as_u16()),
            _ => n,
        }
    })
}

/// One call through `ServerLayer` (feature `tonic`): the SERVER span, the metadata read,
/// the status from the response head, the body wrapped and ended.
#[cfg(feature = "tonic")]
pub fn grpc_request(n: i64) -> i64 {
    use std::cell::RefCell;
    use std::future::Future as _;
    use tower::{Layer as _, Service as _};
    type Answer = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;
    type Handler = tower::util::ServiceFn<fn(http::Request<()>) -> Answer>;
    fn answer(_: http::Request<()>) -> Answer {
        let mut res = http::Response::new(String::new());
        res.headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("0"));
        std::future::ready(Ok(res))
    }
    thread_local! {
        static SVC: RefCell<tracewire::grpc::CallService<Handler>> = RefCell::new(
            tracewire::grpc::ServerLayer::new().layer(tower::service_fn(answer as fn(_) -> _)),
        );
    }
    let req = http::Request::post("/shop.Orders/Get")
        .header("content-type", "application/grpc")
        .body(())
        .unwrap();
    SVC.with(|svc| {
        let mut fut = std::pin::pin!(svc.borrow_mut().call(req));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Ok(res)) => {
                let mut body = std::pin::pin!(res.into_body());
                // The end of the body ends the span.
                while let std::task::Poll::Ready(Some(_)) =
                    http_body::Body::poll_frame(body.as_mut(), &mut cx)
                {}
                n + 1
            }
            _ => n,
        }
    })
}

/// One command through `TracedRedis` (feature `redis`) over a connection that answers at
/// once: tracewire's cost of a Redis call, without the network.
#[cfg(feature = "redis")]
pub fn redis_command(n: i64) -> i64 {
    use std::future::Future as _;
    struct Instant;
    impl redis::aio::ConnectionLike for Instant {
        fn req_packed_command<'a>(
            &'a mut self,
            _cmd: &'a redis::Cmd,
        ) -> redis::RedisFuture<'a, redis::Value> {
            Box::pin(std::future::ready(Ok(redis::Value::Okay)))
        }
        fn req_packed_commands<'a>(
            &'a mut self,
            _cmd: &'a redis::Pipeline,
            _offset: usize,
            _count: usize,
        ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
            Box::pin(std::future::ready(Ok(Vec::new())))
        }
        fn get_db(&self) -> i64 {
            0
        }
    }
    let mut conn = tracewire::db::TracedRedis::new(Instant).with_server("127.0.0.1", 6379);
    let mut cmd = redis::cmd("SET");
    cmd.arg("session:42").arg("value");
    let mut fut = std::pin::pin!(redis::aio::ConnectionLike::req_packed_command(
        &mut conn, &cmd
    ));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Ok(_)) => n + 1,
        _ => n,
    }
}

/// (name, the instrumented call, spans per call)
pub type Workload = (&'static str, fn(i64) -> i64, u64);

pub const WORKLOADS: &[Workload] = &[
    ("span_one_field", one_field, 1),
    ("span_with_event", with_event, 1),
    ("root_10_children", root_with_children, 11),
    #[cfg(feature = "http-server")]
    ("http_request", http_request, 1),
    #[cfg(feature = "tonic")]
    ("grpc_request", grpc_request, 1),
    #[cfg(feature = "redis")]
    ("redis_command", redis_command, 1),
];
