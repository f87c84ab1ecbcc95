//! `log_format = "pretty"` and `"compact"` lines carry the ids of their span (sampled or not)
//! and pass through redaction like the JSON lines; no colour escapes when the lines do not go
//! to a terminal.

mod support;

use support::Captured;

fn lines(format: &str, rate: f64) -> (String, String) {
    let logs = Captured::default();
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("TRACEWIRE_LOG_FORMAT", format),
            ("OTEL_TRACES_EXPORTER", "none"),
        ])
        .with_sampling_rate(rate)
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    let span = tracing::info_span!("checkout", user_password = "hunter2");
    let traceparent = span.in_scope(|| {
        tracing::info!(
            api_key = "abc123secret",
            header = "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            items = 3,
            "order placed"
        );
        tracewire::propagation::current_traceparent().unwrap()
    });
    guard.shutdown().unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    (text, traceparent)
}

#[test]
fn human_formats_carry_ids_and_redact() {
    for format in ["pretty", "compact"] {
        for rate in [1.0, 0.0] {
            let what = format!("{format} at {rate}");
            let (text, tp) = lines(format, rate);
            let (trace, span, flags) = (&tp[3..35], &tp[36..52], &tp[53..55]);
            assert!(
                text.contains(&format!(
                    "trace_id={trace} span_id={span} trace_flags={flags}"
                )),
                "{what}: the line carries its span's ids ({tp}):\n{text}"
            );
            assert!(text.contains("order placed"), "{what}:\n{text}");
            assert!(text.contains("items=3"), "{what}:\n{text}");
            for secret in ["hunter2", "abc123secret", "eyJhbGciOiJIUzI1NiJ9"] {
                assert!(!text.contains(secret), "{what}: {secret} leaked:\n{text}");
            }
            assert!(
                text.contains(tracewire::settings::REDACTED),
                "{what}:\n{text}"
            );
            assert!(
                !text.contains('\x1b'),
                "{what}: no colour escapes:\n{text:?}"
            );
        }
    }
}
