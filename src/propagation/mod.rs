//! Carrying a trace across process boundaries: W3C Trace Context and W3C Baggage.
//!
//! ```
//! use std::collections::HashMap;
//!
//! let guard = tracewire::builder().without_settings_file()
//!     .with_env([("OTEL_TRACES_EXPORTER", "none")])
//!     .with_log_writer(std::io::sink())
//!     .set_default()?;
//!
//! // Service A: put the current context into outgoing headers.
//! let mut headers = HashMap::new();
//! tracing::info_span!("call_b").in_scope(|| tracewire::propagation::inject(&mut headers));
//!
//! // Service B: continue the trace from incoming headers, before entering the span.
//! let span = tracing::info_span!("handle");
//! assert!(tracewire::propagation::set_parent(&span, &headers)?);
//! let theirs = headers["traceparent"][3..35].to_string();
//! span.in_scope(|| assert_eq!(tracewire::propagation::current_trace_id(), Some(theirs)));
//! # guard.shutdown()?;
//! # Ok::<(), tracewire::Error>(())
//! ```
//!
//! tracewire parses `traceparent`/`tracestate` itself rather than with the upstream
//! propagator, following W3C Trace Context Level 2 (the current editor's draft): a repeated
//! `traceparent` is invalid, repeated `tracestate` headers are joined, uppercase hex and all-zero
//! ids are invalid, version `ff` is invalid and higher versions are read by their first fields,
//! the sampled and random flags are kept (new traces set the random flag: their ids are random),
//! `tracestate` keys follow Level 2's grammar (`@` anywhere after the first character), at most
//! 32 members, a repeated key keeps its first member, and lists over 8192 characters are
//! truncated as the spec describes. An invalid `traceparent` starts a new trace and drops
//! `tracestate`. Baggage values are percent-decoded, properties kept, invalid members skipped,
//! and at most 64 members / 8192 bytes are taken or sent.
//!
//! Every trace goes on whatever was decided about recording it: a span of an unsampled trace
//! injects its trace id flagged not sampled ([`span_context`]), baggage goes on without a
//! `traceparent`, and with tracing off the caller's context is forwarded unchanged.
//!
//! Which formats are read and written follows `propagators` / `OTEL_PROPAGATORS` of the stack
//! current where the call is made (every format outside a tracewire stack).

mod baggage;
mod carrier;
mod trace_context;

use opentelemetry::baggage::{BaggageExt as _, BaggageMetadata, KeyValueMetadata};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, propagation::text_map_propagator::FieldIter};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub use carrier::{Extract, Inject};

use crate::error::{Error, ErrorKind, Result};

const TRACE_CONTEXT: u8 = 1;
const BAGGAGE: u8 = 2;

/// The format bits of a `propagators` setting.
pub(crate) fn format_bits(names: &[String]) -> u8 {
    names.iter().fold(0, |bits, n| match n.as_str() {
        "tracecontext" => bits | TRACE_CONTEXT,
        "baggage" => bits | BAGGAGE,
        _ => bits,
    })
}

/// Whether a format is active: the current tracewire stack's `propagators`; both outside one.
fn active(bit: u8) -> bool {
    crate::stack::with_stack_info(|s| s.propagators).unwrap_or(TRACE_CONTEXT | BAGGAGE) & bit != 0
}

/// The context carried by `carrier`: a remote span context when a valid `traceparent` is
/// present, and its baggage. Never fails: invalid input yields an empty context (a new trace).
///
/// ```
/// use opentelemetry::trace::TraceContextExt as _;
/// let headers = vec![(
///     "traceparent".to_string(),
///     b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
/// )];
/// let cx = tracewire::propagation::extract(&headers);
/// assert!(cx.span().span_context().is_remote());
/// ```
pub fn extract<C: Extract + ?Sized>(carrier: &C) -> Context {
    extract_into(Context::new(), carrier)
}

fn extract_into<C: Extract + ?Sized>(mut cx: Context, carrier: &C) -> Context {
    if active(TRACE_CONTEXT) {
        let parents = carrier.get_all(trace_context::TRACEPARENT);
        let states = carrier.get_all(trace_context::TRACESTATE);
        if let Some((sc, received)) = trace_context::extract(&parents, &states) {
            cx = cx.with_remote_span_context(sc);
            if let Some(r) = received {
                cx = cx.with_value(r);
            }
        }
    }
    if active(BAGGAGE) {
        let entries = baggage::parse(&carrier.get_all(baggage::BAGGAGE));
        if !entries.is_empty() {
            cx =
                cx.with_baggage(entries.into_iter().map(|(k, v, m)| {
                    KeyValueMetadata::new(k, v, BaggageMetadata::from(m.as_str()))
                }));
        }
    }
    cx
}

/// Whether an extracted context holds a remote span or baggage: something to continue.
pub(crate) fn carries_anything(cx: &Context) -> bool {
    cx.span().span_context().is_valid() || !cx.baggage().is_empty()
}

/// Writes `cx` into `carrier`: `traceparent`, `tracestate`, `baggage`.
///
/// ```
/// use std::collections::HashMap;
/// let mut headers: HashMap<String, String> = HashMap::new();
/// tracewire::propagation::inject_context(&opentelemetry::Context::new(), &mut headers);
/// assert!(headers.is_empty(), "nothing to propagate outside a trace");
/// ```
pub fn inject_context<C: Inject + ?Sized>(cx: &Context, carrier: &mut C) {
    if active(TRACE_CONTEXT) {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            carrier.set(trace_context::TRACEPARENT, trace_context::traceparent(sc));
            let state = match cx.get::<trace_context::Received>() {
                // The list as received, while the span's state is what was made of it.
                Some(r) if r.trace_id == sc.trace_id() && r.held == *sc.trace_state() => {
                    r.header.clone()
                }
                _ => sc.trace_state().header(),
            };
            if !state.is_empty() {
                carrier.set(trace_context::TRACESTATE, state);
            }
        }
    }
    if active(BAGGAGE) {
        let b = cx.baggage();
        let entries = b
            .iter()
            .map(|(k, (v, m))| (k.as_str(), v.as_str(), m.as_str()));
        if let Some(h) = baggage::header(entries) {
            carrier.set(baggage::BAGGAGE, h);
        }
    }
}

/// Writes the current span's context into `carrier`.
///
/// ```
/// use std::collections::HashMap;
/// # let g = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
/// #     .with_log_writer(std::io::sink()).set_default()?;
/// let mut headers = HashMap::new();
/// tracing::info_span!("publish").in_scope(|| tracewire::propagation::inject(&mut headers));
/// assert!(headers.contains_key("traceparent"));
/// # Ok::<(), tracewire::Error>(())
/// ```
pub fn inject<C: Inject + ?Sized>(carrier: &mut C) {
    inject_context(&current_context(), carrier);
}

/// The OpenTelemetry context of the current `tracing` span, or the active context when no
/// span is entered (e.g. an incoming context forwarded while tracing is disabled).
///
/// ```
/// use opentelemetry::trace::TraceContextExt as _;
/// assert!(!tracewire::propagation::current_context().span().span_context().is_valid());
/// ```
pub fn current_context() -> Context {
    span_context(&tracing::Span::current())
}

/// The context that `span` carries downstream, whatever was decided about recording it.
///
/// A span of an unsampled trace has no OpenTelemetry data of its own (the head-sampling gate
/// kept it from tracing-opentelemetry, so `OpenTelemetrySpanExt::context()` is empty), yet its
/// trace must go on: its marker holds the context. A span that no OpenTelemetry layer sees
/// (tracing off, or filtered out) forwards the active context, which is the caller's.
///
/// ```
/// use opentelemetry::trace::TraceContextExt as _;
/// # let g = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
/// #     .with_sampling_rate(0.0).with_log_writer(std::io::sink()).set_default()?;
/// // Not sampled at rate 0, still in a trace that goes on downstream.
/// let span = tracing::info_span!("call");
/// let cx = tracewire::propagation::span_context(&span);
/// assert!(cx.span().span_context().is_valid());
/// assert!(!cx.span().span_context().is_sampled());
/// # Ok::<(), tracewire::Error>(())
/// ```
pub fn span_context(span: &tracing::Span) -> Context {
    if !span.is_none() {
        if let Some(cx) = crate::sampling::context_of(span) {
            return cx;
        }
        let cx = span.context();
        if cx.span().span_context().is_valid() {
            return cx;
        }
    }
    Context::current()
}

/// The `traceparent` of the current span, for error bodies and log correlation.
///
/// ```
/// # let g = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
/// #     .with_log_writer(std::io::sink()).set_default()?;
/// let tp = tracing::info_span!("req").in_scope(tracewire::propagation::current_traceparent).unwrap();
/// assert!(tp.starts_with("00-") && tp.len() == 55);
/// # Ok::<(), tracewire::Error>(())
/// ```
pub fn current_traceparent() -> Option<String> {
    let cx = current_context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| trace_context::traceparent(sc))
}

/// Makes `span` a child of the context in `carrier`. Call it before the span is first
/// entered. `Ok(true)`: the remote parent is attached; `Ok(false)`: the carrier holds no valid
/// parent, and the span starts a new trace, as the specification says it must.
///
/// An error (kind [`ErrorKind::Propagation`]) when the span was already entered, or no
/// OpenTelemetry layer is installed, rather than a silent new trace.
///
/// ```
/// # let g = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
/// #     .with_log_writer(std::io::sink()).set_default()?;
/// let garbage = vec![("traceparent".to_string(), b"garbage".to_vec())];
/// let span = tracing::info_span!("consume");
/// assert!(!tracewire::propagation::set_parent(&span, &garbage)?, "a new trace");
///
/// let valid = vec![(
///     "traceparent".to_string(),
///     b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
/// )];
/// let _entered = span.enter();
/// assert!(tracewire::propagation::set_parent(&span, &valid).is_err(), "too late");
/// # Ok::<(), tracewire::Error>(())
/// ```
pub fn set_parent<C: Extract + ?Sized>(span: &tracing::Span, carrier: &C) -> Result<bool> {
    set_parent_context(span, extract(carrier))
}

/// Says once per process that a sampled remote parent came too late for a span.
fn warn_late_parent(span: &tracing::Span) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            target: "tracewire",
            span = span.metadata().map(|m| m.name()).unwrap_or("?"),
            "a span that sampling_rate had dropped when it was created got a sampled remote parent; it is not exported. Create the span inside the extracted context (`let _cx = tracewire::propagation::extract(&headers).attach();` before the span) so the parent decides"
        );
    }
}

/// [`set_parent`] with a context already extracted.
///
/// ```
/// # let g = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
/// #     .with_log_writer(std::io::sink()).set_default()?;
/// let span = tracing::info_span!("job");
/// assert!(!tracewire::propagation::set_parent_context(&span, opentelemetry::Context::new())?);
/// # Ok::<(), tracewire::Error>(())
/// ```
pub fn set_parent_context(span: &tracing::Span, cx: Context) -> Result<bool> {
    if span.is_disabled() {
        return Ok(false);
    }
    let has_parent = cx.span().span_context().is_valid();
    if !has_parent && cx.baggage().is_empty() {
        return Ok(false);
    }
    let sampled = cx.span().span_context().is_sampled();
    if crate::sampling::remark(span, &cx) {
        // The span's trace was dropped when it was created, before this parent was known:
        // it stays unrecorded, but carries the caller's trace id (or just its baggage) on.
        if has_parent && sampled {
            warn_late_parent(span);
        }
        return Ok(has_parent);
    }
    span.set_parent(cx).map_err(|e| {
        Error::new(
            ErrorKind::Propagation,
            format!("cannot attach the remote parent to span `{}`: {e}; call set_parent before the span is first entered", span.metadata().map(|m| m.name()).unwrap_or("?")),
        )
    })?;
    Ok(has_parent)
}

/// tracewire's conformant W3C propagator as an OpenTelemetry [`TextMapPropagator`], installed
/// globally by `init()`, so code that uses `opentelemetry::global::get_text_map_propagator`
/// gets the same behaviour.
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator as _;
/// use std::collections::HashMap;
/// let p = tracewire::propagation::W3cPropagator::default();
/// let mut h = HashMap::new();
/// h.insert("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string());
/// let cx = p.extract(&h);
/// let mut out = HashMap::new();
/// p.inject_context(&cx, &mut out);
/// assert_eq!(out["traceparent"], h["traceparent"]);
/// ```
#[derive(Debug, Default)]
pub struct W3cPropagator {
    _private: (),
}

struct OtelExtractor<'a>(&'a dyn Extractor);

impl Extract for OtelExtractor<'_> {
    fn get_all(&self, name: &str) -> Vec<&str> {
        self.0.get_all(name).unwrap_or_default()
    }
}

struct OtelInjector<'a>(&'a mut dyn Injector);

impl Inject for OtelInjector<'_> {
    fn set(&mut self, name: &str, value: String) {
        self.0.set(name, value);
    }
}

static FIELDS: std::sync::LazyLock<[String; 3]> = std::sync::LazyLock::new(|| {
    [
        trace_context::TRACEPARENT,
        trace_context::TRACESTATE,
        baggage::BAGGAGE,
    ]
    .map(String::from)
});

impl TextMapPropagator for W3cPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        inject_context(cx, &mut OtelInjector(injector));
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        extract_into(cx.clone(), &OtelExtractor(extractor))
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&*FIELDS)
    }
}

/// The trace id of the current span, as 32 lowercase hex digits, when it has one.
///
/// ```
/// assert_eq!(tracewire::propagation::current_trace_id(), None); // outside any span
/// ```
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    opentelemetry::Context::map_current(|cx| {
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| sc.trace_id().to_string())
    })
}
