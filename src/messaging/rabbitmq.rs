//! RabbitMQ through lapin: AMQP headers (a `FieldTable`) as the carrier, a PRODUCER span per
//! publish, a CONSUMER span per delivery, with the RabbitMQ messaging conventions.
//!
//! The destination is named as the RabbitMQ conventions ask: `{exchange}:{routing key}`, only
//! the one that is not empty, or `amq.default` (the default exchange, no key). The context
//! travels in the message's AMQP headers as long strings under the configured propagators'
//! names, the form every OpenTelemetry RabbitMQ instrumentation reads.

use lapin::message::Delivery;
use lapin::options::BasicPublishOptions;
use lapin::protocol::AMQPErrorKind;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, ErrorKind, PublisherConfirm};
use tracing::Instrument as _;
use tracing::field::Empty;

use super::Messaging;
use crate::propagation::{self, Extract, Inject};

impl Extract for FieldTable {
    fn get_all(&self, name: &str) -> Vec<&str> {
        self.inner()
            .iter()
            .filter(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| match v {
                AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok(),
                AMQPValue::ShortString(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Inject for FieldTable {
    fn set(&mut self, name: &str, value: String) {
        self.insert(ShortString::from(name), AMQPValue::LongString(value.into()));
    }
}

/// Messaging telemetry for RabbitMQ over lapin: [`basic_publish`](Self::basic_publish) in a
/// PRODUCER span with the context in the AMQP headers, [`process_span`](Self::process_span)
/// for each delivery, continuing the producer's trace.
///
/// ```no_run
/// # async fn run(channel: lapin::Channel, delivery: lapin::message::Delivery) -> lapin::Result<()> {
/// use lapin::{BasicProperties, options::BasicPublishOptions};
/// let rabbit = tracewire::messaging::RabbitMq::new().with_server("rabbit.internal", 5672);
/// rabbit
///     .basic_publish(&channel, "orders", "created", BasicPublishOptions::default(),
///                    b"{}", BasicProperties::default())
///     .await?;
/// // On the consumer, for each delivery:
/// let span = rabbit.process_span(&delivery);
/// span.in_scope(|| tracing::info!("processing"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RabbitMq {
    messaging: Messaging,
    address: Option<String>,
    port: Option<u16>,
}

impl Default for RabbitMq {
    fn default() -> Self {
        RabbitMq::new()
    }
}

impl RabbitMq {
    /// RabbitMQ telemetry, consumers continuing the producer's trace as its children.
    ///
    /// ```
    /// let rabbit = tracewire::messaging::RabbitMq::new();
    /// # let _ = rabbit;
    /// ```
    pub fn new() -> Self {
        RabbitMq {
            messaging: Messaging::new("rabbitmq"),
            address: None,
            port: None,
        }
    }

    /// Consumers start their own trace with a link to the producer's span instead of being its
    /// child (see [`Messaging::with_links`]).
    ///
    /// ```
    /// let rabbit = tracewire::messaging::RabbitMq::new().with_links(true);
    /// # let _ = rabbit;
    /// ```
    pub fn with_links(mut self, link: bool) -> Self {
        self.messaging = self.messaging.with_links(link);
        self
    }

    /// `server.address` and `server.port`: the broker.
    ///
    /// ```
    /// let rabbit = tracewire::messaging::RabbitMq::new().with_server("rabbit.internal", 5672);
    /// # let _ = rabbit;
    /// ```
    pub fn with_server(mut self, address: impl Into<String>, port: u16) -> Self {
        self.address = Some(address.into());
        self.port = Some(port);
        self
    }

    /// [`Channel::basic_publish`] inside a PRODUCER span `publish {destination}`, with the
    /// current context and a `message_id` header added to the message's AMQP headers (headers
    /// already in `properties` are kept). The span ends when the broker has the message (the
    /// returned confirm is for the caller to await, as with lapin itself).
    pub async fn basic_publish(
        &self,
        channel: &Channel,
        exchange: &str,
        routing_key: &str,
        options: BasicPublishOptions,
        payload: &[u8],
        properties: BasicProperties,
    ) -> lapin::Result<PublisherConfirm> {
        let destination = destination(exchange, routing_key);
        let span = tracing::info_span!(
            target: "tracewire::messaging",
            "rabbitmq publish",
            otel.name = %format_args!("publish {destination}"),
            otel.kind = "producer",
            otel.status_code = Empty,
            messaging.system = "rabbitmq",
            messaging.destination.name = %destination,
            messaging.rabbitmq.destination.routing_key = non_empty(routing_key),
            messaging.operation.type = "send",
            messaging.operation.name = "publish",
            messaging.message.id = Empty,
            messaging.message.conversation_id = properties.correlation_id().as_ref().map(ShortString::as_str),
            server.address = self.address.as_deref(),
            server.port = self.port.map(i64::from),
            error.type = Empty,
        );
        let mut headers = properties.headers().clone().unwrap_or_default();
        let mut properties = properties;
        span.in_scope(|| {
            let id = match properties.message_id() {
                Some(id) if !id.as_str().is_empty() => {
                    propagation::inject(&mut headers);
                    id.as_str().to_string()
                }
                // The generic helper's unique id, also as the AMQP message id.
                _ => {
                    let id = self.messaging.inject(&mut headers);
                    properties = properties.clone().with_message_id(id.as_str().into());
                    id
                }
            };
            span.record("messaging.message.id", id.as_str());
        });
        let properties = properties.with_headers(headers);
        let r = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                options,
                payload,
                properties,
            )
            .instrument(span.clone())
            .await;
        if let Err(e) = &r {
            failed(&span, e);
        }
        r
    }

    /// The CONSUMER span `process {destination}` for one delivery, continuing the trace in its
    /// AMQP headers (child of the producer's span, or linked to it). Enter it, or
    /// `.instrument()` the processing of this delivery with it; record a failure with
    /// [`record_failure`](Self::record_failure).
    pub fn process_span(&self, delivery: &Delivery) -> tracing::Span {
        let empty = FieldTable::default();
        let headers = delivery.properties.headers().as_ref().unwrap_or(&empty);
        let exchange = delivery.exchange.as_str();
        let routing_key = delivery.routing_key.as_str();
        let destination = destination(exchange, routing_key);
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_string())
            .or_else(|| {
                headers
                    .get_all(super::MESSAGE_ID_HEADER)
                    .first()
                    .map(|s| s.to_string())
            });
        self.messaging.continue_from(headers, || {
            tracing::info_span!(
                target: "tracewire::messaging",
                "rabbitmq process",
                otel.name = %format_args!("process {destination}"),
                otel.kind = "consumer",
                otel.status_code = Empty,
                messaging.system = "rabbitmq",
                messaging.destination.name = %destination,
                messaging.rabbitmq.destination.routing_key = non_empty(routing_key),
                messaging.rabbitmq.message.delivery_tag = i64::try_from(delivery.delivery_tag).unwrap_or(i64::MAX),
                messaging.operation.type = "process",
                messaging.operation.name = "process",
                messaging.message.id = id,
                messaging.message.conversation_id = delivery.properties.correlation_id().as_ref().map(ShortString::as_str),
                server.address = self.address.as_deref(),
                server.port = self.port.map(i64::from),
                error.type = Empty,
            )
        })
    }

    /// Marks a process span (or a publish span of your own) failed: `error.type` (`kind`, a
    /// low-cardinality class such as `invalid_payload`) and status Error.
    ///
    /// ```
    /// let rabbit = tracewire::messaging::RabbitMq::new();
    /// let span = tracing::info_span!("process", error.type = tracing::field::Empty);
    /// rabbit.record_failure(&span, "invalid_payload");
    /// ```
    pub fn record_failure(&self, span: &tracing::Span, kind: &str) {
        span.record("error.type", kind);
        span.record("otel.status_code", "error");
    }
}

/// `messaging.destination.name` as the RabbitMQ conventions define it.
fn destination(exchange: &str, routing_key: &str) -> String {
    match (exchange.is_empty(), routing_key.is_empty()) {
        (false, false) => format!("{exchange}:{routing_key}"),
        (false, true) => exchange.to_string(),
        (true, false) => routing_key.to_string(),
        (true, true) => "amq.default".to_string(),
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// `error.type` for a lapin error: the AMQP reply name (`not-found`, `connection-forced`), as
/// the conventions' examples spell them, or the class of a client-side failure.
fn failed(span: &tracing::Span, e: &lapin::Error) {
    let kind = match e.kind() {
        ErrorKind::ProtocolError(amqp) => match amqp.kind() {
            AMQPErrorKind::Soft(s) => s.to_string().to_ascii_lowercase(),
            AMQPErrorKind::Hard(h) => h.to_string().to_ascii_lowercase(),
        },
        ErrorKind::IOError(_) => "io".to_string(),
        ErrorKind::InvalidChannelState(..) => "invalid_channel_state".to_string(),
        ErrorKind::InvalidConnectionState(_) => "invalid_connection_state".to_string(),
        _ => "_OTHER".to_string(),
    };
    span.record("error.type", kind.as_str());
    span.record("otel.status_code", "error");
    span.in_scope(|| tracing::error!(target: "tracewire::messaging", error = %e, "publish failed"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_names_follow_the_conventions() {
        assert_eq!(destination("orders", "created"), "orders:created");
        assert_eq!(destination("orders", ""), "orders");
        assert_eq!(destination("", "jobs"), "jobs");
        assert_eq!(destination("", ""), "amq.default");
    }

    #[test]
    fn headers_carry_the_context_as_long_strings() {
        let mut t = FieldTable::default();
        t.set("traceparent", "00-abc-def-01".into());
        assert!(matches!(
            t.inner().get("traceparent"),
            Some(AMQPValue::LongString(_))
        ));
        assert_eq!(t.get_all("TraceParent"), ["00-abc-def-01"]);
        t.insert("count".into(), AMQPValue::LongInt(3));
        assert!(
            t.get_all("count").is_empty(),
            "not a string: not a header value"
        );
    }
}
