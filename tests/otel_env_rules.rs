//! The OpenTelemetry specification's parsing rules for `OTEL_*` variables: an empty value is
//! unset; enums are read in any case; an unknown enum value, a number that does not parse or is
//! out of range, and anything else tracewire cannot use warns (naming the variable and the
//! value) and is ignored, as if unset; a boolean other than `true`/`false` warns and means
//! false. An operator's environment never stops `init()`. tracewire's own keys keep failing
//! fast (`config_errors.rs`).

use std::time::Duration;

use tracewire::settings::{Export, Protocol, Settings, Source};

fn settings(env: &[(&str, &str)]) -> Settings {
    tracewire::builder()
        .without_settings_file()
        .with_env(env.iter().copied())
        .settings()
        .unwrap_or_else(|e| panic!("{env:?} must not stop init(): {e}"))
}

/// Asserts a warning names every one of `words`.
fn warned(s: &Settings, words: &[&str]) {
    assert!(
        s.ignored()
            .iter()
            .any(|w| words.iter().all(|word| w.contains(word))),
        "expected a warning with {words:?}, got {:#?}",
        s.ignored()
    );
}

#[test]
fn unusable_values_warn_and_keep_the_default() {
    let defaults = settings(&[]);
    assert!(defaults.ignored().is_empty(), "{:?}", defaults.ignored());
    type Check = fn(&Settings, &Settings);
    let rows: &[(&str, &str, Check)] = &[
        ("OTEL_METRICS_EXPORTER", "prometheus", |s, d| {
            assert_eq!(s.metrics_enabled, d.metrics_enabled)
        }),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "Deltas",
            |s, d| assert_eq!(s.metrics_temporality, d.metrics_temporality),
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://local\rhost:4317",
            |s, d| assert_eq!(s.export, d.export),
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://host:99999",
            |s, d| assert_eq!(s.export, d.export),
        ),
        ("OTEL_TRACES_SAMPLER_ARG", "-0.1", |s, d| {
            assert_eq!(s.sampling_rate, d.sampling_rate)
        }),
        (
            "OTEL_TRACES_SAMPLER_ARG",
            "endpoint=http://jaeger:5778",
            |s, d| assert_eq!(s.sampling_rate, d.sampling_rate),
        ),
        ("OTEL_TRACES_SAMPLER", "jaeger_remote", |s, d| {
            assert_eq!(s.sampler, d.sampler)
        }),
        ("OTEL_TRACES_EXPORTER", "zipkin", |s, d| {
            assert_eq!(s.export, d.export)
        }),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", |s, _| {
            assert!(
                s.ignored()
                    .iter()
                    .any(|w| w.contains("grpc, http/protobuf"))
            )
        }),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue", |s, d| {
            assert_eq!(s.otlp_headers, d.otlp_headers)
        }),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "/no/such/ca.pem",
            |s, _| assert_eq!(s.otlp_certificate, None),
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", |s, d| {
            assert_eq!(s.otlp_gzip, d.otlp_gzip)
        }),
        ("OTEL_BSP_SCHEDULE_DELAY", "soon", |s, d| {
            assert_eq!(s.batch_scheduled_delay, d.batch_scheduled_delay)
        }),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "-5", |s, d| {
            assert_eq!(s.batch_max_queue_size, d.batch_max_queue_size)
        }),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "1e9", |s, d| {
            assert_eq!(s.span_attribute_count_limit, d.span_attribute_count_limit)
        }),
        ("OTEL_SERVICE_NAME", "a\u{7}b", |s, d| {
            assert_eq!(s.service_name, d.service_name)
        }),
        ("OTEL_RESOURCE_ATTRIBUTES", "tier=2,broken", |s, _| {
            // The whole value is dropped, as the resource specification says.
            assert!(
                s.resource_attributes.is_empty(),
                "{:?}",
                s.resource_attributes
            )
        }),
        ("OTEL_LOGS_EXPORTER", "console", |s, d| {
            assert_eq!(s.logs_enabled, d.logs_enabled)
        }),
        ("OTEL_METRIC_EXPORT_INTERVAL", "60s", |s, d| {
            assert_eq!(s.metric_export_interval, d.metric_export_interval)
        }),
    ];
    for (var, value, check) in rows {
        let s = settings(&[(var, value)]);
        let shown = format!("{value:?}");
        warned(
            &s,
            &[var, shown.trim_matches('"').split('\r').next().unwrap()],
        );
        assert!(
            s.ignored().iter().any(|w| w.contains("ignored")),
            "{var}: {:?}",
            s.ignored()
        );
        check(&s, &defaults);
        assert!(
            s.explain().to_string().contains("# ignored:"),
            "{var}: explain() lists what was ignored"
        );
    }
}

#[test]
fn an_unusable_signal_variable_falls_back_to_the_generic_one_then_the_file() {
    let s = settings(&[
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:9999"),
    ]);
    warned(&s, &["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"]);
    assert_eq!(
        s.export,
        Export::Otlp {
            url: "http://collector:9999".into(),
            protocol: Protocol::Grpc
        }
    );
    assert_eq!(
        s.source("otlp_protocol"),
        Some(&Source::Env {
            var: "OTEL_EXPORTER_OTLP_PROTOCOL"
        })
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.toml");
    std::fs::write(&file, "[observability]\nsampling_rate = 0.25\n").unwrap();
    let s = tracewire::builder()
        .with_settings_file(&file)
        .with_env([("OTEL_TRACES_SAMPLER_ARG", "abc")])
        .settings()
        .unwrap();
    assert_eq!(
        s.sampling_rate, 0.25,
        "the file's value, as if the variable were unset"
    );
    warned(&s, &["OTEL_TRACES_SAMPLER_ARG", "abc"]);
}

#[test]
fn booleans_are_true_only_when_true() {
    // Only `true`, in any case, disables the SDK; anything else warns and means false.
    assert!(!settings(&[("OTEL_SDK_DISABLED", "TRUE")]).enabled);
    let s = settings(&[("OTEL_SDK_DISABLED", "false")]);
    assert!(s.enabled && s.ignored().is_empty());
    for not_a_boolean in ["yes", "1", "on", "disabled"] {
        let s = settings(&[("OTEL_SDK_DISABLED", not_a_boolean)]);
        assert!(s.enabled, "OTEL_SDK_DISABLED={not_a_boolean} means false");
        warned(&s, &["OTEL_SDK_DISABLED", not_a_boolean, "read as false"]);
    }
    let s = settings(&[
        ("OTEL_EXPORTER_OTLP_INSECURE", "1"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
    ]);
    assert!(!s.otlp_insecure);
    warned(&s, &["OTEL_EXPORTER_OTLP_INSECURE", "1"]);
    // tracewire's own keys still take the usual spellings.
    let s = tracewire::builder()
        .without_settings_file()
        .with_env([("TRACEWIRE_ENABLED", "no")])
        .settings()
        .unwrap();
    assert!(!s.enabled);
}

#[test]
fn empty_means_unset_and_enums_ignore_case() {
    let s = settings(&[
        ("OTEL_SDK_DISABLED", ""),
        ("OTEL_TRACES_SAMPLER", "  "),
        ("OTEL_PROPAGATORS", ""),
        ("OTEL_TRACES_EXPORTER", "NONE"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"),
    ]);
    assert!(s.ignored().is_empty(), "{:?}", s.ignored());
    assert!(s.enabled);
    assert_eq!(s.propagators, ["tracecontext", "baggage"]);
    assert_eq!(s.export, Export::None);
    assert!(s.otlp_gzip);
}

#[test]
fn a_timeout_of_zero_means_no_limit() {
    let s = settings(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]);
    assert_eq!(s.otlp_timeout, Duration::from_secs(600));
    assert!(s.ignored().is_empty());
}

#[test]
fn unknown_propagators_are_left_out_one_by_one() {
    let s = settings(&[(
        "OTEL_PROPAGATORS",
        "tracecontext,Baggage,carrier-pigeon,tracecontext",
    )]);
    assert_eq!(
        s.propagators,
        ["tracecontext", "baggage"],
        "known ones kept, once each"
    );
    warned(&s, &["OTEL_PROPAGATORS", "carrier-pigeon", "left out"]);
}

#[test]
fn exporter_lists_keep_what_tracewire_has() {
    let s = settings(&[("OTEL_METRICS_EXPORTER", "prometheus,otlp")]);
    assert!(s.metrics_enabled || !cfg!(feature = "metrics"));
    warned(&s, &["OTEL_METRICS_EXPORTER", "prometheus", "left out"]);
    let s = settings(&[("OTEL_METRICS_EXPORTER", "none")]);
    assert!(!s.metrics_enabled);
}

#[test]
fn half_a_client_certificate_from_the_environment_is_ignored() {
    let s = settings(&[(
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        "/etc/ssl/certs/ca-certificates.crt",
    )]);
    assert_eq!(s.otlp_client_key, None);
    warned(&s, &["otlp_client_key is set", "mutual TLS needs both"]);
}

#[test]
fn no_endpoint_in_a_kubernetes_pod_exports_nothing_rather_than_filling_a_file() {
    let s = settings(&[("KUBERNETES_SERVICE_HOST", "10.0.0.1")]);
    assert_eq!(s.export, Export::None);
    warned(&s, &["Kubernetes", "OTEL_EXPORTER_OTLP_ENDPOINT"]);
    // A newcomer's machine keeps the file sink.
    assert!(matches!(settings(&[]).export, Export::File { .. }));
}

/// `init()` itself (not only the settings) starts with the values above, and says what it
/// ignored.
#[test]
fn a_stack_starts_with_unknown_values_in_the_environment() {
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("OTEL_PROPAGATORS", "tracecontext,baggage,carrier-pigeon"),
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_TRACES_SAMPLER", "jaeger_remote"),
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "lots"),
        ])
        .with_log_writer(std::io::sink())
        .set_default()
        .expect("an operator's unknown values do not stop the service");
    let id = tracing::info_span!("work").in_scope(tracewire::propagation::current_trace_id);
    assert!(
        id.is_some(),
        "tracing is on: OTEL_SDK_DISABLED=yes is false"
    );
    guard.shutdown().unwrap();
}
