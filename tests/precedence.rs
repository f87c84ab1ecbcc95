//! One precedence, low → high: default < settings file < OTEL_* < TRACEWIRE_* < code.
//! Table-driven: each row sets a key at some levels and expects the highest one to win.

use std::time::Duration;

use tracewire::settings::{Export, Protocol, Settings, Source};

struct Row {
    key: &'static str,
    file: Option<&'static str>,
    otel: Option<(&'static str, &'static str)>,
    tracewire: Option<&'static str>,
    code: Option<fn(tracewire::Builder) -> tracewire::Builder>,
    check: fn(&Settings),
    winner: fn(&str) -> Source,
}

fn file_src(path: &str) -> Source {
    Source::File {
        path: path.to_string(),
        table: "observability".into(),
    }
}

const ROWS: &[Row] = &[
    Row {
        key: "batch_max_concurrent_exports",
        file: Some("2"),
        otel: Some(("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "8")),
        tracewire: None,
        code: None,
        check: |s| assert_eq!(s.batch_max_concurrent_exports, 8),
        winner: |_| Source::Env {
            var: "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
        },
    },
    Row {
        key: "sampling_rate",
        file: Some("0.1"),
        otel: None,
        tracewire: None,
        code: None,
        check: |s| assert_eq!(s.sampling_rate, 0.1),
        winner: file_src,
    },
    Row {
        key: "sampling_rate",
        file: Some("0.1"),
        otel: Some(("OTEL_TRACES_SAMPLER_ARG", "0.2")),
        tracewire: None,
        code: None,
        check: |s| assert_eq!(s.sampling_rate, 0.2),
        winner: |_| Source::Env {
            var: "OTEL_TRACES_SAMPLER_ARG",
        },
    },
    Row {
        key: "sampling_rate",
        file: Some("0.1"),
        otel: Some(("OTEL_TRACES_SAMPLER_ARG", "0.2")),
        tracewire: Some("0.3"),
        code: None,
        check: |s| assert_eq!(s.sampling_rate, 0.3),
        winner: |_| Source::Env {
            var: "TRACEWIRE_SAMPLING_RATE",
        },
    },
    Row {
        key: "sampling_rate",
        file: Some("0.1"),
        otel: Some(("OTEL_TRACES_SAMPLER_ARG", "0.2")),
        tracewire: Some("0.3"),
        code: Some(|b| b.with_sampling_rate(0.4)),
        check: |s| assert_eq!(s.sampling_rate, 0.4),
        winner: |_| Source::Code,
    },
    Row {
        key: "service_name_override",
        file: Some("\"from-file\""),
        otel: Some(("OTEL_SERVICE_NAME", "from-otel")),
        tracewire: None,
        code: None,
        check: |s| assert_eq!(s.service_name, "from-otel"),
        winner: |_| Source::Env {
            var: "OTEL_SERVICE_NAME",
        },
    },
    Row {
        key: "otlp_endpoint",
        file: Some("\"http://file:4317\""),
        otel: Some(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318")),
        tracewire: None,
        code: None,
        check: |s| {
            assert_eq!(
                s.export,
                Export::Otlp {
                    url: "http://otel:4318/v1/traces".into(),
                    protocol: Protocol::HttpProtobuf
                }
            )
        },
        winner: |_| Source::Env {
            var: "OTEL_EXPORTER_OTLP_ENDPOINT",
        },
    },
    Row {
        key: "otlp_endpoint",
        file: Some("\"http://file:4317\""),
        otel: Some(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://otel:4317")),
        tracewire: Some("http://tw:4317"),
        code: None,
        check: |s| {
            assert_eq!(
                s.export,
                Export::Otlp {
                    url: "http://tw:4317".into(),
                    protocol: Protocol::Grpc
                }
            )
        },
        winner: |_| Source::Env {
            var: "TRACEWIRE_OTLP_ENDPOINT",
        },
    },
    Row {
        key: "log_level",
        file: Some("\"warn\""),
        otel: Some(("RUST_LOG", "debug")),
        tracewire: None,
        code: None,
        check: |s| assert_eq!(s.log_level, "debug"),
        winner: |_| Source::Env { var: "RUST_LOG" },
    },
    Row {
        key: "otlp_timeout_ms",
        file: Some("1500"),
        otel: Some(("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")),
        tracewire: None,
        code: Some(|b| b.with_otlp_timeout(Duration::from_millis(3500))),
        check: |s| assert_eq!(s.otlp_timeout, Duration::from_millis(3500)),
        winner: |_| Source::Code,
    },
    Row {
        key: "enabled",
        file: Some("true"),
        otel: Some(("OTEL_SDK_DISABLED", "true")),
        tracewire: None,
        code: None,
        check: |s| assert!(!s.enabled),
        winner: |_| Source::Env {
            var: "OTEL_SDK_DISABLED",
        },
    },
    Row {
        key: "enabled",
        file: Some("true"),
        otel: Some(("OTEL_SDK_DISABLED", "true")),
        tracewire: Some("true"),
        code: None,
        check: |s| assert!(s.enabled),
        winner: |_| Source::Env {
            var: "TRACEWIRE_ENABLED",
        },
    },
];

#[test]
fn the_highest_level_that_sets_a_key_wins() {
    for (i, row) in ROWS.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        let body = row
            .file
            .map(|v| format!("{} = {v}\n", row.key))
            .unwrap_or_default();
        std::fs::write(&path, format!("[observability]\n{body}")).unwrap();
        let mut env: Vec<(String, String)> = Vec::new();
        if let Some((var, val)) = row.otel {
            env.push((var.into(), val.into()));
        }
        if let Some(val) = row.tracewire {
            env.push((
                format!("TRACEWIRE_{}", row.key.to_ascii_uppercase()),
                val.into(),
            ));
        }
        let mut b = tracewire::builder().with_settings_file(&path).with_env(env);
        if let Some(code) = row.code {
            b = code(b);
        }
        let s = b.settings().unwrap_or_else(|e| panic!("row {i}: {e}"));
        (row.check)(&s);
        let shown = path.display().to_string();
        assert_eq!(
            s.source(row.key),
            Some(&(row.winner)(&shown)),
            "row {i} ({})",
            row.key
        );
    }
}

#[test]
fn layered_file_default_then_environment_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(
        &path,
        r#"
app_name = "layered"
[database]
url = "belongs to the application"
[default.observability]
sampling_rate = 0.5
log_level = "warn"
[production.observability]
sampling_rate = 0.05
"#,
    )
    .unwrap();
    let s = tracewire::builder()
        .with_settings_file(&path)
        .with_env([("TRACEWIRE_ENV", "production")])
        .settings()
        .unwrap();
    assert_eq!(s.sampling_rate, 0.05);
    assert_eq!(s.log_level, "warn", "default.observability still applies");
    assert_eq!(
        s.service_name, "layered",
        "app_name is the default service name"
    );
    assert_eq!(s.environment.as_deref(), Some("production"));
    assert_eq!(
        s.source("sampling_rate"),
        Some(&Source::File {
            path: path.display().to_string(),
            table: "production.observability".into()
        })
    );
}

#[test]
fn resource_attributes_merge_file_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.toml");
    std::fs::write(
        &path,
        "[observability]\nresource_attributes = { team = \"payments\", tier = \"1\" }\n",
    )
    .unwrap();
    let s = tracewire::builder()
        .with_settings_file(&path)
        .with_env([("OTEL_RESOURCE_ATTRIBUTES", "tier=2,region=eu%2Dwest")])
        .settings()
        .unwrap();
    let mut attrs = s.resource_attributes.clone();
    attrs.sort();
    let expect: Vec<(String, String)> =
        [("region", "eu-west"), ("team", "payments"), ("tier", "2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    assert_eq!(attrs, expect);
}

#[test]
fn explain_shows_each_source_and_hides_header_values() {
    let s = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t"),
            ("RUST_LOG", "debug"),
        ])
        .with_sampling_rate(0.5)
        .settings()
        .unwrap();
    let text = s.explain().to_string();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains("x-api-key=<redacted>"), "{text}");
    let line = |k: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{k} =")))
            .unwrap()
            .to_string()
    };
    assert!(line("log_level").ends_with("# env RUST_LOG"), "{text}");
    assert!(line("sampling_rate").ends_with("# code"), "{text}");
    assert!(line("shutdown_timeout_ms").ends_with("# default"), "{text}");
}
