//! What a stack does at a service's boundary, travelling with the dispatcher instead of living in
//! process globals: the propagation formats it reads and writes, the paths its server layers do
//! not trace, what it answers with `traceresponse`, and which RPC names its spans carry. The stack
//! adds a [`Boundary`] layer; the integrations and this module find it in the current dispatcher
//! (so `set_default()`, the test kit and a `ServerLayer` built before the stack all honour it).

use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;

use super::{Formats, Pending, TraceResponse};

/// The boundary settings of one stack (a layer that records nothing).
pub(crate) struct Boundary {
    /// The configured propagation formats, in order.
    pub(crate) formats: Formats,
    /// Propagators plugged in with `Builder::with_propagator`, run after the formats.
    pub(crate) plugged: Arc<[Arc<dyn TextMapPropagator + Send + Sync>]>,
    #[cfg_attr(
        not(any(feature = "http-server", feature = "tonic", feature = "actix-web")),
        allow(dead_code)
    )]
    pub(crate) exclude_paths: Arc<[String]>,
    /// `OTEL_SEMCONV_STABILITY_OPT_IN` holds `rpc/dup`: gRPC spans carry the previous names too.
    #[cfg_attr(not(feature = "tonic"), allow(dead_code))]
    pub(crate) rpc_dup: bool,
    /// What `traceresponse` does in this stack (`None` with tracing off).
    pub(crate) traceresponse: Option<Arc<TraceResponse>>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Boundary {}

/// `f` of the current stack's [`Boundary`], `None` outside a tracewire stack.
pub(crate) fn with_boundary<R>(f: impl FnOnce(&Boundary) -> R) -> Option<R> {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<Boundary>()
            .and_then(|b| f.take().map(|f| f(b)))
    })
}

/// For a server layer's request: `None` when `path` is excluded (by `list`, an exact path or a
/// prefix ending in `*`, when the integration was given one, else by the current stack's
/// `exclude_paths`), else what `begin` makes of this stack's `traceresponse` settings (see
/// `TraceResponse::begin`); one look at the stack for both.
#[cfg_attr(
    not(any(feature = "http-server", feature = "tonic", feature = "actix-web")),
    allow(dead_code)
)]
pub(crate) fn server_request(
    list: Option<&[String]>,
    path: &str,
    begin: impl FnOnce(&Arc<TraceResponse>) -> Option<Pending>,
) -> Option<Option<Pending>> {
    let matches = |list: &[String]| {
        list.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => p == path,
        })
    };
    with_boundary(|b| {
        (!matches(list.unwrap_or(&b.exclude_paths)))
            .then(|| b.traceresponse.as_ref().and_then(begin))
    })
    .unwrap_or_else(|| (!list.is_some_and(matches)).then_some(None))
}

/// [`TraceResponse::callee_answered`] for the current stack, from a response's headers (or trailers).
#[cfg_attr(
    not(any(feature = "http-client", feature = "reqwest", feature = "tonic")),
    allow(dead_code)
)]
pub(crate) fn read_response(span: &tracing::Span, headers: &http::HeaderMap) {
    if span.is_none() {
        return;
    }
    let Some(value) = headers
        .get(super::TRACERESPONSE)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    with_boundary(|b| {
        if let Some(d) = &b.traceresponse {
            d.callee_answered(span, value);
        }
    });
}
