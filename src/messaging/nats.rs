//! NATS (async-nats): its header map as a carrier, a traced publish, the CONSUMER span of a
//! received message.

use super::Messaging;
use crate::propagation::{Extract, Inject};

impl Extract for async_nats::HeaderMap {
    fn get_all(&self, name: &str) -> Vec<&str> {
        self.iter()
            .filter(|(k, _)| AsRef::<str>::as_ref(k).eq_ignore_ascii_case(name))
            .flat_map(|(_, values)| values.iter().map(|v| v.as_str()))
            .collect()
    }
}

impl Inject for async_nats::HeaderMap {
    fn set(&mut self, name: &str, value: String) {
        self.insert(name, value.as_str());
    }
}

impl Messaging {
    /// Publishes `payload` to `subject` inside a PRODUCER span, with the trace context and
    /// a `message_id` in the NATS headers.
    ///
    /// ```no_run
    /// # async fn f(client: async_nats::Client) -> Result<(), async_nats::PublishError> {
    /// let nats = tracewire::messaging::Messaging::new("nats");
    /// nats.publish(&client, "orders", "{}".into()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish(
        &self,
        client: &async_nats::Client,
        subject: &str,
        payload: bytes::Bytes,
    ) -> Result<(), async_nats::PublishError> {
        use tracing::Instrument as _;
        let span = self.send_span(subject);
        let mut headers = async_nats::HeaderMap::new();
        span.in_scope(|| self.inject(&mut headers));
        client
            .publish_with_headers(subject.to_string(), headers, payload)
            .instrument(span)
            .await
    }

    /// The CONSUMER span for one received NATS message.
    ///
    /// ```no_run
    /// # fn f(msg: async_nats::Message) {
    /// let span = tracewire::messaging::Messaging::new("nats").process_span(&msg);
    /// span.in_scope(|| tracing::info!("processing"));
    /// # }
    /// ```
    pub fn process_span(&self, message: &async_nats::Message) -> tracing::Span {
        let empty = async_nats::HeaderMap::new();
        self.process_span_from(
            message.subject.as_str(),
            message.headers.as_ref().unwrap_or(&empty),
        )
    }
}
