//! The one family of hooks for the integrations that see `http` requests: your callbacks that
//! see a call's span and the request head (or the response head), to add attributes or rename
//! the span, in tower-http's style (a trait, implemented for closures). The HTTP server layer,
//! the tower HTTP client layer and the gRPC layers all take these; each module re-exports them
//! (`http::RequestHook` is the same trait as `grpc::RequestHook`).
//!
//! A hook runs inside the span (events it logs belong to the call). Attributes the span did not
//! declare go on with `tracing_opentelemetry::OpenTelemetrySpanExt::set_attribute` (on a sampled
//! span; an unsampled span records nothing); [`rename_span`](crate::rename_span) renames it.
//! Without a hook nothing is called and nothing is copied.

/// Called when a call's span is made, with the request head (trace context already injected
/// on the client side).
///
/// ```
/// use tracewire::tracing_opentelemetry::OpenTelemetrySpanExt as _;
/// fn tenant(span: &tracing::Span, req: &http::request::Parts) {
///     if let Some(t) = req.headers.get("x-tenant").and_then(|v| v.to_str().ok()) {
///         span.set_attribute("tenant.id", t.to_string());
///     }
/// }
/// # #[cfg(feature = "tonic")]
/// let layer = tracewire::grpc::ServerLayer::new().with_request_hook(tenant);
/// ```
pub trait RequestHook: Send + Sync + 'static {
    /// Sees the span and the request head.
    fn on_request(&self, span: &tracing::Span, request: &http::request::Parts);
}

impl<F> RequestHook for F
where
    F: Fn(&tracing::Span, &http::request::Parts) + Send + Sync + 'static,
{
    fn on_request(&self, span: &tracing::Span, request: &http::request::Parts) {
        self(span, request)
    }
}

/// Called with the response head, before the span ends (for gRPC: when the head arrives; the
/// status of most calls comes later, in the trailers, and is recorded by the layer).
pub trait ResponseHook: Send + Sync + 'static {
    /// Sees the span and the response head.
    fn on_response(&self, span: &tracing::Span, response: &http::response::Parts);
}

impl<F> ResponseHook for F
where
    F: Fn(&tracing::Span, &http::response::Parts) + Send + Sync + 'static,
{
    fn on_response(&self, span: &tracing::Span, response: &http::response::Parts) {
        self(span, response)
    }
}
