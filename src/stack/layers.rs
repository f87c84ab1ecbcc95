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
use crate::layers::json_lines::{JsonLayer, LogWriter};
use crate::settings::{Export, LogFormat, Settings, Source};

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

/// tracewire's layers, ready to sit on a [`Registry`], boxed: what `init()` installs, and what
/// [`Builder::layer`](crate::Builder::layer) hands over.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync + 'static>;

/// The filter, the OpenTelemetry layer, the log-record bridge and the log line layer.
pub(super) struct Parts {
    filter: EnvFilter,
    otel: Option<crate::layers::typed_fields::SpanLayer<Registry>>,
    #[cfg(feature = "logs")]
    log_records: Option<
        crate::layers::typed_fields::TypedFields<
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge<
                opentelemetry_sdk::logs::SdkLoggerProvider,
                opentelemetry_sdk::logs::SdkLogger,
            >,
        >,
    >,
    lines: BoxedLayer,
    metrics: MetricsPart,
    info: StackInfo,
}

#[cfg(feature = "metrics")]
type MetricsPart = Option<crate::metrics::MetricsLayer>;
#[cfg(not(feature = "metrics"))]
type MetricsPart = Option<tracing_subscriber::layer::Identity>;

/// What travels with the stack instead of living in process globals: which propagation formats
/// are active and which HTTP paths are not traced, found from the current dispatcher (so
/// `set_default()`, the test kit and a `ServerLayer` built before the stack all honour them);
/// and, once the layer is part of a dispatcher, where the export task's drop warnings go.
pub(crate) struct StackInfo {
    warn_to: crate::export::WarnTo,
    /// The configured propagation formats, in order.
    pub(crate) propagators: crate::propagation::Formats,
    /// Propagators plugged in with `Builder::with_propagator`, run after the formats.
    pub(crate) extra_propagators:
        Arc<[Arc<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>]>,
    #[cfg_attr(
        not(any(feature = "http-server", feature = "tonic", feature = "actix-web")),
        allow(dead_code)
    )]
    pub(crate) exclude_paths: Arc<[String]>,
    /// `OTEL_SEMCONV_STABILITY_OPT_IN` holds `rpc/dup`: gRPC spans carry the previous names too.
    #[cfg_attr(not(feature = "tonic"), allow(dead_code))]
    pub(crate) rpc_dup: bool,
    /// What `traceresponse` does in this stack (`None` with tracing off).
    pub(crate) deferred: Option<Arc<crate::sampling::Deferred>>,
}

impl<S: tracing::Subscriber> Layer<S> for StackInfo {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.warn_to.set(subscriber.downgrade());
    }
}

/// For a server layer's request: `None` when `path` is excluded (by `list`, an exact path or a
/// prefix ending in `*`, when the integration was given one, else by the current stack's
/// `exclude_paths`), else what `begin` makes of this stack's `traceresponse` settings (see
/// `Deferred::begin`); one look at the stack for both.
#[cfg_attr(
    not(any(feature = "http-server", feature = "tonic", feature = "actix-web")),
    allow(dead_code)
)]
pub(crate) fn server_request(
    list: Option<&[String]>,
    path: &str,
    begin: impl FnOnce(&Arc<crate::sampling::Deferred>) -> Option<crate::sampling::Pending>,
) -> Option<Option<crate::sampling::Pending>> {
    let matches = |list: &[String]| {
        list.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => p == path,
        })
    };
    with_stack_info(|s| {
        (!matches(list.unwrap_or(&s.exclude_paths))).then(|| s.deferred.as_ref().and_then(begin))
    })
    .unwrap_or_else(|| (!list.is_some_and(matches)).then_some(None))
}

/// `f` of the current stack's [`StackInfo`], `None` outside a tracewire stack.
pub(crate) fn with_stack_info<R>(f: impl FnOnce(&StackInfo) -> R) -> Option<R> {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<StackInfo>()
            .and_then(|s| f.take().map(|f| f(s)))
    })
}

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
        #[cfg(feature = "logs")]
        let all = parts
            .filter
            .and_then(parts.otel)
            .and_then(parts.log_records)
            .and_then(parts.lines)
            .and_then(parts.metrics)
            .and_then(parts.info);
        #[cfg(not(feature = "logs"))]
        let all = parts
            .filter
            .and_then(parts.otel)
            .and_then(parts.lines)
            .and_then(parts.metrics)
            .and_then(parts.info);
        return Ok((tracing::Dispatch::new(Registry::default().with(all)), inner));
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
    // `Layer::and_then`, not `Option::and_then`: the OpenTelemetry layer may be absent.
    #[cfg(feature = "logs")]
    let inner = Layer::and_then(parts.otel, parts.log_records)
        .and_then(parts.lines)
        .and_then(parts.metrics)
        .and_then(parts.info);
    #[cfg(not(feature = "logs"))]
    let inner = Layer::and_then(parts.otel, parts.lines)
        .and_then(parts.metrics)
        .and_then(parts.info);
    Box::new(inner.with_filter(parts.filter))
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
    deferred: &mut Option<Arc<crate::sampling::Deferred>>,
    plugins: super::plugins::Plugins,
) -> Result<crate::layers::typed_fields::SpanLayer<Registry>> {
    #[cfg(not(feature = "metrics"))]
    let _ = &metrics;
    let plan = crate::sampling::Plan::new(settings)
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
    let user: Vec<super::plugins::UserProcessor> = plugins
        .processors
        .into_iter()
        .map(|mut p| {
            p.set_resource(&resource);
            super::plugins::UserProcessor(Arc::from(p))
        })
        .collect();
    for p in &user {
        provider = provider.with_span_processor(p.clone());
    }
    let mut shared_processor = None;
    if let Some((pipeline, processor)) = Pipeline::build(
        settings,
        plan.tail_rule(),
        &resource,
        warn_to.clone(),
        memory.as_ref().map(|m| m.spans.clone()),
    )? {
        #[cfg(feature = "metrics")]
        if let Some((meters, layer)) = crate::metrics::build(
            settings,
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
                settings,
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
    *deferred = Some(Arc::new(crate::sampling::Deferred::new(
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
    let extra_propagators: Arc<[_]> = std::mem::take(&mut plugins.propagators).into();
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
    let mut deferred = None;
    let otel_layer = if settings.enabled && settings.tracing_enabled {
        Some(span_layer(
            settings,
            memory,
            &warn_to,
            &mut inner,
            &mut metrics,
            &mut deferred,
            plugins,
        )?)
    } else {
        None
    };

    #[cfg(feature = "logs")]
    let log_records = inner.logger.as_ref().map(|lp| {
        crate::layers::typed_fields::TypedFields::new(
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(lp),
            crate::redact::Redactor::new(&settings.redact_fields),
        )
    });

    let ansi = crate::layers::human_lines::colours(writer.is_stdout(), settings.no_color);
    let fields = || {
        crate::layers::human_lines::RedactedFields::new(crate::redact::Redactor::new(
            &settings.redact_fields,
        ))
    };
    let log_layer = match settings.log_format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .fmt_fields(fields())
            .event_format(crate::layers::human_lines::WithIds(
                crate::layers::human_lines::Pretty { ansi },
            ))
            .with_writer(writer)
            .boxed(),
        LogFormat::Compact => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .fmt_fields(fields())
            .event_format(crate::layers::human_lines::WithIds(
                tracing_subscriber::fmt::format().compact().with_ansi(ansi),
            ))
            .with_writer(writer)
            .boxed(),
        _ => JsonLayer::new(
            writer,
            crate::redact::Redactor::new(&settings.redact_fields),
        )
        .boxed(),
    };
    Ok((
        Parts {
            filter,
            otel: otel_layer,
            #[cfg(feature = "logs")]
            log_records,
            lines: log_layer,
            metrics,
            info: StackInfo {
                warn_to,
                propagators: crate::propagation::Formats::new(
                    &settings.propagators,
                    crate::sampling::Plan::new(settings).defer_rate(),
                ),
                extra_propagators,
                exclude_paths: settings.exclude_paths.clone().into(),
                rpc_dup: settings
                    .semconv_stability_opt_in
                    .iter()
                    .any(|d| d == "rpc/dup"),
                deferred,
            },
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
