//! The `tracewire` command: a recorded trace printed as a tree, rendered as a waterfall page
//! (checked in a real headless Chromium), settings explained, and a file sink replayed to a
//! real collector.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Collector, workload};

const BIN: &str = env!("CARGO_BIN_EXE_tracewire");

/// A file sink holding one quickstart-like trace; returns its path and trace id.
fn recorded(dir: &Path) -> (std::path::PathBuf, String) {
    let sink = dir.join("spans.jsonl");
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("file:{}", sink.display()))
        .with_service_name("cli-test")
        .with_service_version(workload::SERVICE_VERSION)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let trace_id = workload::run();
    guard.shutdown().unwrap();
    (sink, trace_id)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run tracewire");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn view_prints_the_tree_with_errors_and_the_slowest_path() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, trace_id) = recorded(dir.path());
    let (code, out, err) = run(&["view", sink.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("trace {trace_id}  cli-test")),
        "{out}"
    );
    assert!(out.contains("8 spans  2 errors"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].starts_with("handle_order [cli-test]") && lines[1].contains("100%"),
        "{out}"
    );
    assert!(out.contains("├─ price_items"), "{out}");
    assert!(
        out.contains("│  ├─ price_one") || out.contains("│  └─ price_one"),
        "{out}"
    );
    assert!(
        out.contains("reserve_stock") && out.contains("✗ ERROR: sku-123 is out of stock"),
        "{out}"
    );
    assert!(out.contains("✗ ERROR: payment declined"), "{out}");
    let slow = lines
        .iter()
        .filter(|l| l.contains("← slowest"))
        .collect::<Vec<_>>();
    assert_eq!(slow.len(), 1, "{out}");
    assert!(
        slow[0].contains("price_one"),
        "the slowest path ends in a priced item: {out}"
    );

    let (_, filtered, _) = run(&[
        "view",
        sink.to_str().unwrap(),
        "--trace",
        "0000",
        "--errors",
    ]);
    assert!(filtered.contains("no trace matched"), "{filtered}");
    let (_, by_service, _) = run(&[
        "view",
        sink.to_str().unwrap(),
        "--service",
        "cli-test",
        "--slowest",
        "1",
    ]);
    assert_eq!(by_service.matches("trace ").count(), 1, "{by_service}");
    let (code, _, err) = run(&["view", "/no/such/file"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/file"), "{err}");
}

#[test]
fn html_waterfall_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, trace_id) = recorded(dir.path());
    let page = dir.path().join("traces.html");
    let (code, out, err) = run(&[
        "view",
        sink.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote 1 trace(s)"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains(&trace_id));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network access needed"
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-chromium.sh");
    let found = Command::new("bash")
        .arg(script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let Some(chromium) = String::from_utf8_lossy(&found.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("CHROMIUM="))
        .map(String::from)
    else {
        eprintln!(
            "SKIPPED: html_waterfall_renders_in_headless_chromium: no chromium could be installed"
        );
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let base = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ];
    let with_timeout = |extra: &[String]| {
        let out = Command::new("timeout")
            .arg("60")
            .arg(&chromium)
            .args(base)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The DOM after the page's script ran: one bar per span.
    let (ok, dom, err) = with_timeout(&["--dump-dom".to_string()]);
    assert!(ok, "chromium --dump-dom failed: {err}");
    assert!(
        dom.contains(&format!("data-rendered=\"{}\"", workload::SPANS)),
        "one bar per span: {}",
        &dom[..dom.len().min(2000)]
    );
    assert!(dom.contains("class=\"bar error\""), "error bars");
    assert!(dom.contains("bar slow"), "the slowest path is highlighted");

    let png = dir.path().join("waterfall.png");
    let (ok, _, err) = with_timeout(&[
        format!("--screenshot={}", png.display()),
        "--window-size=1280,800".to_string(),
    ]);
    assert!(ok, "chromium --screenshot failed: {err}");
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        bytes.len() > 10_000,
        "a page with content, not a blank one: {} bytes",
        bytes.len()
    );
    let keep = std::env::var_os("TRACEWIRE_KEEP_SCREENSHOT");
    if let Some(to) = keep {
        std::fs::copy(&png, to).unwrap();
    }
}

#[test]
fn config_explains_or_fails_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("settings.toml"),
        "[observability]\nlog_level = \"warn\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("config")
        .current_dir(dir.path())
        .env("TRACEWIRE_SAMPLING_RATE", "0.25")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=hunter2")
        .env(
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "/etc/ssl/certs/ca-certificates.crt",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    // TLS settings: the path and where it came from, never what the file holds.
    assert!(
        text.contains("otlp_certificate = \"/etc/ssl/certs/ca-certificates.crt\"")
            && text.contains("# env OTEL_EXPORTER_OTLP_CERTIFICATE"),
        "{text}"
    );
    assert!(!text.contains("BEGIN CERTIFICATE"), "{text}");
    let line = |k: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{k} =")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("sampling_rate").contains("0.25")
            && line("sampling_rate").ends_with("# env TRACEWIRE_SAMPLING_RATE"),
        "{text}"
    );
    assert!(
        line("log_level").ends_with("# file settings.toml [observability]"),
        "{text}"
    );
    assert!(line("shutdown_timeout_ms").ends_with("# default"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    let out = Command::new(BIN)
        .arg("config")
        .current_dir(dir.path())
        .env("TRACEWIRE_SAMPLING_RATE", "abc")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TRACEWIRE_SAMPLING_RATE"));

    // An OTEL_* value tracewire cannot use is shown as ignored, with why, not an error.
    let out = Command::new(BIN)
        .arg("config")
        .current_dir(dir.path())
        .env("OTEL_PROPAGATORS", "tracecontext,ottrace")
        .env("OTEL_TRACES_SAMPLER_ARG", "abc")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("# ignored:")
            && l.contains("OTEL_PROPAGATORS")
            && l.contains("ottrace")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("sampling_rate = 1.0 (ignored OTEL_TRACES_SAMPLER_ARG=\"abc\")")),
        "{text}"
    );
}

#[test]
fn send_replays_a_file_sink_to_a_collector() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, trace_id) = recorded(dir.path());
    let collector = Collector::start();
    for (endpoint, protocol) in [
        (collector.grpc_endpoint(), "grpc"),
        (collector.http_endpoint(), "http/protobuf"),
    ] {
        let (code, out, err) = run(&[
            "send",
            sink.to_str().unwrap(),
            "--endpoint",
            &endpoint,
            "--protocol",
            protocol,
        ]);
        assert_eq!(code, 0, "{protocol}: {err}");
        assert!(
            out.contains(&format!("sent {} span(s)", workload::SPANS)),
            "{out}"
        );
    }
    let spans = collector.wait_for_spans(2 * workload::SPANS, Duration::from_secs(10));
    assert_eq!(spans.len(), 2 * workload::SPANS);
    // What arrives is the recorded tree, whole (once per protocol).
    let mut once: Vec<serde_json::Value> = spans.iter().take(workload::SPANS).cloned().collect();
    workload::check_tree(&once, &trace_id, "cli-test");
    once = spans.iter().skip(workload::SPANS).cloned().collect();
    workload::check_tree(&once, &trace_id, "cli-test");

    // The wrong protocol for the port: a readable error that says what to try, no raw bytes.
    for (endpoint, protocol, try_instead) in [
        (
            collector.grpc_endpoint(),
            "http/protobuf",
            "try --protocol grpc",
        ),
        (
            collector.http_endpoint(),
            "grpc",
            "try --protocol http/protobuf",
        ),
    ] {
        let (code, _, err) = run(&[
            "send",
            sink.to_str().unwrap(),
            "--endpoint",
            &endpoint,
            "--protocol",
            protocol,
        ]);
        assert_eq!(code, 2, "{protocol}: {err}");
        assert!(err.contains(try_instead), "{protocol}: {err}");
        assert!(
            err.chars().all(|c| !c.is_control() || c == '\n'),
            "{protocol}: no raw bytes: {err:?}"
        );
    }
}
