//! The OpenTelemetry SDK's configuration from the settings: span limits and the sampler.

use opentelemetry_sdk::trace::{Sampler, SpanLimits};

use crate::settings::{SamplerKind, Settings};

pub(super) fn span_limits(settings: &Settings) -> SpanLimits {
    SpanLimits {
        max_attributes_per_span: settings.span_attribute_count_limit,
        max_events_per_span: settings.span_event_count_limit,
        max_links_per_span: settings.span_link_count_limit,
        max_attributes_per_event: settings.event_attribute_count_limit,
        max_attributes_per_link: settings.link_attribute_count_limit,
    }
}

/// The configured sampler; with the tail rule, what it drops is recorded for the rule.
pub(super) fn head_sampler(settings: &Settings) -> Box<dyn opentelemetry_sdk::trace::ShouldSample> {
    Box::new(crate::sampling::HeadSampler {
        inner: sampler(settings),
        record_dropped: crate::export::tail::Rule::from_settings(settings).is_some(),
    })
}

pub(super) fn sampler(settings: &Settings) -> Sampler {
    let ratio = || Sampler::TraceIdRatioBased(settings.sampling_rate);
    match settings.sampler {
        SamplerKind::AlwaysOn => Sampler::AlwaysOn,
        SamplerKind::AlwaysOff => Sampler::AlwaysOff,
        SamplerKind::TraceIdRatio => ratio(),
        SamplerKind::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerKind::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        _ => Sampler::ParentBased(Box::new(ratio())),
    }
}
