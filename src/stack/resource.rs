//! The resource every span carries: what the detectors find (`detectors.rs`), `telemetry.*`,
//! `service.*`, `deployment.environment.name`, then the user's attributes over all of them.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use crate::settings::{Settings, Source};

/// The opentelemetry_sdk version pinned in Cargo.toml, reported as `telemetry.sdk.version`.
const OTEL_SDK_VERSION: &str = "0.33.1";

/// The detected attributes, `telemetry.sdk.*`, `service.version`, `deployment.environment.name`,
/// then the user's attributes (which replace anything detected), then `service.name`: from
/// settings it wins over one in `OTEL_RESOURCE_ATTRIBUTES` only when it was set explicitly, as
/// the specification orders.
pub(crate) fn resource(
    settings: &Settings,
    plugged: &[Box<dyn opentelemetry_sdk::resource::ResourceDetector>],
) -> Resource {
    let mut attrs = super::detectors::detect(settings);
    // Detectors plugged in by the user: over tracewire's, under the user's attributes.
    for d in plugged {
        for (k, v) in d.detect().iter() {
            attrs.retain(|kv| kv.key != *k);
            attrs.push(KeyValue::new(k.clone(), v.clone()));
        }
    }
    attrs.extend([
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", OTEL_SDK_VERSION),
        KeyValue::new("telemetry.distro.name", "tracewire"),
        KeyValue::new("telemetry.distro.version", env!("CARGO_PKG_VERSION")),
    ]);
    if let Some(v) = &settings.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    if let Some(e) = &settings.environment {
        attrs.push(KeyValue::new("deployment.environment.name", e.clone()));
    }
    let explicit_name = !matches!(
        settings.source(crate::settings::key_name!("service_name_override")),
        Some(Source::Default)
    );
    let mut has_name = false;
    for (k, v) in &settings.resource_attributes {
        if k == "service.name" {
            if explicit_name {
                continue;
            }
            has_name = true;
        }
        attrs.retain(|kv| kv.key.as_str() != k);
        attrs.push(KeyValue::new(k.clone(), v.clone()));
    }
    if !has_name {
        attrs.push(KeyValue::new("service.name", settings.service_name.clone()));
    }
    Resource::builder_empty().with_attributes(attrs).build()
}
