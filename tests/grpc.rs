//! gRPC with a real tonic server and client (a hand-written service: what tonic's codegen makes,
//! without protoc): SERVER and CLIENT spans `echo.Echo/Say` with the RPC conventions, one trace
//! through the metadata, statuses per side (NOT_FOUND is the client's error only, INTERNAL both
//! sides'), an unknown method UNIMPLEMENTED, a server stream's span ending with the stream, and
//! at `sampling_rate = 0` an unsampled caller's decision followed with nothing exported; the
//! RPC duration metrics count every call.
#![cfg(feature = "tonic")]

mod support;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracewire::grpc::{ClientLayer, ServerLayer};
use tracewire::testing::{AttrValue, Capture};

#[derive(Clone, PartialEq, prost::Message)]
struct EchoRequest {
    #[prost(string, tag = "1")]
    text: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EchoReply {
    #[prost(string, tag = "1")]
    text: String,
}

type BoxFut<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// `echo.Echo`: `Say` answers, or fails as the text asks; `Count` streams three replies.
#[derive(Clone)]
struct EchoServer;

impl tonic::server::NamedService for EchoServer {
    const NAME: &'static str = "echo.Echo";
}

struct Say;

impl tonic::server::UnaryService<EchoRequest> for Say {
    type Response = EchoReply;
    type Future = BoxFut<Result<tonic::Response<EchoReply>, tonic::Status>>;
    fn call(&mut self, req: tonic::Request<EchoRequest>) -> Self::Future {
        Box::pin(async move {
            tracing::info!("saying");
            let text = req.into_inner().text;
            match text.as_str() {
                "missing" => Err(tonic::Status::not_found("no such thing")),
                "crash" => Err(tonic::Status::internal("it broke")),
                _ => Ok(tonic::Response::new(EchoReply { text })),
            }
        })
    }
}

struct Count;

impl tonic::server::ServerStreamingService<EchoRequest> for Count {
    type Response = EchoReply;
    type ResponseStream =
        Pin<Box<dyn futures_util::Stream<Item = Result<EchoReply, tonic::Status>> + Send>>;
    type Future = BoxFut<Result<tonic::Response<Self::ResponseStream>, tonic::Status>>;
    fn call(&mut self, _req: tonic::Request<EchoRequest>) -> Self::Future {
        Box::pin(async move {
            let items = (0..3).map(|i| {
                Ok(EchoReply {
                    text: i.to_string(),
                })
            });
            let stream: Self::ResponseStream = Box::pin(futures_util::stream::iter(items));
            Ok(tonic::Response::new(stream))
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for EchoServer {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFut<Result<Self::Response, Infallible>>;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let codec = tonic_prost::ProstCodec::<EchoReply, EchoRequest>::default();
            let mut grpc = tonic::server::Grpc::new(codec);
            Ok(match req.uri().path() {
                "/echo.Echo/Say" => grpc.unary(Say, req).await,
                "/echo.Echo/Count" => grpc.server_streaming(Count, req).await,
                _ => tonic::Status::unimplemented("no such method").into_http(),
            })
        })
    }
}

fn str_attr(v: Option<&AttrValue>) -> Option<&str> {
    v.and_then(AttrValue::as_str)
}

#[test]
fn calls_statuses_and_streams_are_spans_of_one_trace() {
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (codes, streamed, port) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = support::incoming(listener);
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(ServerLayer::new())
                .add_service(EchoServer)
                .serve_with_incoming(incoming),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        // `Grpc::new(channel)`: no origin in the request URI, so the layer is told the target.
        let traced = tower::ServiceBuilder::new()
            .layer(ClientLayer::new().with_server(&format!("http://{addr}")))
            .service(channel);
        let mut client = tonic::client::Grpc::new(traced);
        let mut codes = Vec::new();
        for (path, text) in [
            ("/echo.Echo/Say", "hello"),
            ("/echo.Echo/Say", "missing"),
            ("/echo.Echo/Say", "crash"),
            ("/echo.Echo/Nope", "x"),
        ] {
            client.ready().await.unwrap();
            let r = client
                .unary::<EchoRequest, EchoReply, _>(
                    tonic::Request::new(EchoRequest { text: text.into() }),
                    http::uri::PathAndQuery::from_static(path),
                    tonic_prost::ProstCodec::default(),
                )
                .await;
            codes.push(r.map(|_| tonic::Code::Ok).unwrap_or_else(|s| s.code()));
        }
        client.ready().await.unwrap();
        let mut stream = client
            .server_streaming::<EchoRequest, EchoReply, _>(
                tonic::Request::new(EchoRequest { text: "n".into() }),
                http::uri::PathAndQuery::from_static("/echo.Echo/Count"),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap()
            .into_inner();
        let mut streamed = 0;
        while let Some(item) = stream.message().await.unwrap() {
            let _ = item;
            streamed += 1;
        }
        (codes, streamed, addr.port())
    });
    drop(rt);
    assert_eq!(
        codes,
        [
            tonic::Code::Ok,
            tonic::Code::NotFound,
            tonic::Code::Internal,
            tonic::Code::Unimplemented
        ]
    );
    assert_eq!(streamed, 3);

    let spans = capture.spans();
    let of = |kind: &str, name: &str| -> Vec<_> {
        spans
            .iter()
            .filter(|s| s.kind == kind && s.name == name)
            .cloned()
            .collect()
    };
    let servers = of("server", "echo.Echo/Say");
    let clients = of("client", "echo.Echo/Say");
    assert_eq!((servers.len(), clients.len()), (3, 3), "{spans:#?}");
    for (c, s) in clients.iter().zip(&servers) {
        assert_eq!(s.trace_id, c.trace_id, "one trace through the metadata");
        assert_eq!(s.parent_span_id.as_deref(), Some(c.span_id.as_str()));
        for span in [c, s] {
            // The RPC conventions as the model has them today; no deprecated name by default.
            assert_eq!(str_attr(span.attr("rpc.system.name")), Some("grpc"));
            assert_eq!(str_attr(span.attr("rpc.method")), Some("echo.Echo/Say"));
            for deprecated in ["rpc.system", "rpc.service", "rpc.grpc.status_code"] {
                assert!(span.attr(deprecated).is_none(), "{deprecated}");
            }
        }
        // Required on the client whatever the tonic client was built with.
        assert_eq!(str_attr(c.attr("server.address")), Some("127.0.0.1"));
        assert_eq!(
            c.attr("server.port"),
            Some(&AttrValue::I64(i64::from(port)))
        );
    }
    let code = |s: &tracewire::testing::CapturedSpan| {
        str_attr(s.attr("rpc.status_code")).map(str::to_string)
    };
    let named = |n: &str| Some(n.to_string());
    // Ok, NOT_FOUND, INTERNAL in call order (servers end in the same order here).
    assert_eq!(code(&clients[0]), named("OK"));
    assert!(!clients[0].is_error() && !servers[0].is_error());
    assert_eq!(code(&clients[1]), named("NOT_FOUND"));
    assert!(clients[1].is_error(), "NOT_FOUND is the client's error");
    assert!(!servers[1].is_error(), "and not the server's");
    assert_eq!(str_attr(clients[1].attr("error.type")), Some("NOT_FOUND"));
    assert!(
        clients[2].is_error() && servers[2].is_error(),
        "INTERNAL: both"
    );
    assert_eq!(str_attr(servers[2].attr("error.type")), Some("INTERNAL"));
    // A method the server does not have: `_OTHER`, named after the system, the client's name
    // kept apart (a client cannot fill the metrics with names of its choosing).
    let unknown = of("server", "grpc");
    assert_eq!(unknown.len(), 1, "{spans:#?}");
    assert!(unknown[0].is_error(), "UNIMPLEMENTED is a server error");
    assert_eq!(code(&unknown[0]), named("UNIMPLEMENTED"));
    assert_eq!(str_attr(unknown[0].attr("rpc.method")), Some("_OTHER"));
    assert_eq!(
        str_attr(unknown[0].attr("rpc.method_original")),
        Some("echo.Echo/Nope")
    );
    let m = capture.metric("rpc.server.call.duration");
    let methods: std::collections::BTreeSet<_> = m
        .points
        .iter()
        .filter_map(|p| str_attr(p.attr("rpc.method")).map(str::to_string))
        .collect();
    assert!(methods.contains("_OTHER"), "{methods:?}");
    assert!(!methods.contains("echo.Echo/Nope"), "{methods:?}");
    let stream = of("server", "echo.Echo/Count");
    assert_eq!(stream.len(), 1, "the stream's span ended with the stream");
    assert_eq!(code(&stream[0]), named("OK"));
    let saying = capture
        .logs()
        .into_iter()
        .find(|l| l["message"] == "saying")
        .unwrap();
    assert_eq!(
        saying["trace_id"].as_str(),
        Some(servers[0].trace_id.as_str())
    );
}

#[test]
fn at_rate_zero_the_callers_trace_goes_on_and_nothing_is_exported() {
    let capture = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_env([("TRACEWIRE_SAMPLING_RATE", "0")]),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(ServerLayer::new())
                .add_service(EchoServer)
                .serve_with_incoming(support::incoming(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = tonic::client::Grpc::new(
            tower::ServiceBuilder::new()
                .layer(ClientLayer::new())
                .service(channel),
        );
        let caller = tracing::info_span!("caller");
        caller.in_scope(|| tracing::info!("calling"));
        use tracing::Instrument as _;
        async {
            client.ready().await.unwrap();
            client
                .unary::<EchoRequest, EchoReply, _>(
                    tonic::Request::new(EchoRequest { text: "hi".into() }),
                    http::uri::PathAndQuery::from_static("/echo.Echo/Say"),
                    tonic_prost::ProstCodec::default(),
                )
                .await
                .unwrap();
        }
        .instrument(caller)
        .await;
    });
    drop(rt);
    assert!(capture.spans().is_empty(), "nothing sampled");
    let logs = capture.logs();
    let line = |m: &str| {
        logs.iter()
            .find(|l| l["message"] == m)
            .unwrap_or_else(|| panic!("no {m:?} in {logs:#?}"))
            .clone()
    };
    let (calling, saying) = (line("calling"), line("saying"));
    assert_eq!(
        calling["trace_id"], saying["trace_id"],
        "the caller's trace, on the server"
    );
    assert_eq!(
        saying["trace_flags"], "02",
        "unsampled, random: the caller's decision"
    );
}

#[test]
fn hooks_see_the_metadata_and_rename_the_span() {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ServerLayer::new()
            .with_request_hook(|span: &tracing::Span, req: &http::request::Parts| {
                if let Some(t) = req.headers.get("x-tenant").and_then(|v| v.to_str().ok()) {
                    span.set_attribute("tenant.id", t.to_string());
                }
            })
            .with_response_hook(|span: &tracing::Span, res: &http::response::Parts| {
                span.set_attribute("http.status_seen", i64::from(res.status.as_u16()));
            });
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(server)
                .add_service(EchoServer)
                .serve_with_incoming(support::incoming(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let client_layer = ClientLayer::new().with_request_hook(
            |span: &tracing::Span, req: &http::request::Parts| {
                assert!(req.headers.contains_key("traceparent"), "after injection");
                tracewire::rename_span(span, "say, for acme");
            },
        );
        let mut client = tonic::client::Grpc::new(
            tower::ServiceBuilder::new()
                .layer(client_layer)
                .service(channel),
        );
        client.ready().await.unwrap();
        let mut req = tonic::Request::new(EchoRequest { text: "hi".into() });
        req.metadata_mut()
            .insert("x-tenant", "acme".parse().unwrap());
        client
            .unary::<EchoRequest, EchoReply, _>(
                req,
                http::uri::PathAndQuery::from_static("/echo.Echo/Say"),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap();
    });
    drop(rt);
    let client = capture.span("say, for acme");
    assert_eq!(client.kind, "client");
    let server = capture.span("echo.Echo/Say");
    assert_eq!(str_attr(server.attr("tenant.id")), Some("acme"));
    assert_eq!(server.attr("http.status_seen"), Some(&AttrValue::I64(200)));
}

/// `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup`: the deprecated names beside the current ones, for
/// backends that still read them.
#[test]
fn rpc_dup_adds_the_previous_names() {
    let capture = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            .with_env([("OTEL_SEMCONV_STABILITY_OPT_IN", "http,rpc/dup")]),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(ServerLayer::new())
                .add_service(EchoServer)
                .serve_with_incoming(support::incoming(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = tonic::client::Grpc::new(
            tower::ServiceBuilder::new()
                .layer(ClientLayer::new())
                .service(channel),
        );
        client.ready().await.unwrap();
        let r = client
            .unary::<EchoRequest, EchoReply, _>(
                tonic::Request::new(EchoRequest {
                    text: "missing".into(),
                }),
                http::uri::PathAndQuery::from_static("/echo.Echo/Say"),
                tonic_prost::ProstCodec::default(),
            )
            .await;
        assert_eq!(r.unwrap_err().code(), tonic::Code::NotFound);
    });
    drop(rt);
    for span in capture.spans() {
        assert_eq!(str_attr(span.attr("rpc.system.name")), Some("grpc"));
        assert_eq!(str_attr(span.attr("rpc.status_code")), Some("NOT_FOUND"));
        assert_eq!(str_attr(span.attr("rpc.method")), Some("echo.Echo/Say"));
        assert_eq!(str_attr(span.attr("rpc.system")), Some("grpc"));
        assert_eq!(str_attr(span.attr("rpc.service")), Some("echo.Echo"));
        assert_eq!(span.attr("rpc.grpc.status_code"), Some(&AttrValue::I64(5)));
    }
}

#[test]
fn with_methods_the_list_decides_what_is_recognized() {
    let capture = Capture::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(ServerLayer::new().with_methods(["/echo.Echo/Say"]))
                .add_service(EchoServer)
                .serve_with_incoming(support::incoming(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = tonic::client::Grpc::new(channel);
        for path in ["/echo.Echo/Say", "/echo.Echo/Count"] {
            client.ready().await.unwrap();
            // Count answers a stream; read as unary it fails on the client, which is not what
            // this test is about: the server span is.
            let _ = client
                .unary::<EchoRequest, EchoReply, _>(
                    tonic::Request::new(EchoRequest { text: "x".into() }),
                    http::uri::PathAndQuery::from_static(path),
                    tonic_prost::ProstCodec::default(),
                )
                .await;
        }
    });
    drop(rt);
    let say = capture.span("echo.Echo/Say");
    assert_eq!(str_attr(say.attr("rpc.method")), Some("echo.Echo/Say"));
    assert!(say.attr("rpc.method_original").is_none());
    let other = capture.span("grpc");
    assert_eq!(str_attr(other.attr("rpc.method")), Some("_OTHER"));
    assert_eq!(
        str_attr(other.attr("rpc.method_original")),
        Some("echo.Echo/Count")
    );
    assert!(!other.is_error(), "the server answered it: {other:?}");
}
