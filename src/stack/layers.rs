//! The subscriber stack: tracewire's layers (filter, OpenTelemetry, log records, log lines,
//! the stack's own information), assembled for `init()` or as one layer for a user's registry,
//! and what the process holds once (the OpenTelemetry globals).

use std::sync::Arc;

use opentelemetry::global;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::error::{Error, ErrorKind, Result};
use crate::export::Pipeline;
use crate::layers::json_lines::LogWriter;
use crate::settings::{Export, Settings, Source};

use super::guard::Inner;
use super::resource::resource;
use super::sdk::span_limits;

/// What the process has once: the OpenTelemetry tracer provider and propagator, and the
/// one-line notice of the default file sink.
pub(super) fn set_process_state(settings: &Settings, inner: &Inner) {
    if let Some(provider) = &inner.provider {
        global::set_tracer_provider(provider.clone());
    }
    // `opentelemetry::global::meter(..)` then records with the same resource, export and
    // shutdown as tracewire's own metrics.
    #[cfg(feature = "metrics")]
    if let Some(meters) = &inner.meters {
        global::set_meter_provider(meters.provider.clone());
    }
    global::set_text_map_propagator(crate::propagation::W3cPropagator::default());
    announce_default_sink(settings);
    for w in settings.ignored() {
        eprintln!("tracewire: warning: {w}");
    }
}

pub(super) fn already_initialized() -> Error {
    Error::new(
        ErrorKind::AlreadyInitialized,
        "tracewire is already initialized in this process; the first stack stays installed",
    )
}

pub(super) fn announce_default_sink(settings: &Settings) {
    if let (Export::File { path }, Some(Source::Default)) = (
        &settings.export,
        settings.source(crate::settings::key_name!("otlp_endpoint")),
    ) {
        eprintln!(
            "tracewire: no OTLP endpoint configured; spans go to {} (set otlp_endpoint in settings.toml or OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector)",
            path.display()
        );
    }
}

type Stack = tracing::Dispatch;

/// Makes the `log` crate's records tracing events, once per process: a dependency that logs
/// through `log` then shows in the log lines and on the current span like any event. The `log`
/// crate has one logger per process: when the application installed another one first, that
/// one stays (`log_bridge = false` says so explicitly).
pub(super) fn install_log_bridge() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_log::LogTracer::init();
    });
}

/// The span targets of tracewire's integrations (HTTP server and client, messaging).
const INTEGRATION_TARGETS: &[&str] = &[
    "tracewire::http",
    "tracewire::grpc",
    "tracewire::messaging",
    "tracewire::db",
];

/// `log_level` is about the user's logs: `RUST_LOG="warn,my_app=info"` must not silently drop
/// the SERVER, CLIENT, PRODUCER and CONSUMER spans tracewire's integrations make (INFO, targets
/// `tracewire::http`, `tracewire::messaging`), which would break every trace at the first hop.
/// They stay enabled unless a directive names a `tracewire` target (`tracewire=off`, say).
pub(super) fn with_integration_spans(log_level: &str) -> String {
    let names_tracewire = log_level
        .split(',')
        .any(|d| d.trim().starts_with("tracewire"));
    if names_tracewire {
        return log_level.to_string();
    }
    let mut directives = log_level.to_string();
    for t in INTEGRATION_TARGETS {
        if !directives.trim().is_empty() {
            directives.push(',');
        }
        directives.push_str(t);
        directives.push_str("=info");
    }
    directives
}

pub(crate) use crate::layers::BoxedLayer;

/// The filter, and the layers behind it: the OpenTelemetry layer, the log-record bridge, the log
/// line layer, the metrics layer, and two that record nothing: what the stack does at the
/// service's boundary (found by the integrations in the dispatcher) and where the export task's
/// drop warnings go.
pub(super) struct Parts {
    filter: EnvFilter,
    otel: Option<crate::layers::typed_fields::SpanLayer<Registry>>,
    log_records: LogRecordsPart,
    lines: BoxedLayer,
    metrics: MetricsPart,
    boundary: crate::propagation::Boundary,
    warnings: crate::export::DropWarnings,
}

impl Parts {
    /// Every layer but the filter, chained: the one chain both forms of the stack use.
    fn chain(self) -> (EnvFilter, impl Layer<Registry> + Send + Sync + 'static) {
        use tracing_subscriber::Layer as _;
        // `Layer::and_then`, not `Option::and_then`: the OpenTelemetry layer may be absent.
        let chain = Layer::and_then(self.otel, self.log_records)
            .and_then(self.lines)
            .and_then(self.metrics)
            .and_then(self.boundary)
            .and_then(self.warnings);
        (self.filter, chain)
    }
}

#[cfg(feature = "logs")]
type LogRecordsPart = Option<
    crate::layers::typed_fields::TypedFields<
        opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge<
            opentelemetry_sdk::logs::SdkLoggerProvider,
            opentelemetry_sdk::logs::SdkLogger,
        >,
    >,
>;
#[cfg(not(feature = "logs"))]
type LogRecordsPart = Option<tracing_subscriber::layer::Identity>;

#[cfg(feature = "metrics")]
type MetricsPart = Option<crate::metrics::MetricsLayer>;
#[cfg(not(feature = "metrics"))]
type MetricsPart = Option<tracing_subscriber::layer::Identity>;

/// `init()`'s stack: one filter in front of every layer (the cheapest form), and the user's
/// extra layers, if any, beside tracewire's behind their own filters.
pub(super) fn build(
    settings: &Settings,
    writer: LogWriter,
    memory: Option<crate::stack::Memory>,
    extra: Vec<BoxedLayer>,
    plugins: super::plugins::Plugins,
) -> Result<(Stack, Inner)> {
    if settings.log_bridge {
        install_log_bridge();
    }
    let (parts, inner) = build_parts(settings, writer, memory, plugins)?;
    if extra.is_empty() {
        use tracing_subscriber::Layer as _;
        // The filter is the stack's only filter here: global, as cheap as filtering gets.
        let (filter, chain) = parts.chain();
        let stack = Registry::default().with(filter.and_then(chain));
        return Ok((tracing::Dispatch::new(stack), inner));
    }
    let mut layers = vec![filtered(parts)];
    layers.extend(extra);
    Ok((
        tracing::Dispatch::new(Registry::default().with(layers)),
        inner,
    ))
}

/// tracewire's layers as one, behind their own filter (`log_level`): beside other layers, the
/// filter must not decide for them.
pub(super) fn filtered(parts: Parts) -> BoxedLayer {
    use tracing_subscriber::Layer as _;
    let (filter, chain) = parts.chain();
    Box::new(chain.with_filter(filter))
}

/// The span layer and, behind it, the SDK provider, the export pipeline and (feature `logs`)
/// the log-record provider, which `inner` keeps for the guard. The sampling plan is built here
/// once and handed to each part that decides.
fn span_layer(
    settings: &Settings,
    memory: Option<crate::stack::Memory>,
    warn_to: &crate::export::WarnTo,
    inner: &mut Inner,
    metrics: &mut MetricsPart,
    traceresponse: &mut Option<Arc<crate::propagation::TraceResponse>>,
    plugins: super::plugins::Plugins,
) -> Result<crate::layers::typed_fields::SpanLayer<Registry>> {
    #[cfg(not(feature = "metrics"))]
    let _ = &metrics;
    let plan = super::configs::plan(settings)
        .with_sampler(plugins.sampler)
        .with_own_ids(plugins.ids.is_some());
    let resource = resource(settings, &plugins.detectors);
    let mut provider = SdkTracerProvider::builder()
        .with_span_limits(span_limits(settings))
        .with_sampler(plan.sdk_sampler())
        .with_resource(resource.clone());
    if let Some(ids) = &plugins.ids {
        provider = provider.with_id_generator(super::plugins::SharedIds(ids.clone()));
    }
    // A user's processor sees every span that ends recorded: through the provider for spans
    // of the OpenTelemetry API, through tracewire's tracer for `tracing` spans.
    let user: Vec<crate::layers::tracer::UserProcessor> = plugins
        .processors
        .into_iter()
        .map(|mut p| {
            p.set_resource(&resource);
            crate::export::SharedProcessor(Arc::from(p))
        })
        .collect();
    for p in &user {
        provider = provider.with_span_processor(p.clone());
    }
    let mut shared_processor = None;
    let export = super::configs::export(settings);
    if let Some((pipeline, processor)) = Pipeline::build(
        &export,
        plan.tail_rule(),
        &resource,
        warn_to.clone(),
        memory.as_ref().map(|m| m.spans.clone()),
    )? {
        #[cfg(feature = "metrics")]
        if let Some((meters, layer)) = crate::metrics::build(
            &super::configs::metrics(settings),
            &resource,
            &pipeline,
            memory.as_ref().map(|m| m.metrics.clone()),
        )? {
            inner.meters = Some(meters);
            *metrics = Some(layer);
        }
        inner.counters = Some(pipeline.counters.clone());
        #[cfg(feature = "logs")]
        if settings.logs_enabled {
            inner.logger = crate::export::log_records::provider(
                &pipeline,
                &export,
                &resource,
                warn_to.clone(),
            )?;
        }
        inner.pipeline = Some(pipeline);
        if let Some(processor) = processor {
            let processor = Arc::new(processor);
            shared_processor = Some(processor.clone());
            provider = provider.with_span_processor(crate::export::SharedProcessor(processor));
        }
    }
    let provider = provider.build();
    // Promotions need the tail rule's buffer: without it an unsampled trace was not recorded.
    *traceresponse = Some(Arc::new(super::configs::traceresponse(
        settings,
        shared_processor
            .clone()
            .filter(|_| plan.tail_rule().is_some()),
    )));
    let tracer = crate::layers::tracer::Tracer::new(
        &plan,
        span_limits(settings),
        shared_processor,
        user,
        plugins.ids,
    );
    inner.provider = Some(provider);
    Ok(crate::layers::typed_fields::span_layer(
        tracer,
        crate::redact::Redactor::new(&settings.redact_fields),
        settings.span_source_attributes,
        plan.gate(),
    ))
}

pub(super) fn build_parts(
    settings: &Settings,
    writer: LogWriter,
    memory: Option<crate::stack::Memory>,
    mut plugins: super::plugins::Plugins,
) -> Result<(Parts, Inner)> {
    let plugged: Arc<[_]> = std::mem::take(&mut plugins.propagators).into();
    let filter = EnvFilter::builder()
        .parse(with_integration_spans(&settings.log_level))
        .map_err(|e| {
            Error::config(format!(
                "invalid setting log_level = {:?}: {e}",
                settings.log_level
            ))
        })?;

    let mut inner = Inner {
        provider: None,
        #[cfg(feature = "logs")]
        logger: None,
        #[cfg(feature = "metrics")]
        meters: None,
        pipeline: None,
        counters: None,
        timeout: settings.shutdown_timeout,
        scope: None,
    };
    let warn_to: crate::export::WarnTo = Arc::default();
    let mut metrics: MetricsPart = None;
    let mut traceresponse = None;
    let otel_layer = if settings.enabled && settings.tracing_enabled {
        Some(span_layer(
            settings,
            memory,
            &warn_to,
            &mut inner,
            &mut metrics,
            &mut traceresponse,
            plugins,
        )?)
    } else {
        None
    };

    #[cfg(not(feature = "logs"))]
    let log_records = None;
    #[cfg(feature = "logs")]
    let log_records = inner.logger.as_ref().map(|lp| {
        crate::layers::typed_fields::TypedFields::new(
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(lp),
            crate::redact::Redactor::new(&settings.redact_fields),
        )
    });

    let redactor = crate::redact::Redactor::new(&settings.redact_fields);
    let lines = crate::layers::log_lines(settings.log_format, redactor, settings.no_color, writer);
    Ok((
        Parts {
            filter,
            otel: otel_layer,
            log_records,
            lines,
            metrics,
            boundary: super::configs::boundary(settings, plugged, traceresponse),
            warnings: crate::export::DropWarnings(warn_to),
        },
        inner,
    ))
}

#[cfg(test)]
mod filter_tests {
    use super::with_integration_spans;

    #[test]
    fn integration_spans_survive_the_users_log_level() {
        assert_eq!(
            with_integration_spans("warn,my_app=info"),
            "warn,my_app=info,tracewire::http=info,tracewire::grpc=info,tracewire::messaging=info,tracewire::db=info"
        );
        assert_eq!(
            with_integration_spans(""),
            "tracewire::http=info,tracewire::grpc=info,tracewire::messaging=info,tracewire::db=info"
        );
        assert_eq!(
            with_integration_spans("info,tracewire=off"),
            "info,tracewire=off"
        );
        assert_eq!(
            with_integration_spans("tracewire::http=warn"),
            "tracewire::http=warn"
        );
    }
}
