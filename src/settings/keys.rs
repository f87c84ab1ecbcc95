//! The one table of settings keys: name, environment variables, default, meaning.

/// One key of `[observability]`.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    /// `TRACEWIRE_<KEY>`.
    pub(crate) tracewire_env: &'static str,
    /// Standard OpenTelemetry variables for this key, the most specific first.
    pub(crate) otel_env: &'static [&'static str],
}

macro_rules! keys {
    ($( $name:literal, $tw:literal, [$($otel:literal),*] ;)*) => {
        pub(crate) const KEYS: &[Key] = &[
            $( Key { name: $name, tracewire_env: $tw, otel_env: &[$($otel),*] }, )*
        ];
    };
}

keys! {
    "enabled", "TRACEWIRE_ENABLED", ["OTEL_SDK_DISABLED"];
    "tracing_enabled", "TRACEWIRE_TRACING_ENABLED", [];
    "traces_exporter", "TRACEWIRE_TRACES_EXPORTER", ["OTEL_TRACES_EXPORTER"];
    "otlp_endpoint", "TRACEWIRE_OTLP_ENDPOINT", ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"];
    "otlp_protocol", "TRACEWIRE_OTLP_PROTOCOL", ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"];
    "otlp_headers", "TRACEWIRE_OTLP_HEADERS", ["OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"];
    "otlp_timeout_ms", "TRACEWIRE_OTLP_TIMEOUT_MS", ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"];
    "otlp_compression", "TRACEWIRE_OTLP_COMPRESSION", ["OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"];
    "otlp_certificate", "TRACEWIRE_OTLP_CERTIFICATE", ["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"];
    "otlp_client_certificate", "TRACEWIRE_OTLP_CLIENT_CERTIFICATE", ["OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"];
    "otlp_client_key", "TRACEWIRE_OTLP_CLIENT_KEY", ["OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"];
    "otlp_insecure", "TRACEWIRE_OTLP_INSECURE", ["OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"];
    "sampler", "TRACEWIRE_SAMPLER", ["OTEL_TRACES_SAMPLER"];
    "sampling_rate", "TRACEWIRE_SAMPLING_RATE", ["OTEL_TRACES_SAMPLER_ARG"];
    "service_name_override", "TRACEWIRE_SERVICE_NAME_OVERRIDE", ["OTEL_SERVICE_NAME"];
    "service_version", "TRACEWIRE_SERVICE_VERSION", [];
    "resource_attributes", "TRACEWIRE_RESOURCE_ATTRIBUTES", ["OTEL_RESOURCE_ATTRIBUTES"];
    "propagators", "TRACEWIRE_PROPAGATORS", ["OTEL_PROPAGATORS"];
    "log_level", "TRACEWIRE_LOG_LEVEL", ["RUST_LOG"];
    "log_format", "TRACEWIRE_LOG_FORMAT", [];
    "log_bridge", "TRACEWIRE_LOG_BRIDGE", [];
    "shutdown_timeout_ms", "TRACEWIRE_SHUTDOWN_TIMEOUT_MS", [];
    "batch_max_queue_size", "TRACEWIRE_BATCH_MAX_QUEUE_SIZE", ["OTEL_BSP_MAX_QUEUE_SIZE"];
    "batch_max_queue_bytes", "TRACEWIRE_BATCH_MAX_QUEUE_BYTES", [];
    "batch_max_export_batch_size", "TRACEWIRE_BATCH_MAX_EXPORT_BATCH_SIZE", ["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"];
    "batch_scheduled_delay_ms", "TRACEWIRE_BATCH_SCHEDULED_DELAY_MS", ["OTEL_BSP_SCHEDULE_DELAY"];
    "batch_max_concurrent_exports", "TRACEWIRE_BATCH_MAX_CONCURRENT_EXPORTS", ["OTEL_BSP_MAX_CONCURRENT_EXPORTS"];
    "file_max_bytes", "TRACEWIRE_FILE_MAX_BYTES", [];
    "exclude_paths", "TRACEWIRE_EXCLUDE_PATHS", [];
    "redact_fields", "TRACEWIRE_REDACT_FIELDS", [];
    "attribute_value_length_limit", "TRACEWIRE_ATTRIBUTE_VALUE_LENGTH_LIMIT", ["OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"];
    "span_attribute_count_limit", "TRACEWIRE_SPAN_ATTRIBUTE_COUNT_LIMIT", ["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"];
    "span_event_count_limit", "TRACEWIRE_SPAN_EVENT_COUNT_LIMIT", ["OTEL_SPAN_EVENT_COUNT_LIMIT"];
    "span_link_count_limit", "TRACEWIRE_SPAN_LINK_COUNT_LIMIT", ["OTEL_SPAN_LINK_COUNT_LIMIT"];
    "event_attribute_count_limit", "TRACEWIRE_EVENT_ATTRIBUTE_COUNT_LIMIT", ["OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"];
    "link_attribute_count_limit", "TRACEWIRE_LINK_ATTRIBUTE_COUNT_LIMIT", ["OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"];
    "drop_warning_interval_ms", "TRACEWIRE_DROP_WARNING_INTERVAL_MS", [];
    "logs_enabled", "TRACEWIRE_LOGS_ENABLED", ["OTEL_LOGS_EXPORTER"];
    "span_events_with_logs", "TRACEWIRE_SPAN_EVENTS_WITH_LOGS", [];
    "span_source_attributes", "TRACEWIRE_SPAN_SOURCE_ATTRIBUTES", [];
    "keep_errors", "TRACEWIRE_KEEP_ERRORS", [];
    "slow_threshold_ms", "TRACEWIRE_SLOW_THRESHOLD_MS", [];
    "tail_max_buffered_spans", "TRACEWIRE_TAIL_MAX_BUFFERED_SPANS", [];
    "tail_max_buffered_bytes", "TRACEWIRE_TAIL_MAX_BUFFERED_BYTES", [];
}

/// The candidate closest to `input` by edit distance, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = impl AsRef<str> + 'a>,
) -> Option<String> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let c = c.as_ref().to_string();
            (levenshtein(&input, &c.to_ascii_lowercase()), c)
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key_for_a_typo() {
        let names = KEYS.iter().map(|k| k.name);
        assert_eq!(
            suggest("sampling_rte", names.clone()).as_deref(),
            Some("sampling_rate")
        );
        assert_eq!(
            suggest("otlp_endpont", names.clone()).as_deref(),
            Some("otlp_endpoint")
        );
        assert_eq!(suggest("completely_different", names), None);
    }

    #[test]
    fn every_key_has_its_tracewire_variable() {
        for k in KEYS {
            assert_eq!(
                k.tracewire_env,
                format!("TRACEWIRE_{}", k.name.to_ascii_uppercase())
            );
        }
    }
}
