//! actix-web middleware (feature `actix-web`): what [`ServerLayer`](super::ServerLayer) does for
//! tower servers, for actix-web 4, whose requests a tower layer cannot see. Each request gets a
//! SERVER span `{METHOD} {route}` (actix's route template, `/orders/{id}`), child of the
//! caller's context in every configured propagation format, created inside it so that head
//! sampling follows the caller; the stable HTTP server conventions; 5xx and errors Error;
//! excluded paths (`exclude_paths`) get no span but forward the caller's context; the HTTP
//! server metrics count every request at any sampling rate.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use opentelemetry::context::FutureExt as _;
use tracing::Instrument as _;
use tracing::field::Empty;

use super::redact_query;
use crate::propagation::{self, Extract};

type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Sees each request's span and the request, inside the span (actix-web's request type is not
/// `http`'s, so these hooks are its own).
pub trait ActixRequestHook: 'static {
    /// Sees the span and the request.
    fn on_request(&self, span: &tracing::Span, request: &ServiceRequest);
}

impl<F> ActixRequestHook for F
where
    F: Fn(&tracing::Span, &ServiceRequest) + 'static,
{
    fn on_request(&self, span: &tracing::Span, request: &ServiceRequest) {
        self(span, request)
    }
}

/// The middleware: `App::new().wrap(tracewire::http::ActixMiddleware::new())`.
///
/// ```
/// let app = actix_web::App::new()
///     .wrap(tracewire::http::ActixMiddleware::new().with_exclude_paths(["/health"]))
///     .route("/orders/{id}", actix_web::web::get().to(|| async { "ok" }));
/// # let _ = app;
/// ```
#[derive(Clone, Default)]
pub struct ActixMiddleware {
    exclude: Option<Arc<[String]>>,
    request_hook: Option<Rc<dyn ActixRequestHook>>,
}

impl std::fmt::Debug for ActixMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActixMiddleware")
            .field("exclude", &self.exclude)
            .field("request_hook", &self.request_hook.is_some())
            .finish()
    }
}

impl ActixMiddleware {
    /// The middleware, with the current stack's `exclude_paths`.
    pub fn new() -> Self {
        ActixMiddleware::default()
    }

    /// Paths that get no span (exact, or a prefix ending in `*`), instead of `exclude_paths`.
    pub fn with_exclude_paths<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.exclude = Some(paths.into_iter().map(Into::into).collect());
        self
    }

    /// Calls `hook` with each traced request's span and the request.
    pub fn with_request_hook(mut self, hook: impl ActixRequestHook) -> Self {
        self.request_hook = Some(Rc::new(hook));
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for ActixMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = ActixService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ActixService {
            inner: Rc::new(service),
            config: self.clone(),
        }))
    }
}

/// The service [`ActixMiddleware`] makes.
pub struct ActixService<S> {
    inner: Rc<S>,
    config: ActixMiddleware,
}

impl<S> std::fmt::Debug for ActixService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActixService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// actix-web's headers as a carrier.
struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extract for Headers<'_> {
    fn get_all(&self, name: &str) -> Vec<&str> {
        self.0
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

fn make_span(req: &ServiceRequest) -> tracing::Span {
    let (method, name_method, original) = super::method_attributes(req.method().as_str());
    let route = req.match_pattern();
    let name = match &route {
        Some(r) => format!("{name_method} {r}"),
        None => name_method.to_string(),
    };
    let info = req.connection_info().clone();
    let host = info.host();
    let (address, port) = host
        .rsplit_once(':')
        .map_or((host, None), |(a, p)| (a, p.parse::<u16>().ok()));
    let span = tracing::info_span!(
        target: "tracewire::http",
        "HTTP request",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method,
        http.request.method_original = original,
        http.route = route.as_deref(),
        url.path = %req.path(),
        url.scheme = info.scheme(),
        url.query = Empty,
        server.address = address,
        server.port = port.map(i64::from),
        client.address = Empty,
        user_agent.original = Empty,
        network.protocol.version = protocol_version(req.version()),
        http.response.status_code = Empty,
        error.type = Empty,
    );
    if !req.query_string().is_empty() {
        span.record("url.query", redact_query(req.query_string()).as_ref());
    }
    if let Some(ua) = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
    {
        span.record("user_agent.original", ua);
    }
    if let Some(peer) = req.peer_addr() {
        span.record("client.address", peer.ip().to_string().as_str());
    }
    span
}

fn protocol_version(v: actix_web::http::Version) -> &'static str {
    use actix_web::http::Version;
    match v {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

impl<S, B> Service<ServiceRequest> for ActixService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let remote = propagation::extract(&Headers(req.headers()));
        let begin = |d: &std::sync::Arc<crate::propagation::TraceResponse>| {
            d.begin(&remote, || req.headers().contains_key("traceparent"))
        };
        let Some(traceresponse) =
            crate::propagation::server_request(self.config.exclude.as_deref(), req.path(), begin)
        else {
            let fut = {
                let _forward = remote.clone().attach();
                self.inner.call(req)
            };
            return Box::pin(fut.with_context(remote));
        };
        // Inside the remote context, so that head sampling follows the caller.
        let span = if propagation::carries_anything(&remote) {
            let _remote = remote.clone().attach();
            make_span(&req)
        } else {
            make_span(&req)
        };
        let _ = propagation::set_parent_context(&span, remote.clone());
        if let Some(hook) = &self.config.request_hook {
            span.in_scope(|| hook.on_request(&span, &req));
        }
        let fut = {
            let _forward = remote.clone().attach();
            let _entered = span.enter();
            self.inner.call(req)
        };
        let traced = span.clone();
        Box::pin(
            async move {
                let mut result = fut.await;
                match &mut result {
                    Ok(res) => {
                        let status = res.status();
                        traced.record("http.response.status_code", i64::from(status.as_u16()));
                        if status.is_server_error() {
                            traced.record("error.type", status.as_str());
                            traced.record("otel.status_code", "error");
                        }
                        if let Some(v) = traceresponse
                            .as_ref()
                            .and_then(|p| p.value(&traced, status.is_server_error()))
                            && let Ok(v) = actix_web::http::header::HeaderValue::from_str(&v)
                        {
                            res.headers_mut().insert(
                                actix_web::http::header::HeaderName::from_static(
                                    crate::propagation::TRACERESPONSE,
                                ),
                                v,
                            );
                        }
                    }
                    Err(e) => {
                        let status = e.as_response_error().status_code();
                        traced.record("http.response.status_code", i64::from(status.as_u16()));
                        if status.is_server_error() {
                            traced.record("error.type", status.as_str());
                            traced.record("otel.status_code", "error");
                            tracing::error!(target: "tracewire::http", error = %e, "request failed");
                        }
                    }
                }
                result
            }
            .instrument(span)
            .with_context(remote),
        )
    }
}
