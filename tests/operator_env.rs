//! A service started with the environment the OpenTelemetry Operator injects into a pod
//! (`inject-sdk`: endpoint, service name, sampler, propagators, downward-API names, the
//! `OTEL_RESOURCE_ATTRIBUTES` it assembles), plus values this version does not know, starts,
//! serves and exports: `tracewire::init()` from the process environment, an axum server with
//! `ServerLayer`, real requests (one continuing a B3 trace), spans at the real collector with
//! the pod's resource, and one warning per ignored value on stderr.
//!
//! The service is this test binary itself, started again with that environment.

mod support;

use std::io::{BufRead, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Collector;

const CHILD: &str = "OPERATOR_ENV_CHILD";

/// The service, run only in the child process.
#[test]
fn service_with_the_operators_environment() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let guard = tracewire::init().expect("the Operator's environment must not stop init()");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stop = std::sync::Arc::new(std::sync::Mutex::new(Some(stop)));
        let app = axum::Router::new()
            .route("/orders", axum::routing::get(|| async { "ok" }))
            .route(
                "/stop",
                axum::routing::get(move || {
                    if let Some(s) = stop.lock().unwrap().take() {
                        let _ = s.send(());
                    }
                    async { "bye" }
                }),
            )
            .layer(tracewire::http::ServerLayer::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", listener.local_addr().unwrap().port());
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            // Bounded: the service stops itself if the test never asks.
            tokio::select! {
                _ = stopped => {}
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        });
        serve.await.unwrap();
        let stats = guard.shutdown().expect("everything delivered");
        println!("EXPORTED {}", stats.exported_spans);
    });
}

#[test]
fn a_service_starts_serves_and_exports_with_the_operators_environment() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let collector = Collector::start();
    let me = std::env::current_exe().unwrap();
    let mut child = Command::new(me)
        .args([
            "--exact",
            "service_with_the_operators_environment",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(CHILD, "1")
        .envs([
            // What the Operator's webhook sets (internal/instrumentation/sdk.go).
            ("OTEL_SERVICE_NAME", "checkout".to_string()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio".into()),
            ("OTEL_TRACES_SAMPLER_ARG", "1".into()),
            ("OTEL_PROPAGATORS", "tracecontext,baggage,b3,ottrace".into()),
            ("OTEL_POD_IP", "10.1.2.3".into()),
            ("OTEL_NODE_IP", "10.0.0.3".into()),
            ("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "checkout-7f9c-x2".into()),
            ("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "node-3".into()),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "k8s.container.name=web,k8s.deployment.name=checkout,k8s.namespace.name=shop,k8s.node.name=node-3,k8s.pod.name=checkout-7f9c-x2,service.instance.id=shop.checkout-7f9c-x2.web,service.version=1.4.2".into(),
            ),
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1".into()),
            ("HOSTNAME", "checkout-7f9c-x2".into()),
            // Values from a CR written for other SDKs, and mistakes.
            ("OTEL_LOGS_EXPORTER", "console".into()),
            ("OTEL_METRICS_EXPORTER", "otlp,prometheus".into()),
            ("OTEL_BSP_SCHEDULE_DELAY", "5s".into()),
            ("OTEL_SDK_DISABLED", "no".into()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "0".into()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "".into()),
            ("OTEL_UNKNOWN_FUTURE_SETTING", "1".into()),
            ("RUST_LOG", "info".into()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the child if an assertion below fails.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let child = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let port: u16 = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the service starts and says where it listens");
        // libtest's "test … ... " has no newline of its own: the line may start with it.
        if let Some((_, p)) = line.split_once("LISTENING ") {
            break p.trim().parse().unwrap();
        }
    };

    let b3_trace = "80f198ee56343ba864fe8b2a57d3eff7";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..2 {
            let r = client.get(format!("{base}/orders")).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
        let r = client
            .get(format!("{base}/orders"))
            .header("b3", format!("{b3_trace}-e457b5a2e4d86bd1-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = client.get(format!("{base}/stop")).send().await;
    });

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut exported = None;
    while exported.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                exported = line
                    .split_once("EXPORTED ")
                    .map(|(_, n)| n.trim().to_string())
            }
            Err(_) => break,
        }
    }
    let mut child = child;
    let status = child.0.wait().unwrap();
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    assert!(status.success(), "the service exits cleanly\n{err}");
    assert_eq!(
        exported.as_deref(),
        Some("4"),
        "4 server spans delivered\n{err}"
    );
    for (var, value) in [
        ("OTEL_PROPAGATORS", "ottrace"),
        ("OTEL_LOGS_EXPORTER", "console"),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_BSP_SCHEDULE_DELAY", "5s"),
        ("OTEL_SDK_DISABLED", "no"),
    ] {
        assert!(
            err.lines().any(|l| l.starts_with("tracewire: warning:")
                && l.contains(var)
                && l.contains(value)),
            "one warning names {var} and {value}:\n{err}"
        );
    }
    assert!(!err.contains("OTEL_UNKNOWN_FUTURE_SETTING"), "{err}");

    let spans = collector.wait_for_spans(4, Duration::from_secs(10));
    let ours: Vec<_> = spans
        .iter()
        .filter(|s| s["resource"]["service.name"] == "checkout")
        .collect();
    assert_eq!(ours.len(), 4, "{spans:?}");
    let r = &ours[0]["resource"];
    assert_eq!(r["service.instance.id"], "shop.checkout-7f9c-x2.web");
    assert_eq!(r["service.version"], "1.4.2");
    assert_eq!(r["k8s.pod.name"], "checkout-7f9c-x2");
    assert_eq!(r["k8s.namespace.name"], "shop");
    assert!(
        ours.iter().any(|s| s["trace_id"] == b3_trace),
        "the B3 caller's trace continued: {ours:?}"
    );
}
