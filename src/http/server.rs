//! A tower layer that gives every request a SERVER span, continuing the caller's trace.

use std::fmt::Display;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use opentelemetry::Context;
use tracing::field::Empty;

use super::redact_query;
use crate::propagation;

/// The tower [`Layer`](tower::Layer): wrap an axum `Router` or any
/// `Service<http::Request<B>, Response = http::Response<B2>>`.
///
/// Each request gets a SERVER span named `{METHOD} {route}` (the axum route with the `axum`
/// feature; `{METHOD}` alone when no route is known, never the raw path), child of the
/// context in the request's `traceparent`/`tracestate`/`baggage`, with the stable HTTP
/// semantic conventions. 5xx responses, errors and panics set status Error; 4xx stays Unset.
/// Excluded paths get no span, but their incoming context is still forwarded downstream.
///
/// ```
/// use tower::Layer as _;
/// let layer = tracewire::http::ServerLayer::new().with_exclude_paths(["/health"]);
/// let svc = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// # let _ = svc;
/// ```
#[derive(Clone)]
pub struct ServerLayer {
    /// `None`: the current stack's `exclude_paths`, looked up per request.
    exclude: Option<Arc<[String]>>,
    echo_traceparent: bool,
    request_hook: Option<Arc<dyn super::RequestHook>>,
    response_hook: Option<Arc<dyn super::ResponseHook>>,
}

impl std::fmt::Debug for ServerLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLayer")
            .field("exclude", &self.exclude)
            .field("echo_traceparent", &self.echo_traceparent)
            .field("request_hook", &self.request_hook.is_some())
            .field("response_hook", &self.response_hook.is_some())
            .finish()
    }
}

impl Default for ServerLayer {
    fn default() -> Self {
        ServerLayer::new()
    }
}

impl ServerLayer {
    /// Excluded paths from the stack current when a request arrives (`exclude_paths`), so
    /// the layer may be built before `init()` or `set_default()`.
    ///
    /// ```
    /// let layer = tracewire::http::ServerLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        ServerLayer {
            exclude: None,
            echo_traceparent: false,
            request_hook: None,
            response_hook: None,
        }
    }

    /// Paths not traced: exact, or a prefix when ending in `*`.
    ///
    /// ```
    /// let layer = tracewire::http::ServerLayer::new().with_exclude_paths(["/health", "/internal/*"]);
    /// # let _ = layer;
    /// ```
    pub fn with_exclude_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude = Some(paths.into_iter().map(Into::into).collect::<Vec<_>>().into());
        self
    }

    /// Adds a `traceparent` header to every traced response, for clients that correlate.
    ///
    /// ```
    /// let layer = tracewire::http::ServerLayer::new().with_traceparent_response(true);
    /// # let _ = layer;
    /// ```
    pub fn with_traceparent_response(mut self, echo: bool) -> Self {
        self.echo_traceparent = echo;
        self
    }

    /// Calls `hook` with each traced request's span and head (see [`RequestHook`](super::RequestHook)).
    pub fn with_request_hook(mut self, hook: impl super::RequestHook) -> Self {
        self.request_hook = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each traced response's head before the span ends (see
    /// [`ResponseHook`](super::ResponseHook)).
    pub fn with_response_hook(mut self, hook: impl super::ResponseHook) -> Self {
        self.response_hook = Some(Arc::new(hook));
        self
    }
}

impl<S> tower::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServerService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ServerLayer`] produces.
#[derive(Debug, Clone)]
pub struct ServerService<S> {
    inner: S,
    layer: ServerLayer,
}

fn route<B>(req: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(m) = req.extensions().get::<axum::extract::MatchedPath>() {
        return Some(m.as_str());
    }
    let _ = req;
    None
}

fn client_address<B>(req: &Request<B>) -> Option<String> {
    #[cfg(feature = "axum")]
    if let Some(ci) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(ci.0.ip().to_string());
    }
    let _ = req;
    None
}

fn protocol_version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

fn make_span<B>(req: &Request<B>) -> tracing::Span {
    let (method, name_method, original) = super::method_attributes(req.method().as_str());
    let route = route(req);
    let name = match route {
        Some(r) => format!("{name_method} {r}"),
        None => name_method.to_string(),
    };
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let (address, port) = match host.map(|h| {
        h.rsplit_once(':')
            .map_or((h, None), |(a, p)| (a, p.parse::<u16>().ok()))
    }) {
        Some((a, p)) => (Some(a), p),
        None => (None, None),
    };
    let span = tracing::info_span!(
        target: "tracewire::http",
        "HTTP request",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.request.method_original = original,
        http.route = route,
        url.path = %req.uri().path(),
        url.scheme = req.uri().scheme_str().unwrap_or("http"),
        url.query = Empty,
        server.address = address,
        // As i64: tracing-opentelemetry records unsigned integers through Debug (as strings),
        // so a u64 field would make every span of this callsite take the slower typed rewrite.
        server.port = port.map(i64::from),
        client.address = Empty,
        user_agent.original = Empty,
        network.protocol.version = protocol_version(req.version()),
        http.response.status_code = Empty,
        error.type = Empty,
    );
    if let Some(q) = req.uri().query() {
        span.record("url.query", redact_query(q).as_ref());
    }
    if let Some(ua) = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
    {
        span.record("user_agent.original", ua);
    }
    if let Some(c) = client_address(req) {
        span.record("client.address", c.as_str());
    }
    span
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for ServerService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Display,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ServerResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let remote = propagation::extract(req.headers());
        let begin = |d: &Arc<crate::propagation::TraceResponse>| {
            d.begin(&remote, || req.headers().contains_key("traceparent"))
        };
        let Some(traceresponse) = crate::propagation::server_request(
            self.layer.exclude.as_deref(),
            req.uri().path(),
            begin,
        ) else {
            let _forward = remote.clone().attach();
            return ServerResponseFuture {
                inner: self.inner.call(req),
                span: tracing::Span::none(),
                remote,
                echo: false,
                response_hook: None,
                traceresponse: None,
            };
        };
        // Made inside the remote context (even one with baggage alone), so that head sampling
        // follows the caller's decision when the span is created and the span's context (sampled
        // or not) carries the caller's trace state and baggage on.
        let span = if propagation::carries_anything(&remote) {
            let _remote = remote.clone().attach();
            make_span(&req)
        } else {
            make_span(&req)
        };
        // Also when a span of another trace is current where the service runs. The only error
        // is "already entered", impossible for a span made just now.
        let _ = propagation::set_parent_context(&span, remote.clone());
        if let Some(hook) = &self.layer.request_hook {
            let (parts, body) = req.into_parts();
            span.in_scope(|| hook.on_request(&span, &parts));
            req = Request::from_parts(parts, body);
        }
        let inner = {
            let _forward = remote.clone().attach();
            let _entered = span.enter();
            self.inner.call(req)
        };
        ServerResponseFuture {
            inner,
            span,
            remote,
            echo: self.layer.echo_traceparent,
            response_hook: self.layer.response_hook.clone(),
            traceresponse,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ServerService`].
    pub struct ServerResponseFuture<F> {
        #[pin]
        inner: F,
        span: tracing::Span,
        // Attached while polling, so that with tracing off (or on excluded paths) the
        // caller's context still reaches outgoing requests.
        remote: Context,
        echo: bool,
        response_hook: Option<Arc<dyn super::ResponseHook>>,
        // Set when this request may get a `traceresponse` (see propagation/traceresponse.rs).
        traceresponse: Option<crate::propagation::Pending>,
    }
}

impl<F> std::fmt::Debug for ServerResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerResponseFuture")
            .field("span", &self.span)
            .finish()
    }
}

impl<F, B, E> Future for ServerResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Display,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _forward = this.remote.clone().attach();
        let _entered = this.span.enter();
        let inner = this.inner;
        let polled = match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(p) => p,
            Err(panic) => {
                this.span.record("error.type", "panic");
                this.span.record("otel.status_code", "error");
                let message = crate::panic::payload_text(panic.as_ref())
                    .unwrap_or_else(|| "handler panicked".into());
                tracing::error!(target: "tracewire::http", error = %message, "handler panicked");
                resume_unwind(panic);
            }
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        if this.span.is_none() {
            return Poll::Ready(result);
        }
        match result {
            Ok(mut res) => {
                let status = res.status();
                this.span
                    .record("http.response.status_code", i64::from(status.as_u16()));
                if status.is_server_error() {
                    this.span.record("error.type", status.as_str());
                    this.span.record("otel.status_code", "error");
                }
                if let Some(v) = this
                    .traceresponse
                    .as_ref()
                    .and_then(|p| p.header(this.span, status.is_server_error()))
                {
                    res.headers_mut()
                        .insert(crate::propagation::TRACERESPONSE, v);
                }
                if *this.echo
                    && let Some(tp) = propagation::current_traceparent()
                    && let Ok(v) = http::HeaderValue::try_from(tp)
                {
                    res.headers_mut().insert("traceparent", v);
                }
                if let Some(hook) = this.response_hook.as_ref() {
                    let (parts, body) = res.into_parts();
                    this.span.in_scope(|| hook.on_response(this.span, &parts));
                    res = Response::from_parts(parts, body);
                }
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
