//! `Debug` of `Builder` and `Settings` never prints header values (API keys), as the docs say
//! (before: both derived Debug and printed them).

#[test]
fn debug_output_holds_no_header_value() {
    let builder = tracewire::builder()
        .without_settings_file()
        .with_env([(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer s3cret-env",
        )])
        .with_otlp_header("x-api-key", "hunter2-code")
        .with_settings_toml("[observability]\notlp_headers = { x-team = \"t0ken-file\" }\n");
    let shown = format!("{builder:?}");
    let settings = builder.settings().unwrap();
    let shown_settings = format!("{settings:?}");
    for text in [&shown, &shown_settings] {
        for secret in ["s3cret-env", "hunter2-code", "t0ken-file"] {
            assert!(!text.contains(secret), "{secret} printed: {text}");
        }
    }
    assert!(
        shown_settings.contains("x-api-key"),
        "names stay: {shown_settings}"
    );
    assert_eq!(
        settings.otlp_headers.len(),
        3,
        "the values are still there to be sent"
    );
}
