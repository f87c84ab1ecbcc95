//! reqwest-middleware: a CLIENT span per request, with the trace context injected.

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use tracing::Instrument as _;
use tracing::field::Empty;

use super::redact_url;
use crate::propagation;

/// A [`reqwest_middleware::Middleware`]: each request gets a CLIENT span `{METHOD}` with the
/// HTTP client semantic conventions, `traceparent`/`tracestate`/`baggage` injected, 4xx and 5xx
/// marked Error, transport errors recorded.
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(tracewire::http::ClientMiddleware::default())
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone, Default)]
pub struct ClientMiddleware {
    request_hook: Option<std::sync::Arc<dyn super::ReqwestRequestHook>>,
    response_hook: Option<std::sync::Arc<dyn super::ReqwestResponseHook>>,
}

impl std::fmt::Debug for ClientMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientMiddleware")
            .field("request_hook", &self.request_hook.is_some())
            .field("response_hook", &self.response_hook.is_some())
            .finish()
    }
}

impl ClientMiddleware {
    /// Calls `hook` with each request's span and the request (see
    /// [`ReqwestRequestHook`](super::ReqwestRequestHook)).
    pub fn with_request_hook(mut self, hook: impl super::ReqwestRequestHook) -> Self {
        self.request_hook = Some(std::sync::Arc::new(hook));
        self
    }

    /// Calls `hook` with each response before the span ends (see
    /// [`ReqwestResponseHook`](super::ReqwestResponseHook)).
    pub fn with_response_hook(mut self, hook: impl super::ReqwestResponseHook) -> Self {
        self.response_hook = Some(std::sync::Arc::new(hook));
        self
    }
}

/// Put it in a request's extensions to send that request without a span or injected headers.
///
/// ```
/// # let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).build();
/// let req = client.get("http://localhost:1/").with_extension(tracewire::http::DisableTracing);
/// # let _ = req;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DisableTracing;

#[async_trait::async_trait]
impl Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        if extensions.get::<DisableTracing>().is_some() {
            return next.run(req, extensions).await;
        }
        let (method, name, original) = super::method_attributes(req.method().as_str());
        let url = req.url();
        let span = tracing::info_span!(
            target: "tracewire::http",
            "HTTP client request",
            otel.name = name,
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method,
            http.request.method_original = original,
            url.full = %redact_url(url.as_str()),
            server.address = url.host_str().unwrap_or(""),
            // As i64, not u16: see the server layer's `server.port`.
            server.port = url.port_or_known_default().map(i64::from),
            http.response.status_code = Empty,
            error.type = Empty,
        );
        // Not `span.context()`: that is empty for a span of an unsampled trace, whose context
        // must go on all the same (and with tracing off, the caller's context is forwarded).
        propagation::inject_context(&propagation::span_context(&span), req.headers_mut());
        if let Some(hook) = &self.request_hook {
            span.in_scope(|| hook.on_request(&span, &req));
        }
        let result = next.run(req, extensions).instrument(span.clone()).await;
        match &result {
            Ok(res) => {
                let status = res.status();
                span.record("http.response.status_code", i64::from(status.as_u16()));
                if status.is_client_error() || status.is_server_error() {
                    span.record("error.type", status.as_str());
                    span.record("otel.status_code", "error");
                }
                // A callee that kept this trace though it was not sampled here says so.
                crate::propagation::read_response(&span, res.headers());
                if let Some(hook) = &self.response_hook {
                    span.in_scope(|| hook.on_response(&span, res));
                }
            }
            Err(e) => {
                let kind = match e {
                    reqwest_middleware::Error::Reqwest(r) if r.is_timeout() => "timeout",
                    reqwest_middleware::Error::Reqwest(r) if r.is_connect() => "connect",
                    _ => "_OTHER",
                };
                span.record("error.type", kind);
                span.record("otel.status_code", "error");
                span.in_scope(
                    || tracing::error!(target: "tracewire::http", error = %e, "request failed"),
                );
            }
        }
        result
    }
}
