//! gRPC (feature `tonic`): tower layers for tonic servers and channels, SERVER and CLIENT spans
//! named `{package.Service}/{Method}` with the RPC semantic conventions as the model has them
//! today: `rpc.system.name = "grpc"`, `rpc.method` fully qualified
//! (`shop.v1.OrderService/GetOrder`), `rpc.status_code` as the code's name (`NOT_FOUND`),
//! `error.type`, `server.address`/`server.port`. With `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup`
//! (`semconv_stability_opt_in`) the spans also carry the names the conventions deprecated, for
//! backends that still read them: `rpc.system`, `rpc.service`, `rpc.grpc.status_code` (the
//! number); `rpc.method` keeps its new, fully qualified value (one attribute cannot hold both).
//!
//! They work on the HTTP/2 requests tonic is made of, so they need no generated code and no
//! tonic version of their own. The gRPC status arrives in the response headers (an error
//! answered at once) or in the trailers at the end of the body (every other call): the response
//! body is wrapped and the span ends when the body ends, so a streaming call's span lasts as
//! long as its stream. Status Error follows the conventions per side: on the server only the
//! codes that mean the server failed (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
//! `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`), on the client every code but `OK`. Trace context
//! travels in the metadata with the same W3C rules and sampling guarantees as HTTP; paths are
//! excluded as `exclude_paths` says (`/grpc.health.v1.Health/*`).
//!
//! A method the server does not have is `rpc.method = "_OTHER"`, the name the client sent in
//! `rpc.method_original` and the span named `grpc`, as the conventions ask: a client cannot
//! fill the metrics with names of its choosing. The server layer knows a method is not there by
//! tonic's answer to it (`UNIMPLEMENTED`, which its router gives every path it does not route),
//! or, with [`GrpcServerLayer::with_methods`], by the list of the methods the server has.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use opentelemetry::Context;
use tracing::field::Empty;

use crate::propagation;

pub use crate::hooks::{RequestHook, ResponseHook};

/// The hooks of a layer; cloned into each service.
#[derive(Clone, Default)]
struct Hooks {
    request: Option<Arc<dyn RequestHook>>,
    response: Option<Arc<dyn ResponseHook>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("request", &self.request.is_some())
            .field("response", &self.response.is_some())
            .finish()
    }
}

/// The gRPC status codes, by number, as the conventions name them for `error.type`.
const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// `/package.Service/Method` → (`package.Service`, `Method`).
fn service_method(path: &str) -> (&str, &str) {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split_once('/').unwrap_or((path, ""))
}

fn status_of(headers: &http::HeaderMap) -> Option<u16> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Server,
    Client,
}

/// The call's method is not one the server has: `_OTHER`, the span named after the system.
fn unrecognized(span: &tracing::Span, method: &str) {
    span.record("rpc.method", "_OTHER");
    span.record("rpc.method_original", method);
    crate::rename_span(span, "grpc");
}

/// `method` (`package.Service/Method`) is in `known` (entries `package.Service/Method`, or
/// `package.Service/*` for all of a service's methods).
fn recognized(known: &[String], method: &str) -> bool {
    known.iter().any(|k| match k.strip_suffix('*') {
        Some(prefix) => method.starts_with(prefix),
        None => k == method,
    })
}

/// The server's `traceresponse` for a call that ended with `code`: in the trailers (or the
/// headers of a trailers-only answer), gRPC's place for what is known at the end.
fn traceresponse(
    pending: Option<&crate::sampling::Pending>,
    span: &tracing::Span,
    code: u16,
) -> Option<http::HeaderValue> {
    let failed = matches!(code, 2 | 4 | 12 | 13 | 14 | 15);
    pending?.header(span, failed)
}

fn method_of(path: Option<&http::uri::PathAndQuery>) -> Option<&str> {
    path.map(|p| p.path().strip_prefix('/').unwrap_or(p.path()))
}

/// Records a status on the span, once; the server marks only its own failures as errors.
fn record_status(span: &tracing::Span, side: Side, code: u16, method: Option<&str>) {
    // tonic's router answers every path it does not route with UNIMPLEMENTED.
    if let (Side::Server, 12, Some(method)) = (side, code, method) {
        unrecognized(span, method);
    }
    let name = CODES.get(usize::from(code)).copied();
    match name {
        Some(name) => span.record("rpc.status_code", name),
        None => span.record("rpc.status_code", code.to_string().as_str()),
    };
    if previous_names() {
        span.record("rpc.grpc.status_code", i64::from(code));
    }
    if code == 0 {
        return;
    }
    let error = match side {
        Side::Client => true,
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
    };
    if error {
        span.record("error.type", name.unwrap_or("_OTHER"));
        span.record("otel.status_code", "error");
    }
}

/// `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup` in the current stack: the deprecated names too.
fn previous_names() -> bool {
    crate::stack::with_stack_info(|s| s.rpc_dup).unwrap_or(false)
}

/// The span of a call: the name and kind are literals per side, so that each side is its own
/// callsite (the metrics layer tells the server's histogram from the client's by it).
macro_rules! rpc_span {
    ($req:expr, $server:expr, $name:literal, $kind:literal) => {{
        let req = $req;
        let (service, _) = service_method(req.uri().path());
        let (address, port): (Option<&str>, Option<i64>) = match ($server, req.uri().authority()) {
            (Some(Target { address, port }), _) => (Some(address), port.map(i64::from)),
            (None, Some(a)) => (Some(a.host()), a.port_u16().map(i64::from)),
            (None, None) => (None, None),
        };
        let full = req.uri().path().strip_prefix('/').unwrap_or(req.uri().path());
        let span = tracing::info_span!(
            target: "tracewire::grpc",
            $name,
            otel.name = full,
            otel.kind = $kind,
            otel.status_code = Empty,
            rpc.system.name = "grpc",
            rpc.method = full,
            rpc.method_original = Empty,
            rpc.status_code = Empty,
            server.address = address,
            server.port = port,
            error.type = Empty,
            rpc.system = Empty,
            rpc.service = Empty,
            rpc.grpc.status_code = Empty,
        );
        if previous_names() {
            span.record("rpc.system", "grpc");
            span.record("rpc.service", service);
        }
        span
    }};
}

fn server_span<B>(req: &Request<B>) -> tracing::Span {
    rpc_span!(req, None::<&Target>, "gRPC request", "server")
}

fn client_span<B>(req: &Request<B>, server: Option<&Target>) -> tracing::Span {
    rpc_span!(req, server, "gRPC client request", "client")
}

/// `server.address` / `server.port` of a client, from the target its channel was made for.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    address: String,
    port: Option<u16>,
}

impl Target {
    /// The conventions' reading of a gRPC target string: `host:port`, a URL
    /// (`http://host:port`), `dns://authority/host:port` give host and port; `unix:///path`
    /// gives the path; anything else is the whole string, without a port.
    fn parse(target: &str) -> Target {
        let host_port = |s: &str| -> Option<Target> {
            let (host, port) = match s.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                    (h.trim_matches(['[', ']']), Some(p.parse::<u16>().ok()?))
                }
                _ => (s, None),
            };
            (!host.is_empty() && !host.contains(['/', ','])).then(|| Target {
                address: host.to_string(),
                port,
            })
        };
        if let Some(path) = target.strip_prefix("unix://") {
            return Target {
                address: path.to_string(),
                port: None,
            };
        }
        let rest = match target.split_once("://") {
            Some(("http" | "https", rest)) => rest.trim_end_matches('/'),
            Some(("dns", rest)) => rest.rsplit_once('/').map_or(rest, |(_, r)| r),
            Some(_) => target,
            None => target,
        };
        host_port(rest).unwrap_or_else(|| Target {
            address: target.to_string(),
            port: None,
        })
    }
}

/// A tower layer for tonic servers (`Server::builder().layer(GrpcServerLayer::new())`): a
/// SERVER span per call, child of the caller's context in the metadata.
///
/// ```
/// let layer = tracewire::grpc::GrpcServerLayer::new()
///     .with_exclude_paths(["/grpc.health.v1.Health/*"]);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Default)]
pub struct GrpcServerLayer {
    exclude: Option<Arc<[String]>>,
    methods: Option<Arc<[String]>>,
    hooks: Hooks,
}

impl GrpcServerLayer {
    /// Paths excluded as the current stack's `exclude_paths` says.
    pub fn new() -> Self {
        GrpcServerLayer::default()
    }

    /// These paths (`/package.Service/Method`, or a prefix ending in `*`) are not traced.
    pub fn with_exclude_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude = Some(paths.into_iter().map(Into::into).collect::<Vec<_>>().into());
        self
    }

    /// The methods this server has (`package.Service/Method`, or `package.Service/*`): a call
    /// to any other is `rpc.method = "_OTHER"` from its start. Without it, a method is taken as
    /// unknown when the server answers `UNIMPLEMENTED`, as tonic does for paths it does not
    /// route.
    ///
    /// ```
    /// let layer = tracewire::grpc::GrpcServerLayer::new()
    ///     .with_methods(["shop.v1.Orders/*", "grpc.health.v1.Health/Check"]);
    /// # let _ = layer;
    /// ```
    pub fn with_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let methods = methods
            .into_iter()
            .map(|m| {
                let m: String = m.into();
                m.strip_prefix('/').map(str::to_string).unwrap_or(m)
            })
            .collect::<Vec<_>>();
        self.methods = Some(methods.into());
        self
    }

    /// Calls `hook` with each traced call's span and request head (see [`RequestHook`]).
    pub fn with_request_hook(mut self, hook: impl RequestHook) -> Self {
        self.hooks.request = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each traced call's response head (see [`ResponseHook`]).
    pub fn with_response_hook(mut self, hook: impl ResponseHook) -> Self {
        self.hooks.response = Some(Arc::new(hook));
        self
    }
}

impl<S> tower::Layer<S> for GrpcServerLayer {
    type Service = GrpcService<S>;
    fn layer(&self, inner: S) -> GrpcService<S> {
        GrpcService {
            inner,
            side: Side::Server,
            exclude: self.exclude.clone(),
            methods: self.methods.clone(),
            hooks: self.hooks.clone(),
            server: None,
        }
    }
}

/// A tower layer for tonic channels
/// (`ServiceBuilder::new().layer(GrpcClientLayer::new()).service(channel)`): a CLIENT span per
/// call, the context injected into the metadata.
///
/// ```
/// let layer = tracewire::grpc::GrpcClientLayer::new();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Default)]
pub struct GrpcClientLayer {
    hooks: Hooks,
    server: Option<Arc<Target>>,
}

impl GrpcClientLayer {
    /// The layer.
    pub fn new() -> Self {
        GrpcClientLayer::default()
    }

    /// The target the channel was made for (`"orders.internal:50051"`,
    /// `"http://orders:50051"`, `"unix:///run/app.sock"`): the spans' `server.address` and
    /// `server.port`, which the conventions require of a gRPC client. Without it they come from
    /// the request's URI, which has no host when the tonic client was made with
    /// `Client::new(channel)` (tonic fills the host in below this layer unless the client was
    /// made `with_origin`).
    ///
    /// ```
    /// let layer = tracewire::grpc::GrpcClientLayer::new().with_server("orders.internal:50051");
    /// # let _ = layer;
    /// ```
    pub fn with_server(mut self, target: &str) -> Self {
        self.server = Some(Arc::new(Target::parse(target)));
        self
    }

    /// Calls `hook` with each call's span and request head, metadata injected (see
    /// [`RequestHook`]).
    pub fn with_request_hook(mut self, hook: impl RequestHook) -> Self {
        self.hooks.request = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with each call's response head (see [`ResponseHook`]).
    pub fn with_response_hook(mut self, hook: impl ResponseHook) -> Self {
        self.hooks.response = Some(Arc::new(hook));
        self
    }
}

impl<S> tower::Layer<S> for GrpcClientLayer {
    type Service = GrpcService<S>;
    fn layer(&self, inner: S) -> GrpcService<S> {
        GrpcService {
            inner,
            side: Side::Client,
            exclude: None,
            methods: None,
            hooks: self.hooks.clone(),
            server: self.server.clone(),
        }
    }
}

/// The service [`GrpcServerLayer`] and [`GrpcClientLayer`] produce.
#[derive(Debug, Clone)]
pub struct GrpcService<S> {
    inner: S,
    side: Side,
    exclude: Option<Arc<[String]>>,
    /// The server's methods, when the user listed them.
    methods: Option<Arc<[String]>>,
    hooks: Hooks,
    /// The client's configured target.
    server: Option<Arc<Target>>,
}

impl std::fmt::Debug for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Server => "server",
            Side::Client => "client",
        })
    }
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for GrpcService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<GrpcBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match self.side {
            Side::Server => {
                let remote = propagation::extract(req.headers());
                let begin = |d: &Arc<crate::sampling::Deferred>| {
                    d.begin(&remote, || req.headers().contains_key("traceparent"))
                };
                let Some(traceresponse) =
                    crate::stack::server_request(self.exclude.as_deref(), req.uri().path(), begin)
                else {
                    let _forward = remote.clone().attach();
                    return GrpcFuture {
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
                GrpcFuture {
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
                GrpcFuture {
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
    /// The response future of [`GrpcService`].
    pub struct GrpcFuture<F> {
        #[pin]
        inner: F,
        span: Option<tracing::Span>,
        side: Side,
        // The server's call path, kept until its status says whether the server has the method
        // (a cheap clone: the request's own bytes).
        path: Option<http::uri::PathAndQuery>,
        remote: Context,
        response_hook: Option<Arc<dyn ResponseHook>>,
        // Set when the server's answer may carry a `traceresponse` (sampling/deferred.rs).
        traceresponse: Option<crate::sampling::Pending>,
    }
}

impl<F> std::fmt::Debug for GrpcFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcFuture")
            .field("span", &self.span)
            .finish()
    }
}

impl<F, B, E> Future for GrpcFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<GrpcBody<B>>, E>;

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
                        parts.headers.insert(crate::sampling::TRACERESPONSE, v);
                    }
                }
                if let (Side::Client, Some(s)) = (side, span.as_ref()) {
                    crate::sampling::read_response(s, &parts.headers);
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
                    GrpcBody {
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
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        span: Option<tracing::Span>,
        side: Side,
        path: Option<http::uri::PathAndQuery>,
        traceresponse: Option<crate::sampling::Pending>,
    }
}

impl<B> std::fmt::Debug for GrpcBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcBody")
            .field("span", &self.span)
            .finish()
    }
}

impl<B: http_body::Body> http_body::Body for GrpcBody<B> {
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
                                trailers.insert(crate::sampling::TRACERESPONSE, v);
                            }
                        }
                        Side::Client => crate::sampling::read_response(span, trailers),
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

#[cfg(test)]
mod method_tests {
    #[test]
    fn listed_methods_and_whole_services_are_recognized() {
        let known = ["shop.v1.Orders/*".to_string(), "h.Health/Check".to_string()];
        assert!(super::recognized(&known, "shop.v1.Orders/Get"));
        assert!(super::recognized(&known, "h.Health/Check"));
        assert!(!super::recognized(&known, "h.Health/Watch"));
        assert!(!super::recognized(&known, "shop.v1.OrdersX/Get"));
    }
}

#[cfg(test)]
mod target_tests {
    use super::Target;

    #[test]
    fn targets_read_as_the_conventions_say() {
        let t = |s: &str| {
            let t = Target::parse(s);
            (t.address, t.port)
        };
        assert_eq!(t("grpc.io:50051"), ("grpc.io".into(), Some(50051)));
        assert_eq!(t("http://orders:50051"), ("orders".into(), Some(50051)));
        assert_eq!(
            t("dns://1.2.3.4/grpc.io:50051"),
            ("grpc.io".into(), Some(50051))
        );
        assert_eq!(
            t("unix:///run/containerd/containerd.sock"),
            ("/run/containerd/containerd.sock".into(), None)
        );
        assert_eq!(
            t("zk://zookeeper:2181/my-server"),
            ("zk://zookeeper:2181/my-server".into(), None)
        );
        assert_eq!(
            t("ipv4:198.51.100.123:50051,198.51.100.124:50051"),
            (
                "ipv4:198.51.100.123:50051,198.51.100.124:50051".into(),
                None
            )
        );
        assert_eq!(t("orders"), ("orders".into(), None));
    }
}
