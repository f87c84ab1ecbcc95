//! The tracer behind tracing-opentelemetry: spans go straight from the span builder to the
//! export queue.
//!
//! tracing-opentelemetry asks its tracer to start a span from a `SpanBuilder` and ends it on
//! close. The SDK's tracer runs the sampler through a provider, keeps the span's data in its own
//! shape, then rebuilds it as `SpanData` for every processor. This one makes the same decisions
//! (the configured sampler, span limits, parent and remote flags) and writes `SpanData` once,
//! handing it to tracewire's processor on end: about 480 fewer instructions per span on the
//! caller's thread (`scripts/instructions.sh`). Spans made through the global OpenTelemetry API
//! still go through the SDK provider and reach the same processor.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::trace::{
    Link, SpanBuilder, SpanContext, SpanId, SpanKind, Status, TraceContextExt,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{
    SamplingDecision, ShouldSample, SpanData, SpanEvents, SpanLimits, SpanLinks, SpanProcessor,
};

use crate::export::BatchProcessor;
use crate::ids::{RANDOM, new_span_id, new_trace_id};
use crate::sampling::{HeadSampled, Plan};

/// What every span of a tracer reads; one `Arc` so that cloning the tracer into each span (to
/// reach the processor at its end) is one reference count.
#[derive(Debug)]
struct Shared {
    /// The plan's SDK sampler: asked only when neither shortcut below decides.
    sampler: Box<dyn ShouldSample>,
    /// The sampler follows a valid parent's flag: skip the call for the common case.
    parent_based: bool,
    /// The sampler keeps every root (`sampling_rate = 1.0`, the default): skip the call.
    roots_always: bool,
    /// Applied once, as the span is built, and as attributes, events and links are added.
    limits: SpanLimits,
    /// `tracewire`, on every span (cloned into each `SpanData`: an `Arc` inside).
    scope: InstrumentationScope,
    /// `None` when nothing is exported (`traces_exporter = none`): spans still get ids.
    processor: Option<Arc<BatchProcessor>>,
    /// The user's processors (`Builder::with_span_processor`): each gets a copy of every span
    /// that ends recorded, before tracewire's queue takes it.
    user: Vec<UserProcessor>,
    /// The user's id generator (`Builder::with_id_generator`).
    ids: Option<Arc<dyn opentelemetry_sdk::trace::IdGenerator>>,
}

/// tracewire's tracer for tracing-opentelemetry's layer.
#[derive(Debug, Clone)]
pub(crate) struct Tracer(Arc<Shared>);

impl Tracer {
    /// A tracer deciding by `plan`, exporting through `processor` (spans still get ids and
    /// contexts without one).
    pub(crate) fn new(
        plan: &Plan,
        limits: SpanLimits,
        processor: Option<Arc<BatchProcessor>>,
        user: Vec<UserProcessor>,
        ids: Option<Arc<dyn opentelemetry_sdk::trace::IdGenerator>>,
    ) -> Tracer {
        Tracer(Arc::new(Shared {
            sampler: plan.sdk_sampler(),
            parent_based: plan.follows_sampled_parent(),
            roots_always: plan.keeps_every_root(),
            limits,
            scope: InstrumentationScope::builder("tracewire").build(),
            processor,
            user,
            ids,
        }))
    }
}

/// Truncates `items` to `limit`, returning how many were dropped (the span limits keep the
/// first items, as the SDK does).
fn cap<T>(items: &mut Vec<T>, limit: u32) -> u32 {
    let dropped = items.len().saturating_sub(limit as usize);
    items.truncate(limit as usize);
    dropped as u32
}

/// Links within the span limits, each link's attributes within theirs, the drops counted.
#[inline]
fn limited_links(links: Option<Vec<Link>>, limits: &SpanLimits) -> SpanLinks {
    let mut out = SpanLinks::default();
    if let Some(mut links) = links {
        out.dropped_count = cap(&mut links, limits.max_links_per_span);
        for l in links.iter_mut() {
            l.dropped_attributes_count = cap(&mut l.attributes, limits.max_attributes_per_link);
        }
        out.links = links;
    }
    out
}

/// Events within the span limits, each event's attributes within theirs, the drops counted.
#[inline]
fn limited_events(
    events: Option<Vec<opentelemetry::trace::Event>>,
    limits: &SpanLimits,
) -> SpanEvents {
    let mut out = SpanEvents::default();
    if let Some(mut events) = events {
        out.dropped_count = cap(&mut events, limits.max_events_per_span);
        for e in events.iter_mut() {
            e.dropped_attributes_count = cap(&mut e.attributes, limits.max_attributes_per_event);
        }
        out.events = events;
    }
    out
}

impl opentelemetry::trace::Tracer for Tracer {
    type Span = Span;

    // One function on purpose: it runs for every sampled span, and splitting the decision from
    // the recording would move the `SpanBuilder` (several hundred bytes) across a call.
    fn build_with_context(&self, mut builder: SpanBuilder, parent_cx: &Context) -> Span {
        let shared = &self.0;
        let shut = shared.processor.as_ref().is_some_and(|p| p.is_shutdown());
        if parent_cx.is_telemetry_suppressed() || shut {
            return Span {
                cx: SpanContext::empty_context(),
                rec: None,
                tracer: self.clone(),
            };
        }
        let parent = parent_cx.span();
        let psc = parent.span_context();
        let psc = psc.is_valid().then_some(psc);
        let (trace_id, span_id) = match &shared.ids {
            None => (
                psc.map_or_else(new_trace_id, |p| p.trace_id()),
                new_span_id(),
            ),
            Some(ids) => (
                psc.map_or_else(|| ids.new_trace_id(), |p| p.trace_id()),
                ids.new_span_id(),
            ),
        };
        let kind = builder.span_kind.take().unwrap_or(SpanKind::Internal);
        let (decision, extra, state) = match psc {
            Some(p) if shared.parent_based && p.is_sampled() => (
                SamplingDecision::RecordAndSample,
                Vec::new(),
                p.trace_state().clone(),
            ),
            // A root the head-sampling gate already sampled, or every root is kept.
            None if shared.roots_always || parent_cx.get::<HeadSampled>().is_some() => (
                SamplingDecision::RecordAndSample,
                Vec::new(),
                opentelemetry::trace::TraceState::NONE,
            ),
            _ => {
                let r = shared.sampler.should_sample(
                    Some(parent_cx),
                    trace_id,
                    &builder.name,
                    &kind,
                    builder.attributes.as_deref().unwrap_or(&[]),
                    builder.links.as_deref().unwrap_or(&[]),
                );
                (r.decision, r.attributes, r.trace_state)
            }
        };
        // A continued trace keeps its caller's random flag; a new one has a random id (unless
        // the user's generator makes them: X-Ray's ids start with the time).
        let new_flags = if shared.ids.is_some() {
            opentelemetry::trace::TraceFlags::default()
        } else {
            RANDOM
        };
        let flags = psc.map_or(new_flags, |p| p.trace_flags());
        let sampled = match decision {
            SamplingDecision::Drop => {
                return Span {
                    cx: SpanContext::new(
                        trace_id,
                        span_id,
                        flags.with_sampled(false),
                        false,
                        state,
                    ),
                    rec: None,
                    tracer: self.clone(),
                };
            }
            SamplingDecision::RecordOnly => false,
            SamplingDecision::RecordAndSample => true,
        };
        let limits = &shared.limits;
        let mut attributes = builder.attributes.take().unwrap_or_default();
        attributes.extend(extra);
        let dropped_attributes_count = cap(&mut attributes, limits.max_attributes_per_span);
        let links = limited_links(builder.links.take(), limits);
        let events = limited_events(builder.events.take(), limits);
        let start_time = builder.start_time.unwrap_or_else(opentelemetry::time::now);
        Span {
            cx: SpanContext::new(trace_id, span_id, flags.with_sampled(sampled), false, state),
            rec: Some(Box::new(Recording {
                parent_span_id: psc.map_or(SpanId::INVALID, |p| p.span_id()),
                parent_span_is_remote: psc.is_some_and(|p| p.is_remote()),
                span_kind: kind,
                name: builder.name,
                start_time,
                attributes,
                dropped_attributes_count,
                events,
                links,
                status: Status::Unset,
            })),
            tracer: self.clone(),
        }
    }
}

/// The data of a recording span, in the shape of `SpanData` less what the span context and the
/// tracer already hold; boxed so that a non-recording span (dropped by the sampler) stays small.
#[derive(Debug)]
struct Recording {
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    span_kind: SpanKind,
    name: Cow<'static, str>,
    start_time: SystemTime,
    attributes: Vec<KeyValue>,
    dropped_attributes_count: u32,
    events: SpanEvents,
    links: SpanLinks,
    status: Status,
}

/// A span of [`Tracer`]: recording ones are exported when they end (or are dropped).
#[derive(Debug)]
pub(crate) struct Span {
    cx: SpanContext,
    /// `None`: not recording (dropped by the sampler, suppressed, or already ended).
    rec: Option<Box<Recording>>,
    tracer: Tracer,
}

impl Span {
    /// Hands the span to the processor, once: `rec` is taken, so a later `end` or the drop
    /// does nothing.
    fn finish(&mut self, end: Option<SystemTime>) {
        let Some(rec) = self.rec.take() else { return };
        let shared = &self.tracer.0;
        if shared.processor.is_none() && shared.user.is_empty() {
            return;
        }
        let rec = *rec;
        let end_time = end.unwrap_or_else(opentelemetry::time::now);
        let data = SpanData {
            span_context: self.cx.clone(),
            parent_span_id: rec.parent_span_id,
            parent_span_is_remote: rec.parent_span_is_remote,
            span_kind: rec.span_kind,
            name: rec.name,
            start_time: rec.start_time,
            end_time,
            attributes: rec.attributes,
            dropped_attributes_count: rec.dropped_attributes_count,
            events: rec.events,
            links: rec.links,
            status: rec.status,
            instrumentation_scope: shared.scope.clone(),
        };
        for p in &shared.user {
            p.on_end(data.clone());
        }
        if let Some(processor) = &shared.processor {
            processor.on_end(data);
        }
    }
}

/// tracing-opentelemetry ends spans by dropping them; an OpenTelemetry API user may too.
impl Drop for Span {
    fn drop(&mut self) {
        self.finish(None);
    }
}

impl opentelemetry::trace::Span for Span {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        mut attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        let limits = self.tracer.0.limits;
        let Some(rec) = self.rec.as_mut() else { return };
        if rec.events.events.len() < limits.max_events_per_span as usize {
            let dropped = cap(&mut attributes, limits.max_attributes_per_event);
            rec.events.events.push(opentelemetry::trace::Event::new(
                name, timestamp, attributes, dropped,
            ));
        } else {
            rec.events.dropped_count += 1;
        }
    }

    fn span_context(&self) -> &SpanContext {
        &self.cx
    }

    fn is_recording(&self) -> bool {
        self.rec.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        let limit = self.tracer.0.limits.max_attributes_per_span as usize;
        let Some(rec) = self.rec.as_mut() else { return };
        if rec.attributes.len() < limit {
            rec.attributes.push(attribute);
        } else {
            rec.dropped_attributes_count += 1;
        }
    }

    fn set_status(&mut self, status: Status) {
        let Some(rec) = self.rec.as_mut() else { return };
        // A total order, as the specification says: Ok > Error > Unset.
        if status > rec.status {
            rec.status = status;
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(rec) = self.rec.as_mut() {
            rec.name = new_name.into();
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        let limits = self.tracer.0.limits;
        let Some(rec) = self.rec.as_mut() else { return };
        if rec.links.links.len() < limits.max_links_per_span as usize {
            let dropped = cap(&mut attributes, limits.max_attributes_per_link);
            rec.links
                .links
                .push(Link::new(span_context, attributes, dropped));
        } else {
            rec.links.dropped_count += 1;
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.finish(Some(timestamp));
    }
}

/// A user's span processor, shared by the SDK provider (spans made through the OpenTelemetry
/// API) and tracewire's tracer (spans made through `tracing`).
pub(crate) type UserProcessor = crate::export::SharedProcessor<dyn SpanProcessor>;
