//! Export failures classified by what they are, not by their text: a real HTTP/2 server that
//! answers a gRPC export with GOAWAY (a transport failure after connecting: retried, and no
//! "wrong protocol" hint, since the peer speaks HTTP/2), and an OTLP/HTTP endpoint whose 200
//! answer is larger than the 4 MiB read cap (a success: not retried, not counted as failed, the
//! batch not sent twice).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tracewire::settings::Protocol;

/// An HTTP/2 server that reads each request's headers and closes the connection with GOAWAY
/// (`REFUSED_STREAM`): what a collector that is shutting down or overloaded does. Counts them.
fn goaway_server(rt: &tokio::runtime::Runtime) -> (u16, Arc<AtomicUsize>) {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    rt.spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while let Ok(Ok((socket, _))) = tokio::time::timeout_at(deadline, listener.accept()).await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(socket).await else {
                    return;
                };
                if let Some(Ok(_request)) = conn.accept().await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    conn.abrupt_shutdown(h2::Reason::REFUSED_STREAM);
                    // Drive the connection so the GOAWAY is written.
                    while conn.accept().await.is_some() {}
                }
            });
        }
    });
    (port, seen)
}

#[test]
fn a_goaway_from_a_real_http2_peer_is_retried_and_never_called_the_wrong_protocol() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (port, seen) = goaway_server(&rt);
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([("OTEL_METRICS_EXPORTER", "none")])
        .with_otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .with_otlp_protocol(Protocol::Grpc)
        .with_otlp_timeout(Duration::from_secs(5))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    tracing::info_span!("request").in_scope(|| {});
    let err = guard.shutdown().expect_err("never delivered");
    let text = err.to_string();
    assert_eq!(err.stats().unwrap().failed_spans, 1, "{text}");
    assert!(
        seen.load(Ordering::SeqCst) >= 2,
        "the refused request was sent again ({} attempts): {text}",
        seen.load(Ordering::SeqCst)
    );
    assert!(
        !text.contains("does not seem to speak OTLP/gRPC"),
        "a real HTTP/2 peer gets no wrong-protocol hint: {text}"
    );
}

/// An OTLP/HTTP endpoint answering every request 200 with a 5 MiB body.
fn oversized_ok(rt: &tokio::runtime::Runtime) -> (u16, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { vec![0u8; 5 << 20] }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        let serve = axum::serve(listener, app).into_future();
        let _ = tokio::time::timeout(Duration::from_secs(60), serve).await;
    });
    (port, seen)
}

#[test]
fn a_success_with_an_oversized_body_is_a_success() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (port, seen) = oversized_ok(&rt);
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([("OTEL_METRICS_EXPORTER", "none")])
        .with_otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .with_otlp_protocol(Protocol::HttpProtobuf)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    tracing::info_span!("request").in_scope(|| {});
    let stats = guard.shutdown().expect("the endpoint said 200");
    assert_eq!(stats.exported_spans, 1, "{stats:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 1, "sent once, not retried");
}
