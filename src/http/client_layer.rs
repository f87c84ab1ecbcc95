//! A tower layer for HTTP clients (feature `http-client`): hyper-util's client, or any
//! `tower::Service<http::Request<_>>`. Each request gets a CLIENT span `{METHOD}` with the HTTP
//! client semantic conventions, every configured propagator's headers injected, 4xx and 5xx
//! marked Error, and `http.client.request.duration` from every request at any sampling rate.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use tracing::field::Empty;

use super::redact_url;
use crate::hooks::{RequestHook, ResponseHook};
use crate::propagation;

/// The layer: `tower::ServiceBuilder::new().layer(ClientLayer::new()).service(client)`.
///
/// ```
/// use tower::ServiceBuilder;
/// let layer = tracewire::http::ClientLayer::new()
///     .with_request_hook(|span: &tracing::Span, req: &http::request::Parts| {
///         if req.uri.path().starts_with("/admin") {
///             tracewire::rename_span(span, "admin call");
///         }
///     });
/// # let _ = layer;
/// ```
#[derive(Clone, Default)]
pub struct ClientLayer {
    request_hook: Option<Arc<dyn RequestHook>>,
    response_hook: Option<Arc<dyn ResponseHook>>,
}

impl std::fmt::Debug for ClientLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLayer")
            .field("request_hook", &self.request_hook.is_some())
            .field("response_hook", &self.response_hook.is_some())
            .finish()
    }
}

impl ClientLayer {
    /// The layer.
    pub fn new() -> Self {
        ClientLayer::default()
    }

    /// Calls `hook` with each request's span and head, trace context injected (see
    /// [`RequestHook`]).
    pub fn with_request_hook(mut self, hook: impl RequestHook) -> Self {
        self.request_hook = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each response head before the span ends (see [`ResponseHook`]).
    pub fn with_response_hook(mut self, hook: impl ResponseHook) -> Self {
        self.response_hook = Some(Arc::new(hook));
        self
    }
}

impl<S> tower::Layer<S> for ClientLayer {
    type Service = ClientService<S>;
    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ClientLayer`] makes.
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
    layer: ClientLayer,
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for ClientService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Display,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ClientResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (method, name, original) = super::method_attributes(req.method().as_str());
        let uri = req.uri();
        let host = uri.host().map(str::to_string).or_else(|| {
            // An origin-form URI (`/path`) names its server in the Host header.
            req.headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|h| h.rsplit_once(':').map_or(h, |(host, _)| host).to_string())
        });
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        let span = tracing::info_span!(
            target: "tracewire::http",
            "HTTP client request",
            otel.name = name,
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method,
            http.request.method_original = original,
            url.full = %redact_url(&uri.to_string()),
            server.address = host.as_deref(),
            // As i64, not u16: see the server layer's `server.port`.
            server.port = port.map(i64::from),
            http.response.status_code = Empty,
            error.type = Empty,
        );
        let (mut parts, body) = req.into_parts();
        // Not `span.context()`: empty for a span of an unsampled trace, whose context goes on.
        propagation::inject_context(&propagation::span_context(&span), &mut parts.headers);
        if let Some(hook) = &self.layer.request_hook {
            span.in_scope(|| hook.on_request(&span, &parts));
        }
        let req = Request::from_parts(parts, body);
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ClientResponseFuture {
            inner,
            span,
            response_hook: self.layer.response_hook.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ClientService`]: the span ends when the response head arrives.
    pub struct ClientResponseFuture<F> {
        #[pin]
        inner: F,
        span: tracing::Span,
        response_hook: Option<Arc<dyn ResponseHook>>,
    }
}

impl<F> std::fmt::Debug for ClientResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientResponseFuture")
            .field("span", &self.span)
            .finish()
    }
}

impl<F, B, E> Future for ClientResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Display,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let Poll::Ready(result) = this.inner.poll(cx) else {
            return Poll::Pending;
        };
        match result {
            Ok(res) => {
                let status = res.status();
                this.span
                    .record("http.response.status_code", i64::from(status.as_u16()));
                if status.is_client_error() || status.is_server_error() {
                    this.span.record("error.type", status.as_str());
                    this.span.record("otel.status_code", "error");
                }
                crate::propagation::read_response(this.span, res.headers());
                let res = match this.response_hook.as_ref() {
                    Some(hook) => {
                        let (parts, body) = res.into_parts();
                        hook.on_response(this.span, &parts);
                        Response::from_parts(parts, body)
                    }
                    None => res,
                };
                Poll::Ready(Ok(res))
            }
            Err(e) => {
                this.span.record("error.type", "_OTHER");
                this.span.record("otel.status_code", "error");
                tracing::error!(target: "tracewire::http", error = %e, "request failed");
                Poll::Ready(Err(e))
            }
        }
    }
}
