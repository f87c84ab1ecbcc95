//! The service both layers produce: a span per call around the inner service, the context
//! extracted (server) or injected (client), the status read from the headers or the trailers,
//! the span ended with the response body.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use opentelemetry::Context;

use super::calls::{
    Target, client_span, method_of, recognized, record_status, server_span, status_of,
    traceresponse, unrecognized,
};
use super::{Hooks, ResponseHook, Side};
use crate::propagation;

/// The service [`ServerLayer`](super::ServerLayer) and [`ClientLayer`](super::ClientLayer) produce.
#[derive(Debug, Clone)]
pub struct CallService<S> {
    pub(super) inner: S,
    pub(super) side: Side,
    pub(super) exclude: Option<Arc<[String]>>,
    /// The server's methods, when the user listed them.
    pub(super) methods: Option<Arc<[String]>>,
    pub(super) hooks: Hooks,
    /// The client's configured target.
    pub(super) server: Option<Arc<Target>>,
}

impl std::fmt::Debug for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Server => "server",
            Side::Client => "client",
        })
    }
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for CallService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<CallBody<ResBody>>;
    type Error = S::Error;
    type Future = CallFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match self.side {
            Side::Server => {
                let remote = propagation::extract(req.headers());
                let begin = |d: &Arc<crate::propagation::TraceResponse>| {
                    d.begin(&remote, || req.headers().contains_key("traceparent"))
                };
                let Some(traceresponse) = crate::propagation::server_request(
                    self.exclude.as_deref(),
                    req.uri().path(),
                    begin,
                ) else {
                    let _forward = remote.clone().attach();
                    return CallFuture {
                        inner: self.inner.call(req),
                        span: None,
                        side: self.side,
                        path: None,
                        remote,
                        response_hook: None,
                        traceresponse: None,
                    };
                };
                // Inside the remote context, so that head sampling follows the caller.
                let span = {
                    let _remote =
                        propagation::carries_anything(&remote).then(|| remote.clone().attach());
                    server_span(&req)
                };
                let path = req.uri().path();
                let method = path.strip_prefix('/').unwrap_or(path);
                // With the user's list, the list decides; without, the server's answer does.
                let path = match &self.methods {
                    Some(known) => {
                        if !recognized(known, method) {
                            unrecognized(&span, method);
                        }
                        None
                    }
                    None => req.uri().path_and_query().cloned(),
                };
                let _ = propagation::set_parent_context(&span, remote.clone());
                let req = with_request_hook(&self.hooks, &span, req);
                let inner = {
                    let _forward = remote.clone().attach();
                    let _entered = span.enter();
                    self.inner.call(req)
                };
                CallFuture {
                    inner,
                    span: Some(span),
                    side: self.side,
                    path,
                    remote,
                    response_hook: self.hooks.response.clone(),
                    traceresponse,
                }
            }
            Side::Client => {
                let span = client_span(&req, self.server.as_deref());
                // Not `span.context()`: empty for an unsampled span, whose context goes on.
                propagation::inject_context(&propagation::span_context(&span), req.headers_mut());
                let req = with_request_hook(&self.hooks, &span, req);
                let inner = {
                    let _entered = span.enter();
                    self.inner.call(req)
                };
                CallFuture {
                    inner,
                    span: Some(span),
                    side: self.side,
                    path: None,
                    remote: Context::new(),
                    response_hook: self.hooks.response.clone(),
                    traceresponse: None,
                }
            }
        }
    }
}

/// Runs the request hook, if any, inside the span.
fn with_request_hook<B>(hooks: &Hooks, span: &tracing::Span, req: Request<B>) -> Request<B> {
    let Some(hook) = &hooks.request else {
        return req;
    };
    let (parts, body) = req.into_parts();
    span.in_scope(|| hook.on_request(span, &parts));
    Request::from_parts(parts, body)
}

pin_project_lite::pin_project! {
    /// The response future of [`CallService`].
    pub struct CallFuture<F> {
        #[pin]
        inner: F,
        span: Option<tracing::Span>,
        side: Side,
        // The server's call path, kept until its status says whether the server has the method
        // (a cheap clone: the request's own bytes).
        path: Option<http::uri::PathAndQuery>,
        remote: Context,
        response_hook: Option<Arc<dyn ResponseHook>>,
        // Set when the server's answer may carry a `traceresponse` (propagation/traceresponse.rs).
        traceresponse: Option<crate::propagation::Pending>,
    }
}

impl<F> std::fmt::Debug for CallFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallFuture")
            .field("span", &self.span)
            .finish()
    }
}

impl<F, B, E> Future for CallFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<CallBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _forward = this.remote.clone().attach();
        let polled = match this.span.as_ref() {
            Some(span) => span.in_scope(|| this.inner.poll(cx)),
            None => this.inner.poll(cx),
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let side = *this.side;
        let span = this.span.take();
        Poll::Ready(match result {
            Ok(res) => {
                let (mut parts, body) = res.into_parts();
                if let (Some(s), Some(code)) = (span.as_ref(), status_of(&parts.headers)) {
                    // A trailers-only answer: the status is known now.
                    record_status(s, side, code, method_of(this.path.as_ref()));
                    if let Some(v) = traceresponse(this.traceresponse.as_ref(), s, code) {
                        parts.headers.insert(crate::propagation::TRACERESPONSE, v);
                    }
                }
                if let (Side::Client, Some(s)) = (side, span.as_ref()) {
                    crate::propagation::read_response(s, &parts.headers);
                }
                if parts.status != http::StatusCode::OK
                    && let Some(s) = span.as_ref()
                {
                    // Not a gRPC answer at all (a proxy's 502, ...).
                    s.record("error.type", parts.status.as_str());
                    s.record("otel.status_code", "error");
                }
                if let (Some(hook), Some(s)) = (this.response_hook.as_ref(), span.as_ref()) {
                    s.in_scope(|| hook.on_response(s, &parts));
                }
                Ok(Response::from_parts(
                    parts,
                    CallBody {
                        inner: body,
                        span,
                        side,
                        path: this.path.take(),
                        traceresponse: this.traceresponse.take(),
                    },
                ))
            }
            Err(e) => {
                if let Some(s) = span.as_ref() {
                    s.record("error.type", "_OTHER");
                    s.record("otel.status_code", "error");
                }
                Err(e)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends its call's span when it ends, reading the status in the
    /// trailers.
    pub struct CallBody<B> {
        #[pin]
        inner: B,
        span: Option<tracing::Span>,
        side: Side,
        path: Option<http::uri::PathAndQuery>,
        traceresponse: Option<crate::propagation::Pending>,
    }
}

impl<B> std::fmt::Debug for CallBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallBody")
            .field("span", &self.span)
            .finish()
    }
}

impl<B: http_body::Body> http_body::Body for CallBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut polled = this.inner.poll_frame(cx);
        match &mut polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(span)) = (frame.trailers_mut(), this.span.as_ref())
                    && let Some(code) = status_of(trailers)
                {
                    record_status(span, *this.side, code, method_of(this.path.as_ref()));
                    match *this.side {
                        Side::Server => {
                            if let Some(v) = traceresponse(this.traceresponse.as_ref(), span, code)
                            {
                                trailers.insert(crate::propagation::TRACERESPONSE, v);
                            }
                        }
                        Side::Client => crate::propagation::read_response(span, trailers),
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(span) = this.span.take() {
                    span.record("error.type", "_OTHER");
                    span.record("otel.status_code", "error");
                }
            }
            // The end of the stream: the call is over.
            Poll::Ready(None) => {
                this.span.take();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
