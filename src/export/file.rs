//! The file sink: OTLP/JSON lines, one `ExportTraceServiceRequest` per line, as the
//! OpenTelemetry Collector's file exporter writes them.
//!
//! It is the default when no endpoint is set anywhere, so that a newcomer's first run shows its
//! spans (`tracewire view`) without a collector. The file is capped (`file_max_bytes`) and only
//! whole lines are ever in it: a reader (`tracewire view`, `tracewire send`, a collector's
//! file receiver) never meets half a request.

use std::path::Path;

use super::line_file::LineFile;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

/// An open sink file, appended to by the export task (one batch at a time).
#[derive(Debug)]
pub(crate) struct FileSink {
    file: LineFile,
    /// Converted once, for every request's `resource_spans`.
    resource: ResourceAttributesWithSchema,
}

impl FileSink {
    /// Opens `path` for appending (an existing file counts towards the cap).
    pub(crate) fn open(path: &Path, cap: u64, resource: &Resource) -> std::io::Result<FileSink> {
        // A typo in the path must not silently make directories: the directory must exist.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "directory {} does not exist (tracewire does not create directories: create it, or fix otlp_endpoint)",
                    dir.display()
                ),
            ));
        }
        Ok(FileSink {
            file: LineFile::open(path, cap)?,
            resource: resource.into(),
        })
    }

    /// A sink whose file could not be opened: every batch fails with `why`, and is counted.
    pub(crate) fn unavailable(path: &Path, why: String) -> FileSink {
        FileSink {
            file: LineFile::unavailable(path, why),
            resource: (&Resource::builder_empty().build()).into(),
        }
    }

    /// Appends one line; a batch that would pass the cap is not written (`Ok(false)`: the export
    /// task counts it), never written in part.
    pub(crate) fn write(&self, batch: Vec<SpanData>) -> Result<bool, String> {
        if !self.file.is_open() {
            // Not worth encoding: the reason is what `append` would say.
            return self.file.append(b"");
        }
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        self.file.append(&line)
    }

    /// Flushes and closes the file; later writes fail (and are counted).
    pub(crate) fn close(&self) {
        self.file.close();
    }
}
