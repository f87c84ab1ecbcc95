//! Bad input in tracewire's own keys (`settings.toml`, `TRACEWIRE_*`, code) gets an error that
//! names the key or variable, the value and what is allowed, and `init()` returns it instead of
//! panicking or falling back. (`OTEL_*` values follow the specification instead: warned about
//! and ignored, see `otel_env_rules.rs`.)

use tracewire::ErrorKind;

enum Input {
    File(&'static str),
    Env(&'static str, &'static str),
}

use Input::{Env, File};

const ROWS: &[(Input, &[&str])] = &[
    (
        Env("TRACEWIRE_METRICS_ENABLED", "prometheus"),
        &["TRACEWIRE_METRICS_ENABLED", "prometheus", "true or false"],
    ),
    (
        Env("TRACEWIRE_METRICS_TEMPORALITY", "Deltas"),
        &[
            "TRACEWIRE_METRICS_TEMPORALITY",
            "Deltas",
            "cumulative, delta, lowmemory",
        ],
    ),
    (
        File("metric_export_interval_ms = 10"),
        &["metric_export_interval_ms", "10", "from 100 to 86400000"],
    ),
    (
        Env("RUST_LOG", "info\nmy_app=debug"),
        &["RUST_LOG", "control characters", "U+000A at byte 4"],
    ),
    (
        Env("TRACEWIRE_OTLP_ENDPOINT", "http://local\rhost:4317"),
        &["TRACEWIRE_OTLP_ENDPOINT", "U+000D"],
    ),
    (
        File("exclude_paths = [\"/ok\", \"/a\\u0000b\"]"),
        &["exclude_paths", "U+0000"],
    ),
    (
        File("sampling_rate = 1.5"),
        &["sampling_rate", "1.5", "0.0 to 1.0", "[observability]"],
    ),
    (
        Env("TRACEWIRE_SAMPLING_RATE", "abc"),
        &["TRACEWIRE_SAMPLING_RATE", "abc", "0.0 to 1.0"],
    ),
    (
        File("otlp_protocol = \"thrift\""),
        &["otlp_protocol", "thrift", "grpc, http/protobuf"],
    ),
    (
        Env("TRACEWIRE_OTLP_PROTOCOL", "http/json"),
        &[
            "TRACEWIRE_OTLP_PROTOCOL",
            "http/json",
            "grpc, http/protobuf",
        ],
    ),
    (
        File("otlp_endpoint = \"ftp://localhost:4317\""),
        &[
            "otlp_endpoint",
            "ftp://localhost:4317",
            "an http:// or https:// URL with a host",
        ],
    ),
    (
        Env("TRACEWIRE_OTLP_CERTIFICATE", "/no/such/ca.pem"),
        &[
            "TRACEWIRE_OTLP_CERTIFICATE",
            "/no/such/ca.pem",
            "a readable PEM file",
            "No such file",
        ],
    ),
    (
        File("otlp_certificate = \"/etc/hostname\""),
        &["otlp_certificate", "/etc/hostname", "a PEM file"],
    ),
    (
        Env(
            "TRACEWIRE_OTLP_CLIENT_KEY",
            "/etc/ssl/certs/ca-certificates.crt",
        ),
        &[
            "otlp_client_key is set",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        ],
    ),
    (
        File("otlp_endpoint = \"https://c:4317\"\notlp_insecure = true"),
        &[
            "otlp_endpoint",
            "otlp_insecure = true contradicts an https:// endpoint",
        ],
    ),
    (
        Env("TRACEWIRE_OTLP_ENDPOINT", "http://host:99999"),
        &["TRACEWIRE_OTLP_ENDPOINT", "99999", "port"],
    ),
    (
        File("sampling_rte = 0.5"),
        &[
            "sampling_rte",
            "did you mean `sampling_rate`?",
            "allowed keys",
        ],
    ),
    (
        Env("TRACEWIRE_SAMPLNG_RATE", "0.5"),
        &[
            "TRACEWIRE_SAMPLNG_RATE",
            "did you mean TRACEWIRE_SAMPLING_RATE?",
        ],
    ),
    (
        File("log_format = \"xml\""),
        &["log_format", "xml", "json, pretty, compact"],
    ),
    (
        File("log_level = \"info,my_crate=loud\""),
        &["log_level", "my_crate=loud", "env-filter directives"],
    ),
    (
        Env("TRACEWIRE_SAMPLER", "sometimes"),
        &["TRACEWIRE_SAMPLER", "sometimes", "parentbased_traceidratio"],
    ),
    (
        Env("TRACEWIRE_ENABLED", "maybe"),
        &["TRACEWIRE_ENABLED", "maybe", "true or false"],
    ),
    (
        File("shutdown_timeout_ms = -5"),
        &["shutdown_timeout_ms", "-5", "whole number"],
    ),
    (
        File("otlp_compression = \"brotli\""),
        &["otlp_compression", "brotli", "none, gzip"],
    ),
    (
        Env("TRACEWIRE_TRACES_EXPORTER", "zipkin"),
        &["TRACEWIRE_TRACES_EXPORTER", "zipkin", "otlp, none"],
    ),
    (
        Env("TRACEWIRE_OTLP_HEADERS", "novalue"),
        &["TRACEWIRE_OTLP_HEADERS", "has no `=`"],
    ),
    (
        Env("TRACEWIRE_PROPAGATORS", "tracecontext,carrier-pigeon"),
        &[
            "TRACEWIRE_PROPAGATORS",
            "carrier-pigeon",
            "tracecontext, baggage",
        ],
    ),
    (
        File("tracing_enabled = \"yes please\""),
        &["tracing_enabled", "yes please", "true or false"],
    ),
    (File("[observability"), &["cannot read settings file"]),
    (
        Env("TRACEWIRE_SETTINGS", "/definitely/missing/settings.toml"),
        &[
            "/definitely/missing/settings.toml",
            "not found",
            "TRACEWIRE_SETTINGS",
        ],
    ),
];

#[test]
fn every_config_error_names_key_value_and_allowed() {
    for (i, (input, expected)) in ROWS.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        let (file, env) = match input {
            File(body) => {
                let body = if body.starts_with('[') {
                    body.to_string()
                } else {
                    format!("[observability]\n{body}\n")
                };
                (body, vec![])
            }
            Env(k, v) => (String::new(), vec![(k.to_string(), v.to_string())]),
        };
        std::fs::write(&path, file).unwrap();
        let b = if matches!(input, Env("TRACEWIRE_SETTINGS", _)) {
            tracewire::builder()
        } else {
            tracewire::builder().with_settings_file(&path)
        };
        let err = b
            .with_env(env)
            .with_log_writer(std::io::sink())
            .set_default()
            .expect_err(&format!("row {i} must be refused"));
        assert_eq!(err.kind(), ErrorKind::Config, "row {i}: {err}");
        let text = err.to_string();
        for want in *expected {
            assert!(
                text.contains(want),
                "row {i}: {text:?} should contain {want:?}"
            );
        }
    }
}

#[test]
fn a_settings_file_that_is_not_utf8_names_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    let body = b"[observability]\nservice_name_override = \"caf\xe9\"\n";
    std::fs::write(&path, body).unwrap();
    let err = tracewire::builder()
        .with_settings_file(&path)
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .settings()
        .expect_err("invalid UTF-8 is refused, not replaced");
    assert_eq!(err.kind(), ErrorKind::Config);
    let text = err.to_string();
    let offset = body.iter().position(|b| *b == 0xe9).unwrap();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains(&format!("offset {offset}")), "{text}");
}

#[test]
fn the_file_sink_never_creates_directories() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir");
    let err = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("file:{}/spans.jsonl", missing.display()))
        .with_log_writer(std::io::sink())
        .set_default()
        .expect_err("a missing directory is an error");
    let text = err.to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(!dir.path().join("no").exists(), "nothing was created");
}
