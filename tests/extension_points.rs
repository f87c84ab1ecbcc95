//! What a team plugs in beside tracewire's parts: a sampler (dropping health checks by name), a
//! span processor and a span exporter (each sees every recorded span, tracewire's export still
//! gets them), a propagator (its header written and read on tracewire's paths), a resource
//! detector (its attribute on the resource, under the user's), an id generator (X-Ray-style ids
//! on every span, no W3C random flag).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    IdGenerator, Sampler, SamplingDecision, SamplingResult, ShouldSample, SpanData, SpanExporter,
    SpanProcessor,
};
use tracewire::testing::Capture;

#[derive(Debug, Clone)]
struct NoHealthChecks;

impl ShouldSample for NoHealthChecks {
    fn should_sample(
        &self,
        parent: Option<&opentelemetry::Context>,
        trace_id: TraceId,
        name: &str,
        kind: &opentelemetry::trace::SpanKind,
        attributes: &[opentelemetry::KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        if name == "health" {
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: vec![],
                trace_state: Default::default(),
            };
        }
        Sampler::AlwaysOn.should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

#[derive(Debug, Clone, Default)]
struct Names(Arc<Mutex<Vec<String>>>);

impl SpanProcessor for Names {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().unwrap().push(span.name.to_string());
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
struct Exported {
    names: Arc<Mutex<Vec<String>>>,
    resource: Arc<Mutex<Vec<(String, String)>>>,
}

impl SpanExporter for Exported {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut names = self.names.lock().unwrap();
        names.extend(batch.into_iter().map(|s| s.name.to_string()));
        Ok(())
    }
    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        *self.resource.lock().unwrap() = resource
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
}

#[test]
fn a_sampler_processor_and_exporter_of_your_own() {
    let names = Names::default();
    let exported = Exported::default();
    let capture = Capture::with_builder(
        tracewire::builder()
            .without_settings_file()
            // The user's sampler replaces this rate.
            .with_sampling_rate(0.0)
            .with_sampler(NoHealthChecks)
            .with_span_processor(names.clone())
            .with_span_exporter(exported.clone())
            .with_resource_detector(Region)
            .with_env([("OTEL_RESOURCE_ATTRIBUTES", "deployment.team=payments")]),
    )
    .unwrap();
    tracing::info_span!("health").in_scope(|| {});
    tracing::info_span!("checkout").in_scope(|| tracing::info_span!("charge").in_scope(|| {}));

    let captured: Vec<String> = capture.spans().into_iter().map(|s| s.name).collect();
    assert_eq!(captured, ["charge", "checkout"], "tracewire's export");
    assert_eq!(
        *names.0.lock().unwrap(),
        ["charge", "checkout"],
        "the processor"
    );
    drop(capture);
    assert_eq!(
        *exported.names.lock().unwrap(),
        ["charge", "checkout"],
        "the exporter, flushed at shutdown"
    );
    let resource = exported.resource.lock().unwrap().clone();
    let get = |k: &str| {
        resource
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("cloud.region").as_deref(),
        Some("eu-west-1"),
        "{resource:?}"
    );
    assert_eq!(get("deployment.team").as_deref(), Some("payments"));
    assert!(
        get("host.name").is_some(),
        "tracewire's detectors still run"
    );
}

#[derive(Debug)]
struct Region;

impl opentelemetry_sdk::resource::ResourceDetector for Region {
    fn detect(&self) -> opentelemetry_sdk::Resource {
        opentelemetry_sdk::Resource::builder_empty()
            .with_attribute(opentelemetry::KeyValue::new("cloud.region", "eu-west-1"))
            .with_attribute(opentelemetry::KeyValue::new("deployment.team", "detected"))
            .build()
    }
}

/// `x-request-trace: <trace id>-<span id>`, a format some in-house services speak.
#[derive(Debug)]
struct InHouse;

impl TextMapPropagator for InHouse {
    fn inject_context(&self, cx: &opentelemetry::Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            injector.set(
                "x-request-trace",
                format!("{}-{}", sc.trace_id(), sc.span_id()),
            );
        }
    }

    fn extract_with_context(
        &self,
        cx: &opentelemetry::Context,
        extractor: &dyn Extractor,
    ) -> opentelemetry::Context {
        let Some((t, s)) = extractor
            .get("x-request-trace")
            .and_then(|v| v.split_once('-'))
        else {
            return cx.clone();
        };
        let (Ok(t), Ok(s)) = (TraceId::from_hex(t), SpanId::from_hex(s)) else {
            return cx.clone();
        };
        cx.with_remote_span_context(SpanContext::new(
            t,
            s,
            TraceFlags::SAMPLED,
            true,
            Default::default(),
        ))
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        opentelemetry::propagation::text_map_propagator::FieldIter::new(&[])
    }
}

#[test]
fn a_propagator_of_your_own_on_tracewires_paths() {
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([("OTEL_TRACES_EXPORTER", "none")])
        .with_propagator(InHouse)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let mut out: HashMap<String, String> = HashMap::new();
    let tp = tracing::info_span!("call").in_scope(|| {
        tracewire::propagation::inject(&mut out);
        tracewire::propagation::current_traceparent().unwrap()
    });
    assert_eq!(
        out["x-request-trace"],
        format!("{}-{}", &tp[3..35], &tp[36..52])
    );
    assert!(
        out.contains_key("traceparent"),
        "the configured formats still"
    );

    let incoming: HashMap<String, String> = [(
        "x-request-trace".to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7".to_string(),
    )]
    .into();
    let cx = tracewire::propagation::extract(&incoming);
    assert_eq!(
        cx.span().span_context().trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    guard.shutdown().unwrap();
}

/// X-Ray's shape: the first 4 bytes of a trace id are the time in seconds.
#[derive(Debug)]
struct XRayIds;

impl IdGenerator for XRayIds {
    fn new_trace_id(&self) -> TraceId {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as u128;
        TraceId::from((secs << 96) | 0x1234_5678_9abc_def0_1234_5678)
    }
    fn new_span_id(&self) -> SpanId {
        SpanId::from(0x0102_0304_0506_0708)
    }
}

#[test]
fn an_id_generator_of_your_own_at_any_rate() {
    for rate in [1.0, 0.0] {
        let capture = Capture::with_builder(
            tracewire::builder()
                .without_settings_file()
                .with_sampling_rate(rate)
                .with_id_generator(XRayIds),
        )
        .unwrap();
        let tp = tracing::info_span!("work")
            .in_scope(tracewire::propagation::current_traceparent)
            .unwrap();
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let prefix = u64::from_str_radix(&tp[3..11], 16).unwrap();
        assert!(secs.abs_diff(prefix) < 5, "rate {rate}: {tp}");
        assert_eq!(&tp[36..52], "0102030405060708", "rate {rate}: {tp}");
        let flags = if rate > 0.0 { "01" } else { "00" };
        assert_eq!(&tp[53..], flags, "rate {rate}: no random flag: {tp}");
        let spans = capture.spans();
        assert_eq!(spans.len(), usize::from(rate > 0.0), "rate {rate}");
    }
}
