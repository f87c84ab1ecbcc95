//! An append-only file of whole lines, capped in bytes: what the span file sink and the metrics
//! file share. A line that would pass the cap is not written (the caller counts it), and a short
//! write (disk full, a file size limit) is cut back, so a reader (`tracewire view`, `tracewire
//! send`, a collector's file receiver) never meets half a line.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::lock::LockExt as _;

/// One capped line file.
#[derive(Debug)]
pub(crate) struct LineFile {
    path: PathBuf,
    cap: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    /// Opened at the first line (the metrics file: a service without metrics leaves none).
    NotYetOpen,
    /// `len`: the file's length, what was there when opened plus what was appended since.
    Open { file: File, len: u64 },
    /// Every line fails with this reason: closed at shutdown, or never opened.
    Closed(String),
}

impl LineFile {
    /// `path` opened now for appending (an existing file counts towards `cap`).
    pub(crate) fn open(path: &Path, cap: u64) -> std::io::Result<LineFile> {
        let (file, len) = open_append(path)?;
        Ok(LineFile::with(path, cap, State::Open { file, len }))
    }

    /// `path`, opened at the first line.
    pub(crate) fn at_first_line(path: &Path, cap: u64) -> LineFile {
        LineFile::with(path, cap, State::NotYetOpen)
    }

    /// A file that could not be opened: every line fails with `why`.
    pub(crate) fn unavailable(path: &Path, why: String) -> LineFile {
        LineFile::with(path, u64::MAX, State::Closed(why))
    }

    fn with(path: &Path, cap: u64, state: State) -> LineFile {
        LineFile {
            path: path.to_path_buf(),
            cap,
            state: Mutex::new(state),
        }
    }

    /// Whether lines can still be written (not closed, not unavailable).
    pub(crate) fn is_open(&self) -> bool {
        !matches!(*self.state.lock_or_recover(), State::Closed(_))
    }

    /// Appends `line` (ending in `\n`): `Ok(false)` when it would pass the cap (not written),
    /// `Err` with the reason when it cannot be written; never written in part.
    pub(crate) fn append(&self, line: &[u8]) -> Result<bool, String> {
        let mut state = self.state.lock_or_recover();
        if matches!(*state, State::NotYetOpen) {
            let (file, len) = open_append(&self.path)
                .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
            *state = State::Open { file, len };
        }
        let (file, len) = match &mut *state {
            State::Open { file, len } => (file, len),
            State::Closed(why) => return Err(why.clone()),
            State::NotYetOpen => unreachable!("opened above"),
        };
        if *len + line.len() as u64 > self.cap {
            return Ok(false);
        }
        if let Err(e) = file.write_all(line) {
            let _ = file.set_len(*len);
            return Err(format!("cannot append to {}: {e}", self.path.display()));
        }
        *len += line.len() as u64;
        Ok(true)
    }

    /// Flushes and closes the file; later lines fail.
    pub(crate) fn close(&self) {
        let closed = State::Closed(format!("{} is closed", self.path.display()));
        if let State::Open { mut file, .. } =
            std::mem::replace(&mut *self.state.lock_or_recover(), closed)
        {
            let _ = file.flush();
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<(File, u64)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((file, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_lines_up_to_the_cap_then_refused_and_closed() {
        let dir = std::env::temp_dir().join(format!("tw-line-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.jsonl");
        let _ = std::fs::remove_file(&path);
        let f = LineFile::at_first_line(&path, 10);
        assert!(!path.exists(), "nothing opened before the first line");
        assert_eq!(f.append(b"12345\n"), Ok(true));
        assert_eq!(f.append(b"12345\n"), Ok(false), "would pass the cap");
        assert_eq!(f.append(b"123\n"), Ok(true));
        f.close();
        assert!(!f.is_open());
        assert!(f.append(b"1\n").unwrap_err().contains("is closed"));
        assert_eq!(std::fs::read(&path).unwrap(), b"12345\n123\n");
        // An existing file counts towards the cap.
        let again = LineFile::open(&path, 12).unwrap();
        assert_eq!(again.append(b"12\n"), Ok(false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
