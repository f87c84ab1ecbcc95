//! Hooks: your callbacks that see a request's span and the request (or the response), to add
//! attributes or rename the span — the seeds' `server_request_hook`, `client_request_hook` and
//! `client_response_hook`, in tower-http's style (a trait, implemented for closures).
//!
//! A hook runs inside the span (events it logs belong to the request). Attributes the span did
//! not declare go on with `tracing_opentelemetry::OpenTelemetrySpanExt::set_attribute` (on a
//! sampled span; an unsampled span records nothing); [`rename_span`](crate::rename_span)
//! renames it.
//! Without a hook nothing is called and nothing is copied.

/// Called when the server span is made, with the request's head.
///
/// ```
/// use tracing_opentelemetry::OpenTelemetrySpanExt as _;
/// let layer = tracewire::http::ServerLayer::new().with_request_hook(
///     |span: &tracing::Span, req: &http::request::Parts| {
///         if let Some(tenant) = req.headers.get("x-tenant").and_then(|v| v.to_str().ok()) {
///             span.set_attribute("tenant.id", tenant.to_string());
///         }
///     },
/// );
/// # let _ = layer;
/// ```
#[cfg(feature = "http-server")]
pub trait ServerRequestHook: Send + Sync + 'static {
    /// Sees the span and the request head.
    fn on_request(&self, span: &tracing::Span, request: &http::request::Parts);
}

#[cfg(feature = "http-server")]
impl<F> ServerRequestHook for F
where
    F: Fn(&tracing::Span, &http::request::Parts) + Send + Sync + 'static,
{
    fn on_request(&self, span: &tracing::Span, request: &http::request::Parts) {
        self(span, request)
    }
}

/// Called when the handler's response is ready, with its head, before the span ends.
///
/// ```
/// let layer = tracewire::http::ServerLayer::new().with_response_hook(
///     |span: &tracing::Span, res: &http::response::Parts| {
///         if res.status == http::StatusCode::TOO_MANY_REQUESTS {
///             span.record("otel.status_code", "error");
///         }
///     },
/// );
/// # let _ = layer;
/// ```
#[cfg(feature = "http-server")]
pub trait ServerResponseHook: Send + Sync + 'static {
    /// Sees the span and the response head.
    fn on_response(&self, span: &tracing::Span, response: &http::response::Parts);
}

#[cfg(feature = "http-server")]
impl<F> ServerResponseHook for F
where
    F: Fn(&tracing::Span, &http::response::Parts) + Send + Sync + 'static,
{
    fn on_response(&self, span: &tracing::Span, response: &http::response::Parts) {
        self(span, response)
    }
}

/// Called when the client span is made, with the request about to be sent (headers injected).
///
/// ```
/// let middleware = tracewire::http::ClientMiddleware::default().with_request_hook(
///     |span: &tracing::Span, req: &reqwest::Request| {
///         if req.url().path().starts_with("/admin") {
///             tracewire::rename_span(span, "admin call");
///         }
///     },
/// );
/// # let _ = middleware;
/// ```
#[cfg(feature = "reqwest")]
pub trait ClientRequestHook: Send + Sync + 'static {
    /// Sees the span and the request.
    fn on_request(&self, span: &tracing::Span, request: &reqwest::Request);
}

#[cfg(feature = "reqwest")]
impl<F> ClientRequestHook for F
where
    F: Fn(&tracing::Span, &reqwest::Request) + Send + Sync + 'static,
{
    fn on_request(&self, span: &tracing::Span, request: &reqwest::Request) {
        self(span, request)
    }
}

/// Called with the response (its status and headers; the body is not read), before the span
/// ends.
///
/// ```
/// use tracing_opentelemetry::OpenTelemetrySpanExt as _;
/// let middleware = tracewire::http::ClientMiddleware::default().with_response_hook(
///     |span: &tracing::Span, res: &reqwest::Response| {
///         if let Some(id) = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()) {
///             span.set_attribute("peer.request_id", id.to_string());
///         }
///     },
/// );
/// # let _ = middleware;
/// ```
#[cfg(feature = "reqwest")]
pub trait ClientResponseHook: Send + Sync + 'static {
    /// Sees the span and the response.
    fn on_response(&self, span: &tracing::Span, response: &reqwest::Response);
}

#[cfg(feature = "reqwest")]
impl<F> ClientResponseHook for F
where
    F: Fn(&tracing::Span, &reqwest::Response) + Send + Sync + 'static,
{
    fn on_response(&self, span: &tracing::Span, response: &reqwest::Response) {
        self(span, response)
    }
}
