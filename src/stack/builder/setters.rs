//! A typed setter for every settings key that has none written by hand in `builder.rs`: the
//! compiler, not a runtime error, catches a misspelt key. One line per key below; the unit test
//! at the end checks that every key of the table has a setter (here or hand-written), so a new
//! key cannot be left without one. `with_setting` stays for keys chosen at run time.

use std::path::Path;
use std::time::Duration;

use super::Builder;
use crate::settings::{MetricsTemporality, Protocol, Raw, SamplerKind, TraceResponseMode};

/// `value`'s name as its setting takes it.
fn name_of<T: PartialEq + Copy>(all: &[T], names: &[&'static str], value: T) -> String {
    let i = all.iter().position(|v| *v == value).unwrap_or(0);
    names[i].to_string()
}

fn millis(d: Duration) -> Raw {
    Raw::Int(d.as_millis().min(i64::MAX as u128) as i64)
}

fn count(n: u64) -> Raw {
    Raw::Int(n.min(i64::MAX as u64) as i64)
}

fn path(p: &Path) -> Raw {
    Raw::Str(p.to_string_lossy().into_owned())
}

fn list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Raw {
    Raw::List(items.into_iter().map(Into::into).collect())
}

fn map<I, K, V>(pairs: I) -> Raw
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    Raw::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    )
}

/// `name key: kind (an example argument);` — each becomes `pub fn name(self, value) -> Self`
/// with a doc example that compiles and checks the value is taken.
macro_rules! typed {
    ($( $fn:ident $key:literal: $kind:ident ($($example:tt)*); )*) => {
        impl Builder {
            $( typed!(@one $fn $key $kind ($($example)*)); )*
        }

        /// The keys with a setter in this file.
        #[cfg(test)]
        pub(super) const KEYS: &[&str] = &[$($key),*];
    };
    (@doc $fn:ident $key:literal ($($example:tt)*)) => {
        concat!(
            "`", $key, "`: see its row in the README's configuration table (also for its ",
            "environment variables).\n\n```\n",
            "let s = tracewire::builder().without_settings_file()\n    .",
            stringify!($fn), "(", stringify!($($example)*), ")\n    .settings()?;\n",
            "assert_eq!(s.source(\"", $key, "\"), Some(&tracewire::settings::Source::Code));\n",
            "# Ok::<(), tracewire::Error>(())\n```"
        )
    };
    (@pem_doc $fn:ident $key:literal ($($example:tt)*)) => {
        concat!(
            "`", $key, "`: a PEM file, read when the stack is built; see its row in the README's ",
            "configuration table.\n\n```no_run\n",
            "let s = tracewire::builder().", stringify!($fn), "(", stringify!($($example)*), ")\n",
            "    .settings()?;\n# Ok::<(), tracewire::Error>(())\n```"
        )
    };
    (@one $fn:ident $key:literal pem ($($e:tt)*)) => {
        #[doc = typed!(@pem_doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: impl AsRef<Path>) -> Self {
            self.code.push(($key, path(value.as_ref())));
            self
        }
    };
    (@one $fn:ident $key:literal bool ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: bool) -> Self {
            self.code.push(($key, Raw::Bool(value)));
            self
        }
    };
    (@one $fn:ident $key:literal millis ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: Duration) -> Self {
            self.code.push(($key, millis(value)));
            self
        }
    };
    (@one $fn:ident $key:literal count ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: u64) -> Self {
            self.code.push(($key, count(value)));
            self
        }
    };
    (@one $fn:ident $key:literal text ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: impl Into<String>) -> Self {
            self.code.push(($key, Raw::Str(value.into())));
            self
        }
    };
    (@one $fn:ident $key:literal path ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: impl AsRef<Path>) -> Self {
            self.code.push(($key, path(value.as_ref())));
            self
        }
    };
    (@one $fn:ident $key:literal list ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Self {
            self.code.push(($key, list(values)));
            self
        }
    };
    (@one $fn:ident $key:literal map ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn<I, K, V>(mut self, pairs: I) -> Self
        where
            I: IntoIterator<Item = (K, V)>,
            K: Into<String>,
            V: Into<String>,
        {
            self.code.push(($key, map(pairs)));
            self
        }
    };
    (@one $fn:ident $key:literal protocol ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: Protocol) -> Self {
            self.code.push(($key, Raw::Str(value.to_string())));
            self
        }
    };
    (@one $fn:ident $key:literal sampler ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: SamplerKind) -> Self {
            self.code.push(($key, Raw::Str(name_of(&SamplerKind::ALL, SamplerKind::NAMES, value))));
            self
        }
    };
    (@one $fn:ident $key:literal temporality ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: MetricsTemporality) -> Self {
            self.code.push((
                $key,
                Raw::Str(name_of(&MetricsTemporality::ALL, MetricsTemporality::NAMES, value)),
            ));
            self
        }
    };
    (@one $fn:ident $key:literal traceresponse ($($e:tt)*)) => {
        #[doc = typed!(@doc $fn $key ($($e)*))]
        pub fn $fn(mut self, value: TraceResponseMode) -> Self {
            self.code.push((
                $key,
                Raw::Str(name_of(&TraceResponseMode::ALL, TraceResponseMode::NAMES, value)),
            ));
            self
        }
    };
}

typed! {
    with_traces_exporter "traces_exporter": text ("none");
    with_otlp_headers "otlp_headers": map ([("x-api-key", "secret")]);
    with_otlp_compression "otlp_compression": text ("gzip");
    with_otlp_certificate "otlp_certificate": pem ("/etc/ssl/collector.pem");
    with_otlp_client_certificate "otlp_client_certificate": pem ("/etc/ssl/collector.pem");
    with_otlp_client_key "otlp_client_key": pem ("/etc/ssl/collector.pem");
    with_otlp_insecure "otlp_insecure": bool (true);
    with_otlp_metrics_endpoint "otlp_metrics_endpoint": text ("http://metrics.internal:4318");
    with_otlp_metrics_protocol "otlp_metrics_protocol": protocol (tracewire::settings::Protocol::Grpc);
    with_otlp_metrics_headers "otlp_metrics_headers": map ([("x-api-key", "secret")]);
    with_otlp_metrics_compression "otlp_metrics_compression": text ("gzip");
    with_otlp_metrics_certificate "otlp_metrics_certificate": pem ("/etc/ssl/collector.pem");
    with_otlp_metrics_client_certificate "otlp_metrics_client_certificate": pem ("/etc/ssl/collector.pem");
    with_otlp_metrics_client_key "otlp_metrics_client_key": pem ("/etc/ssl/collector.pem");
    with_otlp_logs_endpoint "otlp_logs_endpoint": text ("http://logs.internal:4318");
    with_otlp_logs_protocol "otlp_logs_protocol": protocol (tracewire::settings::Protocol::HttpProtobuf);
    with_otlp_logs_headers "otlp_logs_headers": map ([("x-api-key", "secret")]);
    with_otlp_logs_timeout "otlp_logs_timeout_ms": millis (std::time::Duration::from_secs(5));
    with_otlp_logs_compression "otlp_logs_compression": text ("gzip");
    with_otlp_logs_certificate "otlp_logs_certificate": pem ("/etc/ssl/collector.pem");
    with_otlp_logs_client_certificate "otlp_logs_client_certificate": pem ("/etc/ssl/collector.pem");
    with_otlp_logs_client_key "otlp_logs_client_key": pem ("/etc/ssl/collector.pem");
    with_sampler_kind "sampler": sampler (tracewire::settings::SamplerKind::TraceIdRatio);
    with_resource_attributes "resource_attributes": map ([("deployment.environment.name", "prod")]);
    with_resource_detectors "resource_detectors": list (["host", "os"]);
    with_propagators "propagators": list (["tracecontext", "baggage", "b3"]);
    with_semconv_stability_opt_in "semconv_stability_opt_in": list (["rpc/dup"]);
    with_log_bridge "log_bridge": bool (false);
    with_batch_max_queue_size "batch_max_queue_size": count (4096);
    with_batch_max_queue_bytes "batch_max_queue_bytes": count (16 << 20);
    with_batch_max_export_batch_size "batch_max_export_batch_size": count (256);
    with_batch_max_concurrent_exports "batch_max_concurrent_exports": count (2);
    with_file_max_bytes "file_max_bytes": count (1 << 20);
    with_spool_dir "spool_dir": path ("/var/spool/my-service");
    with_spool_max_bytes "spool_max_bytes": count (256 << 20);
    with_exclude_paths "exclude_paths": list (["/health", "/metrics"]);
    with_redact_fields "redact_fields": list (["password", "card_number"]);
    with_attribute_value_length_limit "attribute_value_length_limit": count (1024);
    with_span_attribute_count_limit "span_attribute_count_limit": count (64);
    with_span_event_count_limit "span_event_count_limit": count (64);
    with_span_link_count_limit "span_link_count_limit": count (64);
    with_event_attribute_count_limit "event_attribute_count_limit": count (64);
    with_link_attribute_count_limit "link_attribute_count_limit": count (64);
    with_drop_warning_interval "drop_warning_interval_ms": millis (std::time::Duration::from_secs(10));
    with_logs_enabled "logs_enabled": bool (false);
    with_metrics_enabled "metrics_enabled": bool (false);
    with_metric_export_interval "metric_export_interval_ms": millis (std::time::Duration::from_secs(10));
    with_metric_export_timeout "metric_export_timeout_ms": millis (std::time::Duration::from_secs(5));
    with_metrics_temporality "metrics_temporality": temporality (tracewire::settings::MetricsTemporality::Delta);
    with_span_metrics "span_metrics": bool (true);
    with_span_metrics_max_series "span_metrics_max_series": count (500);
    with_span_events_with_logs "span_events_with_logs": bool (true);
    with_span_source_attributes "span_source_attributes": bool (true);
    with_keep_errors "keep_errors": bool (true);
    with_slow_threshold "slow_threshold_ms": millis (std::time::Duration::from_millis(500));
    with_tail_max_buffered_spans "tail_max_buffered_spans": count (10_000);
    with_tail_max_buffered_bytes "tail_max_buffered_bytes": count (16 << 20);
    with_traceresponse "traceresponse": traceresponse (tracewire::settings::TraceResponseMode::On);
    with_traceresponse_max_promotions_per_second "traceresponse_max_promotions_per_second": count (5);
}

#[cfg(test)]
mod tests {
    /// Setters written by hand in `builder.rs`, with their keys.
    const BY_HAND: &[&str] = &[
        "enabled",
        "tracing_enabled",
        "otlp_endpoint",
        "otlp_protocol",
        "otlp_timeout_ms",
        "sampling_rate",
        "service_name_override",
        "service_version",
        "log_level",
        "log_format",
        "shutdown_timeout_ms",
        "batch_scheduled_delay_ms",
    ];

    #[test]
    fn every_key_has_a_typed_setter() {
        let mut with_setter: Vec<&str> = super::KEYS.iter().chain(BY_HAND).copied().collect();
        with_setter.sort_unstable();
        let mut keys: Vec<&str> = crate::settings::keys::KEYS.iter().map(|k| k.name).collect();
        keys.sort_unstable();
        assert_eq!(with_setter, keys);
    }
}
