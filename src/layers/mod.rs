//! The layers stage: what a `tracing` span or event goes through before it is exported or
//! written. `typed_fields.rs` hands the OpenTelemetry layer integers as integers and secrets
//! redacted; `tracer.rs` is the tracer behind tracing-opentelemetry (`SpanData` written once);
//! `json_lines.rs` and `human_lines.rs` write the log lines with the trace ids. The head gate in
//! front of them is `sampling/gate.rs` (it belongs to the sampling plan); `stack/` assembles the
//! stage.

pub(crate) mod human_lines;
pub(crate) mod json_lines;
pub(crate) mod tracer;
pub(crate) mod typed_fields;
