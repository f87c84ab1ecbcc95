//! The `pretty` and `compact` log formats: tracing-subscriber's own layouts, with the two things
//! the JSON lines have and they lack: the trace and span ids of the line (`trace_id=… span_id=…
//! trace_flags=…` at its end), and redaction (a sensitive field's value is `[REDACTED]`,
//! credentials inside any value are scrubbed, in event and span fields alike). Colours only
//! on a terminal, and never with `NO_COLOR`: a container's log collector stores what it is
//! given, escape bytes included.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::redact::Redactor;
use crate::sampling::Unsampled;

/// Fields as `name=value`, the message first and bare; sensitive values redacted.
pub(crate) struct RedactedFields {
    redactor: Redactor,
}

impl RedactedFields {
    pub(crate) fn new(redactor: Redactor) -> Self {
        RedactedFields { redactor }
    }
}

impl<'w> FormatFields<'w> for RedactedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = FieldWriter {
            writer,
            redactor: &self.redactor,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut v);
        v.finish()
    }
}

struct FieldWriter<'a, 'w> {
    writer: Writer<'w>,
    redactor: &'a Redactor,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_, '_> {
    fn value(&mut self, field: &Field, text: &str) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        if name.starts_with("log.") || name.starts_with("otel.") {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        let scrubbed;
        let text = if self.redactor.is_sensitive_cached(name) {
            crate::redact::REDACTED
        } else {
            scrubbed = crate::redact::scrub(text);
            scrubbed.as_deref().unwrap_or(text)
        };
        self.result = if name == "message" {
            write!(self.writer, "{sep}{text}")
        } else {
            write!(self.writer, "{sep}{name}={text}")
        };
    }
}

impl Visit for FieldWriter<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.value(field, value);
        } else {
            self.value(field, &format!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.value(field, &format!("{value:?}"));
    }
}

impl VisitOutput<fmt::Result> for FieldWriter<'_, '_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

/// tracing-subscriber's pretty layout (`time LEVEL target: message fields`, then `at file:line`
/// and one `in span with fields` line per span in scope), written here because its own writes
/// event fields with a visitor of its own, past any field formatter, so past redaction.
pub(crate) struct Pretty {
    pub(crate) ansi: bool,
}

impl<S, N> FormatEvent<S, N> for Pretty
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        use tracing_subscriber::fmt::time::FormatTime as _;
        let meta = event.metadata();
        let (bold, dim, reset) = if self.ansi {
            ("\x1b[1m", "\x1b[2m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        writer.write_str("  ")?;
        tracing_subscriber::fmt::time::SystemTime.format_time(&mut writer)?;
        write!(
            writer,
            " {bold}{:>5}{reset} {}: ",
            meta.level(),
            meta.target()
        )?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')?;
        if let (Some(file), Some(line)) = (meta.file(), meta.line()) {
            writeln!(writer, "    {dim}at{reset} {file}:{line}")?;
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                write!(
                    writer,
                    "    {dim}in{reset} {}::{}",
                    span.metadata().target(),
                    span.name()
                )?;
                let ext = span.extensions();
                if let Some(fields) = ext.get::<tracing_subscriber::fmt::FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(writer, " {dim}with{reset} {fields}")?;
                }
                writer.write_char('\n')?;
            }
        }
        Ok(())
    }
}

/// `inner`'s line with the ids of the span it belongs to at its end.
pub(crate) struct WithIds<F>(pub(crate) F);

impl<S, N, F> FormatEvent<S, N> for WithIds<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        // The inner format carries its own colour setting (`Format::with_ansi`).
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.trim_end_matches('\n');
        writer.write_str(body)?;
        if let Some(sc) = ids(ctx, event) {
            write!(
                writer,
                " trace_id={} span_id={} trace_flags={:02x}",
                sc.trace_id(),
                sc.span_id(),
                sc.trace_flags().to_u8()
            )?;
        }
        writer.write_char('\n')
    }
}

/// The ids of the event's span, as the JSON lines find them: an unsampled span's marker, the
/// active OpenTelemetry context of the entered span, or the caller's context outside any span.
fn ids<S, N>(
    ctx: &FmtContext<'_, S, N>,
    event: &tracing::Event<'_>,
) -> Option<opentelemetry::trace::SpanContext>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    use opentelemetry::trace::TraceContextExt as _;
    let current = ctx.lookup_current();
    let explicit = event.parent().and_then(|id| ctx.span(id));
    let applies = match (&explicit, &current) {
        (Some(e), Some(c)) => e.id() == c.id(),
        (Some(_), None) => false,
        _ => true,
    };
    if let Some(span) = explicit.as_ref().or(current.as_ref())
        && let Some(u) = span.extensions().get::<Unsampled>()
    {
        return Some(u.sc.clone());
    }
    if !applies {
        return None;
    }
    opentelemetry::Context::map_current(|cx| {
        let sc = cx.span().span_context().clone();
        sc.is_valid().then_some(sc)
    })
}

/// Colours when the lines go to a terminal and `NO_COLOR` is not set (no-color.org: any
/// non-empty value).
pub(crate) fn colours(to_stdout: bool, no_color: bool) -> bool {
    use std::io::IsTerminal as _;
    to_stdout && !no_color && std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_colours_without_a_terminal_or_with_no_color() {
        assert!(!super::colours(false, false));
        assert!(!super::colours(true, true));
    }
}
