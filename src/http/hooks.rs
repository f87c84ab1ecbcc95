//! Hooks: your callbacks that see a request's span and the request (or the response), to add
//! attributes or rename the span, in tower-http's style (a trait, implemented for closures).
//! One family, named by what the hook sees: [`RequestHook`] / [`ResponseHook`] on `http`'s
//! heads (`ServerLayer`, the tower `ClientLayer`, and the gRPC layers), [`ReqwestRequestHook`] /
//! [`ReqwestResponseHook`] on reqwest's types (`ClientMiddleware`), `ActixRequestHook` on
//! actix-web's.
//!
//! A hook runs inside the span (events it logs belong to the request). Attributes the span did
//! not declare go on with `tracing_opentelemetry::OpenTelemetrySpanExt::set_attribute` (on a
//! sampled span; an unsampled span records nothing); [`rename_span`](crate::rename_span)
//! renames it.
//! Without a hook nothing is called and nothing is copied.

#[cfg(any(feature = "http-server", feature = "http-client"))]
pub use crate::hooks::{RequestHook, ResponseHook};

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
pub trait ReqwestRequestHook: Send + Sync + 'static {
    /// Sees the span and the request.
    fn on_request(&self, span: &tracing::Span, request: &reqwest::Request);
}

#[cfg(feature = "reqwest")]
impl<F> ReqwestRequestHook for F
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
pub trait ReqwestResponseHook: Send + Sync + 'static {
    /// Sees the span and the response.
    fn on_response(&self, span: &tracing::Span, response: &reqwest::Response);
}

#[cfg(feature = "reqwest")]
impl<F> ReqwestResponseHook for F
where
    F: Fn(&tracing::Span, &reqwest::Response) + Send + Sync + 'static,
{
    fn on_response(&self, span: &tracing::Span, response: &reqwest::Response) {
        self(span, response)
    }
}
