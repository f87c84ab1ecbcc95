//! The file sink: OTLP/JSON lines, one `ExportTraceServiceRequest` per line, as the
//! OpenTelemetry Collector's file exporter writes them.
//!
//! It is the default when no endpoint is set anywhere, so that a newcomer's first run shows its
//! spans (`tracewire view`) without a collector. The file is capped (`file_max_bytes`) and only
//! whole lines are ever in it: a reader (`tracewire view`, `tracewire send`, a collector's
//! file receiver) never meets half a request.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::lock::LockExt as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

/// An open sink file, appended to by the export task (one batch at a time).
#[derive(Debug)]
pub(crate) struct FileSink {
    path: PathBuf,
    /// `None` once closed at shutdown.
    file: Mutex<Option<File>>,
    /// Why writes fail when the file is not open (closed at shutdown, or never opened).
    closed: String,
    /// The file's length: what was there when opened, plus what this sink appended.
    written: Mutex<u64>,
    cap: u64,
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
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(FileSink {
            path: path.to_path_buf(),
            file: Mutex::new(Some(file)),
            closed: format!("file sink {} is closed", path.display()),
            written: Mutex::new(written),
            cap,
            resource: resource.into(),
        })
    }

    /// A sink whose file could not be opened: every batch fails with `why`, and is counted.
    pub(crate) fn unavailable(path: &Path, why: String) -> FileSink {
        FileSink {
            path: path.to_path_buf(),
            file: Mutex::new(None),
            closed: why,
            written: Mutex::new(0),
            cap: u64::MAX,
            resource: (&Resource::builder_empty().build()).into(),
        }
    }

    /// Appends one line; a batch that would pass the cap is not written (`Ok(false)`: the export
    /// task counts it), never written in part.
    pub(crate) fn write(&self, batch: Vec<SpanData>) -> Result<bool, String> {
        if self.file.lock_or_recover().is_none() {
            return Err(self.closed.clone());
        }
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let mut line = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut written = self.written.lock_or_recover();
        if *written + line.len() as u64 > self.cap {
            return Ok(false);
        }
        let mut file = self.file.lock_or_recover();
        let Some(f) = file.as_mut() else {
            return Err(self.closed.clone());
        };
        if let Err(e) = f.write_all(&line) {
            // A short write (disk full, file size limit) must not leave half a line: cut the
            // file back to the last whole line; the batch is counted as failed.
            let _ = f.set_len(*written);
            return Err(format!("cannot append to {}: {e}", self.path.display()));
        }
        *written += line.len() as u64;
        Ok(true)
    }

    /// Flushes and closes the file; later writes fail (and are counted).
    pub(crate) fn close(&self) {
        if let Some(mut f) = self.file.lock_or_recover().take() {
            let _ = f.flush();
        }
    }
}
