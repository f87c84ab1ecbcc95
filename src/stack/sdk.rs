//! The OpenTelemetry SDK's span limits from the settings (the sampler comes from
//! `sampling::Plan`).

use opentelemetry_sdk::trace::SpanLimits;

use crate::settings::Settings;

pub(super) fn span_limits(settings: &Settings) -> SpanLimits {
    SpanLimits {
        max_attributes_per_span: settings.span_attribute_count_limit,
        max_events_per_span: settings.span_event_count_limit,
        max_links_per_span: settings.span_link_count_limit,
        max_attributes_per_event: settings.event_attribute_count_limit,
        max_attributes_per_link: settings.link_attribute_count_limit,
    }
}
