//! A hand-written tonic service of unary methods, for tests that need a real gRPC server without
//! code generation (no protoc on CI machines): one request and one reply message type, and a
//! handler that gets the method's name and the request. A method the handler does not know
//! answers with the status it returns (`unimplemented`, say), as a generated server would.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub type BoxFut<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// The service's full name (`package.Service`): tonic's router needs it at compile time.
pub trait ServiceName: Send + Sync + 'static {
    const NAME: &'static str;
}

type Handler<Req, Res> =
    dyn Fn(&str, Req) -> BoxFut<Result<Res, tonic::Status>> + Send + Sync + 'static;

/// The service: `Server::builder().add_service(Unary::<Name, _, _>::new(handler))`.
pub struct Unary<N, Req, Res> {
    handler: Arc<Handler<Req, Res>>,
    name: PhantomData<fn() -> N>,
}

impl<N, Req, Res> Clone for Unary<N, Req, Res> {
    fn clone(&self) -> Self {
        Unary {
            handler: self.handler.clone(),
            name: PhantomData,
        }
    }
}

impl<N: ServiceName, Req, Res> Unary<N, Req, Res> {
    /// `handler(method, request)` answers every call of `N`.
    pub fn new(
        handler: impl Fn(&str, Req) -> BoxFut<Result<Res, tonic::Status>> + Send + Sync + 'static,
    ) -> Self {
        Unary {
            handler: Arc::new(handler),
            name: PhantomData,
        }
    }
}

impl<N: ServiceName, Req, Res> tonic::server::NamedService for Unary<N, Req, Res> {
    const NAME: &'static str = N::NAME;
}

struct Call<Req, Res> {
    method: String,
    handler: Arc<Handler<Req, Res>>,
}

impl<Req: Send + 'static, Res: Send + 'static> tonic::server::UnaryService<Req> for Call<Req, Res> {
    type Response = Res;
    type Future = BoxFut<Result<tonic::Response<Res>, tonic::Status>>;
    fn call(&mut self, req: tonic::Request<Req>) -> Self::Future {
        let answer = (self.handler)(&self.method, req.into_inner());
        Box::pin(async move { answer.await.map(tonic::Response::new) })
    }
}

impl<N, Req, Res> tower::Service<http::Request<tonic::body::Body>> for Unary<N, Req, Res>
where
    N: ServiceName,
    Req: prost::Message + Default + Send + 'static,
    Res: prost::Message + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFut<Result<Self::Response, Infallible>>;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let method = req
            .uri()
            .path()
            .strip_prefix(&format!("/{}/", N::NAME))
            .map(str::to_string);
        let handler = self.handler.clone();
        Box::pin(async move {
            let Some(method) = method else {
                return Ok(tonic::Status::unimplemented("no such service").into_http());
            };
            let codec = tonic_prost::ProstCodec::<Res, Req>::default();
            let mut grpc = tonic::server::Grpc::new(codec);
            Ok(grpc.unary(Call { method, handler }, req).await)
        })
    }
}
