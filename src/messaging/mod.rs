//! One trace across a message broker: PRODUCER spans that inject the context into message
//! headers, CONSUMER spans that continue it, with the messaging semantic conventions.
//!
//! ```
//! use tracewire::messaging::Messaging;
//!
//! # let g = tracewire::builder().without_settings_file().with_env([("OTEL_TRACES_EXPORTER", "none")])
//! #     .with_log_writer(std::io::sink()).set_default()?;
//! let kafka = Messaging::new("kafka");
//! let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
//! let send = kafka.send_span("orders");
//! let id = send.in_scope(|| kafka.inject(&mut headers));
//! // ... publish with `headers`; on the worker:
//! let process = kafka.process_span_from("orders", &headers);
//! process.in_scope(|| tracing::info!("processing"));
//! assert_eq!(id.len(), 32);
//! # Ok::<(), tracewire::Error>(())
//! ```

use opentelemetry::Context;
use opentelemetry::baggage::{BaggageExt as _, KeyValueMetadata};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::propagation::{self, Extract, Inject};

/// The header holding a message's unique id, added by [`Messaging::inject`] when absent.
pub const MESSAGE_ID_HEADER: &str = "message_id";

/// Messaging telemetry for one system (`messaging.system`: `nats`, `kafka`, `rabbitmq`, ...).
#[derive(Debug, Clone)]
pub struct Messaging {
    system: &'static str,
    link: bool,
}

impl Messaging {
    /// Telemetry for `system`, consumers continuing the producer's trace as its children.
    ///
    /// ```
    /// let nats = tracewire::messaging::Messaging::new("nats");
    /// # let _ = nats;
    /// ```
    pub fn new(system: &'static str) -> Self {
        Messaging {
            system,
            link: false,
        }
    }

    /// Consumers start their own trace with a link to the producer's span instead of being its
    /// child (for batch processing, or when a message may be processed long after it was sent).
    ///
    /// ```
    /// let nats = tracewire::messaging::Messaging::new("nats").with_links(true);
    /// # let _ = nats;
    /// ```
    pub fn with_links(mut self, link: bool) -> Self {
        self.link = link;
        self
    }

    /// A PRODUCER span `send {destination}`; call [`inject`](Self::inject) inside it.
    ///
    /// ```
    /// let span = tracewire::messaging::Messaging::new("nats").send_span("orders.created");
    /// # let _ = span;
    /// ```
    pub fn send_span(&self, destination: &str) -> tracing::Span {
        tracing::info_span!(
            target: "tracewire::messaging",
            "messaging send",
            otel.name = %format_args!("send {destination}"),
            otel.kind = "producer",
            messaging.system = self.system,
            messaging.destination.name = %destination,
            messaging.operation.type = "send",
            messaging.operation.name = "send",
            messaging.message.id = Empty,
        )
    }

    /// Injects the current context into `headers` and adds a unique `message_id` header if
    /// there is none; returns the message id (also recorded on the current span).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let mut headers = HashMap::from([("message_id".to_string(), "m-1".to_string())]);
    /// let id = tracewire::messaging::Messaging::new("nats").inject(&mut headers);
    /// assert_eq!(id, "m-1");
    /// ```
    pub fn inject<C: Inject + Extract + ?Sized>(&self, headers: &mut C) -> String {
        let id = match headers.get_all(MESSAGE_ID_HEADER).first() {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                let id = RandomIdGenerator::default().new_trace_id().to_string();
                headers.set(MESSAGE_ID_HEADER, id.clone());
                id
            }
        };
        propagation::inject(headers);
        tracing::Span::current().record("messaging.message.id", id.as_str());
        id
    }

    /// A CONSUMER span `process {destination}` continuing the trace in `headers`: its parent is
    /// the producer's span, or a link to it with [`with_links`](Self::with_links). Enter it
    /// (or `.instrument()` the processing future) for the processing of this one message.
    ///
    /// ```
    /// let headers: Vec<(String, Vec<u8>)> = vec![];
    /// let span = tracewire::messaging::Messaging::new("nats").process_span_from("orders", &headers);
    /// # let _ = span;
    /// ```
    pub fn process_span_from<C: Extract + ?Sized>(
        &self,
        destination: &str,
        headers: &C,
    ) -> tracing::Span {
        let id = headers
            .get_all(MESSAGE_ID_HEADER)
            .first()
            .map(|s| s.to_string());
        self.continue_from(headers, || {
            tracing::info_span!(
                target: "tracewire::messaging",
                "messaging process",
                otel.name = %format_args!("process {destination}"),
                otel.kind = "consumer",
                messaging.system = self.system,
                messaging.destination.name = %destination,
                messaging.operation.type = "process",
                messaging.operation.name = "process",
                messaging.message.id = id,
            )
        })
    }

    /// The span `make` makes, continuing the trace in `headers`: a child of the producer's
    /// span, or (with [`with_links`](Self::with_links)) a new trace linked to it. What every
    /// broker's CONSUMER span does, whatever its fields.
    pub(crate) fn continue_from<C: Extract + ?Sized>(
        &self,
        headers: &C,
        make: impl FnOnce() -> tracing::Span,
    ) -> tracing::Span {
        let cx = propagation::extract(headers);
        let remote = cx.span().span_context().clone();
        // Made inside the producer's context, so that head sampling follows the producer's
        // decision when the span is created, and the span (sampled or not) carries the
        // producer's trace state and baggage on. A linked consumer starts its own trace, but
        // baggage is not trace context: it goes on.
        let parent = if self.link && remote.is_valid() {
            Context::new().with_baggage(
                cx.baggage()
                    .iter()
                    .map(|(k, (v, m))| KeyValueMetadata::new(k.clone(), v.clone(), m.clone())),
            )
        } else {
            cx
        };
        let _parent = propagation::carries_anything(&parent).then(|| parent.clone().attach());
        let span = make();
        drop(_parent);
        // Also when a span of another trace is current here (a consumer loop's span): the
        // producer is the parent. A span made just now cannot have been entered, so the only
        // error cannot happen.
        let _ = propagation::set_parent_context(&span, parent);
        if self.link && remote.is_valid() {
            span.add_link(remote);
        }
        span
    }
}

#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "lapin")]
mod rabbitmq;

#[cfg(feature = "lapin")]
pub use self::rabbitmq::RabbitMq;
