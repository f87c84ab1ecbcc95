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

use tracing_subscriber::{Layer, Registry};

use crate::redact::Redactor;
use crate::settings::LogFormat;

/// tracewire's layers, ready to sit on a [`Registry`], boxed: what `init()` installs, and what
/// [`Builder::layer`](crate::Builder::layer) hands over.
pub type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync + 'static>;

/// The log line layer for `format`: JSON lines (the default), or the `pretty` and `compact`
/// formats with the ids at the end of each line; every one redacts with `redactor`, and colours
/// only a terminal's standard output (never with `no_color`).
pub(crate) fn log_lines(
    format: LogFormat,
    redactor: Redactor,
    no_color: bool,
    writer: json_lines::LogWriter,
) -> BoxedLayer {
    let ansi = human_lines::colours(writer.is_stdout(), no_color);
    match format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .fmt_fields(human_lines::RedactedFields::new(redactor))
            .event_format(human_lines::WithIds(human_lines::Pretty { ansi }))
            .with_writer(writer)
            .boxed(),
        LogFormat::Compact => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .fmt_fields(human_lines::RedactedFields::new(redactor))
            .event_format(human_lines::WithIds(
                tracing_subscriber::fmt::format().compact().with_ansi(ansi),
            ))
            .with_writer(writer)
            .boxed(),
        _ => json_lines::JsonLayer::new(writer, redactor).boxed(),
    }
}
