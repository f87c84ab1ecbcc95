//! Carrying a trace across process boundaries: W3C Trace Context and W3C Baggage, and the
//! formats other services in a fleet speak: Zipkin's B3 (single `b3` header or `X-B3-*`),
//! Jaeger's `uber-trace-id` and AWS X-Ray's `X-Amzn-Trace-Id`.
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
//! current where the call is made (W3C Trace Context and Baggage outside a tracewire stack).
//! They are read in the order given, a later format that finds a valid parent replacing an
//! earlier one (OpenTelemetry's composite propagator), and all of them are written. The B3,
//! Jaeger and X-Ray parsers are tracewire's own, like the W3C one: bounded input, ids left-padded
//! where the format allows, debug read as sampled, and a caller that left the sampling decision
//! open (B3 without a state, X-Ray `Sampled=?`) decided by this service's root sampler.

mod b3;
mod baggage;
mod boundary;
mod carrier;
mod jaeger;
mod trace_context;
mod traceresponse;
mod xray;

use opentelemetry::baggage::{BaggageExt as _, BaggageMetadata, KeyValueMetadata};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags};
use opentelemetry::{Context, propagation::text_map_propagator::FieldIter};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub use carrier::{Extract, Inject};

#[cfg(any(feature = "http-client", feature = "reqwest", feature = "tonic"))]
pub(crate) use boundary::read_response;
#[cfg(any(feature = "http-server", feature = "tonic", feature = "actix-web"))]
pub(crate) use boundary::server_request;
pub(crate) use boundary::{Boundary, with_boundary};
// Used by the integrations' server and client layers, each behind its feature.
#[allow(unused_imports)]
pub(crate) use traceresponse::{Pending, TRACERESPONSE, TraceResponse};

use crate::error::{Error, ErrorKind, Result};

/// One propagation format, as `propagators` / `OTEL_PROPAGATORS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    TraceContext,
    Baggage,
    /// `b3`: the single header.
    B3,
    /// `b3multi`: the `X-B3-*` headers.
    B3Multi,
    Jaeger,
    XRay,
}

impl Format {
    /// Every name `propagators` takes but `none`, in the order of [`Format::ALL`].
    pub(crate) const NAMES: &'static [&'static str] =
        &["tracecontext", "baggage", "b3", "b3multi", "jaeger", "xray"];
    const ALL: [Format; 6] = [
        Format::TraceContext,
        Format::Baggage,
        Format::B3,
        Format::B3Multi,
        Format::Jaeger,
        Format::XRay,
    ];
}

/// The formats of a stack, in the order configured: extraction runs them in order and a later
/// one that finds a valid parent wins, as OpenTelemetry's composite propagator does. Kept `Copy`
/// so that every call reads it from the current stack without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Formats {
    order: [Option<Format>; 6],
    /// How a trace whose caller left the decision to this service (B3 without a sampling
    /// state, X-Ray `Sampled=?`) is decided: the local root sampler's ratio.
    defer_rate: f64,
}

impl Formats {
    /// `names` as the settings resolved them (known names, each once); `defer_rate` as above.
    pub(crate) fn new(names: &[String], defer_rate: f64) -> Formats {
        let mut order = [None; 6];
        let known = names
            .iter()
            .filter_map(|n| Format::NAMES.iter().position(|k| k == n))
            .map(|i| Format::ALL[i]);
        for (slot, f) in order.iter_mut().zip(known) {
            *slot = Some(f);
        }
        Formats { order, defer_rate }
    }

    /// Outside a tracewire stack: W3C Trace Context and Baggage.
    const OUTSIDE: Formats = Formats {
        order: [
            Some(Format::TraceContext),
            Some(Format::Baggage),
            None,
            None,
            None,
            None,
        ],
        defer_rate: 1.0,
    };

    fn iter(self) -> impl Iterator<Item = Format> {
        self.order.into_iter().flatten()
    }

    /// The decision for a trace its caller deferred.
    fn decide(&self, sc: &SpanContext) -> bool {
        crate::sampling::ratio_decides(sc.trace_id(), self.defer_rate)
    }
}

/// Propagators plugged in with `Builder::with_propagator`.
type Plugged = std::sync::Arc<[std::sync::Arc<dyn TextMapPropagator + Send + Sync>]>;

/// The current stack's formats, and its plugged-in propagators when it has any.
fn formats() -> (Formats, Option<Plugged>) {
    with_boundary(|b| {
        let plugged = (!b.plugged.is_empty()).then(|| b.plugged.clone());
        (b.formats, plugged)
    })
    .unwrap_or((Formats::OUTSIDE, None))
}

/// What a format said about sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sampling {
    Sampled,
    NotSampled,
    /// The caller left the decision to this service.
    Deferred,
}

/// `sc` as a remote parent with the sampled flag `sampling` says (`defer` decides a deferred
/// one).
pub(crate) fn remote(
    sc: SpanContext,
    sampling: Sampling,
    defer: impl Fn(&SpanContext) -> bool,
) -> SpanContext {
    let sampled = match sampling {
        Sampling::Sampled => true,
        Sampling::NotSampled => false,
        Sampling::Deferred => defer(&sc),
    };
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        flags,
        true,
        sc.trace_state().clone(),
    )
}

/// An id of `N` bytes from 1 to `digits` hex digits (either case), left-padded with zeros, as
/// the B3, Jaeger and X-Ray formats allow; `None` for anything else or an all-zero id.
pub(crate) fn id_from_hex<const N: usize>(s: &str, digits: usize) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > digits || digits > 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    // Right-aligned: the last digit is the low nibble of the last byte.
    for (i, &c) in b.iter().rev().enumerate() {
        let d = nibble(c)?;
        let byte = &mut out[N - 1 - i / 2];
        *byte |= if i % 2 == 0 { d } else { d << 4 };
    }
    (out != [0u8; N]).then_some(out)
}

/// The context carried by `carrier`: a remote span context when one of the configured formats
/// finds a valid parent, and its baggage. Never fails: invalid input yields an empty context
/// (a new trace).
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
    let (formats, plugged) = formats();
    let defer = |sc: &SpanContext| formats.decide(sc);
    let mut b3_read = false;
    for format in formats.iter() {
        let found = match format {
            Format::TraceContext => {
                let parents = carrier.get_all(trace_context::TRACEPARENT);
                let states = carrier.get_all(trace_context::TRACESTATE);
                trace_context::extract(&parents, &states).map(|(sc, received)| {
                    if let Some(r) = received {
                        cx = cx.with_value(r);
                    }
                    sc
                })
            }
            Format::Baggage => {
                let entries = baggage::parse(&carrier.get_all(baggage::BAGGAGE));
                if !entries.is_empty() {
                    cx = cx.with_baggage(entries.into_iter().map(|(k, v, m)| {
                        KeyValueMetadata::new(k, v, BaggageMetadata::from(m.as_str()))
                    }));
                }
                None
            }
            // Both read both B3 forms: once is enough.
            Format::B3 | Format::B3Multi if b3_read => None,
            Format::B3 | Format::B3Multi => {
                b3_read = true;
                b3::extract(carrier, defer)
            }
            Format::Jaeger => jaeger::extract(carrier, defer),
            Format::XRay => xray::extract(carrier, defer),
        };
        if let Some(sc) = found {
            cx = cx.with_remote_span_context(sc);
        }
    }
    // The user's propagators run last: a parent one of them finds wins, as in a composite.
    for p in plugged.iter().flat_map(|p| p.iter()) {
        cx = p.extract_with_context(&cx, &CarrierExtractor(carrier));
    }
    cx
}

/// A carrier as the OpenTelemetry API's `Extractor` (for plugged-in propagators): `keys()` is
/// empty, since a carrier is only asked for names.
struct CarrierExtractor<'a, C: ?Sized>(&'a C);

impl<C: Extract + ?Sized> Extractor for CarrierExtractor<'_, C> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get_all(key).first().copied()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let all = self.0.get_all(key);
        (!all.is_empty()).then_some(all)
    }

    fn keys(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// A carrier as the OpenTelemetry API's `Injector`.
struct CarrierInjector<'a, C: ?Sized>(&'a mut C);

impl<C: Inject + ?Sized> Injector for CarrierInjector<'_, C> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set(key, value);
    }
}

/// Whether an extracted context holds a remote span or baggage: something to continue.
/// A `traceresponse` value: the `traceparent` format, version `00` (Level 2 draft).
pub(crate) fn parse_traceresponse(
    value: &str,
) -> Option<(
    opentelemetry::trace::TraceId,
    opentelemetry::trace::SpanId,
    opentelemetry::trace::TraceFlags,
)> {
    value
        .trim_matches([' ', '\t'])
        .starts_with("00-")
        .then(|| trace_context::parse_traceparent(value))?
}

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
    let span = cx.span();
    let sc = span.span_context();
    let (formats, plugged) = formats();
    for format in formats.iter() {
        match format {
            Format::TraceContext if sc.is_valid() => {
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
            Format::Baggage => {
                let b = cx.baggage();
                let entries = b
                    .iter()
                    .map(|(k, (v, m))| (k.as_str(), v.as_str(), m.as_str()));
                if let Some(h) = baggage::header(entries) {
                    carrier.set(baggage::BAGGAGE, h);
                }
            }
            Format::B3 if sc.is_valid() => b3::inject_single(sc, carrier),
            Format::B3Multi if sc.is_valid() => b3::inject_multi(sc, carrier),
            Format::Jaeger if sc.is_valid() => jaeger::inject(sc, carrier),
            Format::XRay if sc.is_valid() => xray::inject(sc, carrier),
            _ => {}
        }
    }
    for p in plugged.iter().flat_map(|p| p.iter()) {
        p.inject_context(cx, &mut CarrierInjector(carrier));
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

/// tracewire's propagator as an OpenTelemetry [`TextMapPropagator`], installed globally by
/// `init()`, so code that uses `opentelemetry::global::get_text_map_propagator` gets the same
/// behaviour: conformant W3C Trace Context and Baggage, and the other formats `propagators`
/// names (B3, Jaeger, X-Ray) of the stack current where it is called.
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

/// Every header any format may write (`fields()` has no stack to ask which are configured).
static FIELDS: std::sync::LazyLock<[String; 10]> = std::sync::LazyLock::new(|| {
    [
        trace_context::TRACEPARENT,
        trace_context::TRACESTATE,
        baggage::BAGGAGE,
        b3::SINGLE,
        b3::TRACE_ID,
        b3::SPAN_ID,
        b3::SAMPLED,
        b3::FLAGS,
        jaeger::HEADER,
        xray::HEADER,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_take_exactly_the_formats_this_module_has() {
        assert_eq!(Format::NAMES, crate::settings::PROPAGATORS);
    }

    #[test]
    fn ids_are_left_padded_and_zero_is_invalid() {
        assert_eq!(id_from_hex::<2>("1", 4), Some([0, 1]));
        assert_eq!(id_from_hex::<2>("aBc", 4), Some([0x0a, 0xbc]));
        assert_eq!(id_from_hex::<2>("0000", 4), None);
        assert_eq!(id_from_hex::<2>("12345", 4), None);
        assert_eq!(id_from_hex::<2>("", 4), None);
        assert_eq!(id_from_hex::<2>("12g4", 4), None);
        assert_eq!(id_from_hex::<2>("+1", 4), None);
    }

    #[test]
    fn formats_keep_the_configured_order() {
        let names: Vec<String> = ["xray", "tracecontext", "b3"].map(String::from).into();
        let f = Formats::new(&names, 1.0);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [Format::XRay, Format::TraceContext, Format::B3]
        );
    }
}
