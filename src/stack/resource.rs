//! The resource every span carries: `service.*`, `deployment.environment.name`, `host.name`,
//! `process.pid`, `telemetry.*`, then the user's attributes.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use crate::settings::{Settings, Source};

/// The opentelemetry_sdk version pinned in Cargo.toml, reported as `telemetry.sdk.version`.
const OTEL_SDK_VERSION: &str = "0.33.1";

/// `service.name`, `service.version`, `deployment.environment.name`, `host.name`, `process.pid`,
/// `telemetry.sdk.*`, then the user's attributes; `service.name` from settings wins over one in
/// `OTEL_RESOURCE_ATTRIBUTES` only when it was set explicitly, as the spec orders.
pub(crate) fn resource(settings: &Settings) -> Resource {
    let mut attrs = vec![
        KeyValue::new("telemetry.sdk.name", "opentelemetry"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", OTEL_SDK_VERSION),
        KeyValue::new("telemetry.distro.name", "tracewire"),
        KeyValue::new("telemetry.distro.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("process.pid", i64::from(std::process::id())),
    ];
    if let Some(host) = host_name() {
        attrs.push(KeyValue::new("host.name", host));
    }
    if let Some(v) = &settings.service_version {
        attrs.push(KeyValue::new("service.version", v.clone()));
    }
    if let Some(e) = &settings.environment {
        attrs.push(KeyValue::new("deployment.environment.name", e.clone()));
    }
    let explicit_name = !matches!(
        settings.source("service_name_override"),
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
        attrs.push(KeyValue::new(k.clone(), v.clone()));
    }
    if !has_name {
        attrs.push(KeyValue::new("service.name", settings.service_name.clone()));
    }
    Resource::builder_empty().with_attributes(attrs).build()
}

fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
}
