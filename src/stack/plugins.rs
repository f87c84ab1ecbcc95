//! What a team plugs into the stack beside tracewire's own parts: a sampler, span processors and
//! exporters, propagators, resource detectors, an id generator (the builder's `with_sampler`,
//! `with_span_processor`, ...). Each composes with the head gate, the tail rule, the queue and
//! the accounting as the builder's documentation says.

use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::resource::ResourceDetector;
use opentelemetry_sdk::trace::{IdGenerator, ShouldSample, SpanProcessor};

/// The plugged-in parts, empty by default.
#[derive(Default)]
pub(crate) struct Plugins {
    pub(crate) sampler: Option<Box<dyn ShouldSample>>,
    /// Told the resource (`set_resource`) when the stack is built, then shared.
    pub(crate) processors: Vec<Box<dyn SpanProcessor>>,
    pub(crate) propagators: Vec<Arc<dyn TextMapPropagator + Send + Sync>>,
    pub(crate) detectors: Vec<Box<dyn ResourceDetector>>,
    pub(crate) ids: Option<Arc<dyn IdGenerator>>,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins")
            .field("sampler", &self.sampler)
            .field("processors", &self.processors.len())
            .field("propagators", &self.propagators.len())
            .field("detectors", &self.detectors.len())
            .field("ids", &self.ids.is_some())
            .finish()
    }
}

/// A user's id generator, shared by the SDK provider and tracewire's tracer.
#[derive(Debug, Clone)]
pub(crate) struct SharedIds(pub(crate) Arc<dyn IdGenerator>);

impl IdGenerator for SharedIds {
    fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
        self.0.new_trace_id()
    }

    fn new_span_id(&self) -> opentelemetry::trace::SpanId {
        self.0.new_span_id()
    }
}
