//! A tonic service and its client in one process, both traced: `cargo run --example grpc
//! --features tonic`. The client's CLIENT span and the server's SERVER span share one trace
//! (through the gRPC metadata); with no collector configured they go to `tracewire-spans.jsonl`
//! (`tracewire view tracewire-spans.jsonl`). The service is written by hand, as tonic's code
//! generator would write it, so the example needs no `protoc`.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracewire::grpc::{ClientLayer, ServerLayer};

#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

type BoxFut<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

#[derive(Clone)]
struct Greeter;

impl tonic::server::NamedService for Greeter {
    const NAME: &'static str = "helloworld.Greeter";
}

struct SayHello;

impl tonic::server::UnaryService<HelloRequest> for SayHello {
    type Response = HelloReply;
    type Future = BoxFut<Result<tonic::Response<HelloReply>, tonic::Status>>;
    fn call(&mut self, req: tonic::Request<HelloRequest>) -> Self::Future {
        Box::pin(async move {
            let name = req.into_inner().name;
            tracing::info!(%name, "greeting");
            Ok(tonic::Response::new(HelloReply {
                message: format!("hello, {name}"),
            }))
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Greeter {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFut<Result<Self::Response, Infallible>>;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<
                HelloReply,
                HelloRequest,
            >::default());
            Ok(match req.uri().path() {
                "/helloworld.Greeter/SayHello" => grpc.unary(SayHello, req).await,
                _ => tonic::Status::unimplemented("no such method").into_http(),
            })
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = tracewire::init()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let incoming = futures_util::stream::unfold(listener, |l| async move {
        let r = l.accept().await.map(|(s, _)| s);
        Some((r, l))
    });
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(ServerLayer::new())
            .add_service(Greeter)
            .serve_with_incoming(incoming),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut client = tonic::client::Grpc::new(
        tower::ServiceBuilder::new()
            .layer(ClientLayer::new())
            .service(channel),
    );
    client.ready().await?;
    let reply = client
        .unary::<HelloRequest, HelloReply, _>(
            tonic::Request::new(HelloRequest {
                name: "tracewire".into(),
            }),
            http::uri::PathAndQuery::from_static("/helloworld.Greeter/SayHello"),
            tonic_prost::ProstCodec::default(),
        )
        .await?;
    println!("{}", reply.into_inner().message);
    server.abort();
    guard.shutdown()?;
    Ok(())
}
