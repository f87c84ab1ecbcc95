//! The disk spool (`spool_dir`): export requests the collector cannot take now, kept in
//! append-only segment files and handed back, oldest first, when it answers again, to this
//! process or to the next one after a crash or a restart.
//!
//! A segment is a run of records, each `TWS1`, the payload's length, its span count and its
//! CRC-32, then the payload: an encoded `ExportTraceServiceRequest` (uncompressed; the client
//! compresses at send time as configured). A record is written with one `write` call and is on
//! disk for any later reader once it returns, `kill -9` included (no `fsync`: the page cache
//! survives a process, not a power cut). On open, each segment's records are walked: a record
//! cut short by a crash or a full disk is cut off the file and its spans counted as lost. On
//! replay each payload's checksum is checked: a corrupt record is skipped and counted, never
//! sent, never a panic.
//!
//! The spool is bounded by `spool_max_bytes`: the oldest segment goes first, its spans counted
//! as lost. A segment is deleted once every record in it was delivered; a crash in between
//! sends that segment's delivered records again, so duplicates are bounded by one segment
//! ([`SEGMENT_MAX_BYTES`]) per crash, plus an export whose answer was lost (as for any
//! retrying exporter). One process uses a directory at a time (a lock file with its pid).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::counters::Counters;
use crate::lock::LockExt as _;

/// A segment is closed for writing at this size (smaller when the spool's bound is small).
pub(crate) const SEGMENT_MAX_BYTES: u64 = 8 << 20;
const MAGIC: &[u8; 4] = b"TWS1";
const HEADER: u64 = 16;
/// No export request is this big (the queue bounds one to a few MiB): a header that says more
/// is corrupt.
const RECORD_MAX_BYTES: u64 = 256 << 20;
const EXTENSION: &str = "twspool";
const LOCK: &str = "tracewire-spool.lock";

/// CRC-32 (IEEE), the table built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

struct Segment {
    seq: u64,
    path: PathBuf,
    /// Bytes of whole records in the file.
    bytes: u64,
    /// Spans of the records not yet delivered.
    pending: u64,
}

struct State {
    /// Oldest first; the last one is written to.
    segments: VecDeque<Segment>,
    writer: Option<File>,
    /// Where the next record to replay starts in the oldest segment.
    cursor: u64,
    bytes: u64,
    next_seq: u64,
    /// A write failed (full or read-only disk): spooling stopped, with one warning.
    broken: Option<String>,
}

/// A record handed out for replay: its payload, and where it is, to settle it afterwards.
pub(crate) struct Record {
    pub(crate) payload: Vec<u8>,
    pub(crate) spans: u64,
    seq: u64,
    end: u64,
}

/// The spool of one process.
pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_max: u64,
    state: Mutex<State>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, taking over what an earlier process left.
    pub(crate) fn open(
        dir: &Path,
        max_bytes: u64,
        counters: Arc<Counters>,
    ) -> Result<Spool, String> {
        let shown = dir.display();
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create spool_dir {shown}: {e}"))?;
        take_lock(dir)?;
        let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read spool_dir {shown}: {e}"))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let path = e.path();
                let seq = path
                    .extension()
                    .filter(|x| *x == EXTENSION)
                    .and_then(|_| path.file_stem()?.to_str())
                    .and_then(|s| u64::from_str_radix(s, 16).ok())?;
                Some((seq, path))
            })
            .collect();
        found.sort();
        let mut segments = VecDeque::new();
        let mut bytes = 0;
        for (seq, path) in found {
            let (whole, spans, lost) = scan(&path);
            counters.dropped_spool.fetch_add(lost, Ordering::Relaxed);
            if whole == 0 {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            bytes += whole;
            segments.push_back(Segment {
                seq,
                path,
                bytes: whole,
                pending: spans,
            });
        }
        let pending: u64 = segments.iter().map(|s| s.pending).sum();
        counters.spool_pending.store(pending, Ordering::Relaxed);
        let next_seq = segments.back().map_or(1, |s| s.seq + 1);
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segment_max: SEGMENT_MAX_BYTES.min(max_bytes / 4).max(64 << 10),
            state: Mutex::new(State {
                segments,
                writer: None,
                cursor: 0,
                bytes,
                next_seq,
                broken: None,
            }),
            counters,
        })
    }

    /// Whether writes are taken (not after a full or read-only disk refused one).
    pub(crate) fn usable(&self) -> bool {
        self.state.lock_or_recover().broken.is_none()
    }

    /// Whether records wait to be sent.
    pub(crate) fn has_pending(&self) -> bool {
        self.counters.spool_pending.load(Ordering::Relaxed) > 0
    }

    /// Writes one export request of `spans` spans. `Err`: not spooled (a full or read-only
    /// disk, or a request bigger than the whole spool), with why.
    pub(crate) fn write(&self, payload: &[u8], spans: u64) -> Result<(), String> {
        let len = HEADER + payload.len() as u64;
        let mut st = self.state.lock_or_recover();
        if let Some(why) = &st.broken {
            return Err(why.clone());
        }
        if len > self.max_bytes.min(RECORD_MAX_BYTES) {
            return Err(format!(
                "an export request of {len} bytes exceeds spool_max_bytes"
            ));
        }
        // Room first: the oldest segments go, their spans counted as lost (the one written to
        // as well, closed first, when it is the only one).
        while st.bytes + len > self.max_bytes && !st.segments.is_empty() {
            if st.segments.len() == 1 {
                st.writer = None;
            }
            self.evict_oldest(&mut st);
        }
        let rotate = match (st.segments.back(), &st.writer) {
            (Some(s), Some(_)) => s.bytes + len > self.segment_max,
            _ => true,
        };
        if rotate {
            let seq = st.next_seq;
            let path = self.dir.join(format!("{seq:016x}.{EXTENSION}"));
            let file = OpenOptions::new().create_new(true).append(true).open(&path);
            match file {
                Ok(f) => {
                    st.next_seq += 1;
                    st.writer = Some(f);
                    st.segments.push_back(Segment {
                        seq,
                        path,
                        bytes: 0,
                        pending: 0,
                    });
                }
                Err(e) => return Err(self.broke(&mut st, e)),
            }
        }
        let mut record = Vec::with_capacity(len as usize);
        record.extend_from_slice(MAGIC);
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&(spans.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        record.extend_from_slice(&crc32(payload).to_le_bytes());
        record.extend_from_slice(payload);
        let writer = st.writer.as_mut().expect("opened above");
        if let Err(e) = writer.write_all(&record) {
            // Cut a partial record off, so that the file holds whole records only.
            let whole = st.segments.back().map_or(0, |s| s.bytes);
            if let Some(w) = st.writer.as_mut() {
                let _ = w.set_len(whole);
            }
            return Err(self.broke(&mut st, e));
        }
        let seg = st.segments.back_mut().expect("a segment to write to");
        seg.bytes += len;
        seg.pending += spans;
        st.bytes += len;
        self.counters.spooled.fetch_add(spans, Ordering::Relaxed);
        self.counters
            .spool_pending
            .fetch_add(spans, Ordering::Relaxed);
        Ok(())
    }

    /// The oldest record not yet delivered; corrupt ones on the way are skipped and counted.
    pub(crate) fn peek(&self) -> Option<Record> {
        let mut st = self.state.lock_or_recover();
        loop {
            let seg = st.segments.front()?;
            if st.cursor >= seg.bytes {
                if st.segments.len() == 1 {
                    return None;
                }
                self.retire_oldest(&mut st);
                continue;
            }
            let (seq, path, cursor) = (seg.seq, seg.path.clone(), st.cursor);
            match read_record(&path, cursor) {
                Ok((payload, spans, end)) => {
                    return Some(Record {
                        payload,
                        spans,
                        seq,
                        end,
                    });
                }
                Err(()) => {
                    // The rest of this segment cannot be trusted: its spans are lost.
                    let seg = st.segments.front_mut().expect("checked above");
                    let lost = seg.pending;
                    seg.pending = 0;
                    let end = seg.bytes;
                    self.counters
                        .dropped_spool
                        .fetch_add(lost, Ordering::Relaxed);
                    sub(&self.counters.spool_pending, lost);
                    st.cursor = end;
                }
            }
        }
    }

    /// `record` was sent: `delivered` of its spans arrived, the rest were refused (lost).
    pub(crate) fn settle(&self, record: &Record, delivered: u64) {
        let mut st = self.state.lock_or_recover();
        let Some(seg) = st.segments.front_mut().filter(|s| s.seq == record.seq) else {
            // Evicted meanwhile: already counted as lost.
            return;
        };
        seg.pending = seg.pending.saturating_sub(record.spans);
        st.cursor = record.end;
        let delivered = delivered.min(record.spans);
        self.counters
            .replayed
            .fetch_add(delivered, Ordering::Relaxed);
        self.counters
            .dropped_spool
            .fetch_add(record.spans - delivered, Ordering::Relaxed);
        sub(&self.counters.spool_pending, record.spans);
        let done = st.segments.front().is_some_and(|s| st.cursor >= s.bytes);
        if done {
            if st.segments.len() == 1 {
                // The segment being written: closed, so that the next write starts afresh.
                st.writer = None;
            }
            self.retire_oldest(&mut st);
        }
    }

    /// Deletes the oldest segment, every record of it delivered or counted.
    fn retire_oldest(&self, st: &mut State) {
        if let Some(seg) = st.segments.pop_front() {
            let _ = std::fs::remove_file(&seg.path);
            st.bytes -= seg.bytes;
            st.cursor = 0;
        }
    }

    /// Deletes the oldest segment to make room; its spans not yet delivered are lost.
    fn evict_oldest(&self, st: &mut State) {
        if let Some(seg) = st.segments.front() {
            let lost = seg.pending;
            self.counters
                .dropped_spool
                .fetch_add(lost, Ordering::Relaxed);
            sub(&self.counters.spool_pending, lost);
        }
        self.retire_oldest(st);
    }

    /// A write failed: spooling stops for this process, with one warning on stderr.
    fn broke(&self, st: &mut State, e: std::io::Error) -> String {
        let why = format!("cannot write to spool_dir {}: {e}", self.dir.display());
        eprintln!(
            "tracewire: warning: {why}; spans the collector cannot take are dropped and counted again"
        );
        st.broken = Some(why.clone());
        st.writer = None;
        why
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.dir.join(LOCK));
    }
}

fn sub(a: &std::sync::atomic::AtomicU64, n: u64) {
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(n))
    });
}

/// One process per directory: the lock file names its pid; a lock whose process is gone (a
/// crash) is taken over.
fn take_lock(dir: &Path) -> Result<(), String> {
    let path = dir.join(LOCK);
    let me = std::process::id();
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(pid) = text.trim().parse::<u32>()
        && pid != me
        && Path::new(&format!("/proc/{pid}")).exists()
    {
        return Err(format!(
            "spool_dir {} is in use by process {pid}: each process needs a directory of its own",
            dir.display()
        ));
    }
    std::fs::write(&path, me.to_string())
        .map_err(|e| format!("cannot write to spool_dir {}: {e}", dir.display()))
}

/// Walks a segment's records: (bytes of whole records, their spans, spans of a record cut
/// short). A tail that is not a whole record is cut off the file.
fn scan(path: &Path) -> (u64, u64, u64) {
    let Ok(mut f) = OpenOptions::new().read(true).write(true).open(path) else {
        return (0, 0, 0);
    };
    let size = f.metadata().map_or(0, |m| m.len());
    let (mut at, mut spans, mut lost) = (0u64, 0u64, 0u64);
    let mut header = [0u8; HEADER as usize];
    while at + HEADER <= size {
        if f.seek(SeekFrom::Start(at)).is_err() || f.read_exact(&mut header).is_err() {
            break;
        }
        let Some((len, n, _)) = parse_header(&header) else {
            break;
        };
        if at + HEADER + len > size {
            lost += n;
            break;
        }
        spans += n;
        at += HEADER + len;
    }
    if at < size {
        let _ = f.set_len(at);
    }
    (at, spans, lost)
}

fn parse_header(h: &[u8; HEADER as usize]) -> Option<(u64, u64, u32)> {
    if &h[..4] != MAGIC {
        return None;
    }
    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let len = u64::from(word(4));
    (len <= RECORD_MAX_BYTES).then_some((len, u64::from(word(8)), word(12)))
}

/// The record at `at`: (payload, spans, where the next record starts), or `Err` when it cannot
/// be read or its checksum is wrong.
fn read_record(path: &Path, at: u64) -> Result<(Vec<u8>, u64, u64), ()> {
    let mut f = File::open(path).map_err(drop)?;
    f.seek(SeekFrom::Start(at)).map_err(drop)?;
    let mut header = [0u8; HEADER as usize];
    f.read_exact(&mut header).map_err(drop)?;
    let (len, spans, crc) = parse_header(&header).ok_or(())?;
    let mut payload = vec![0u8; len as usize];
    f.read_exact(&mut payload).map_err(drop)?;
    if crc32(&payload) != crc {
        return Err(());
    }
    Ok((payload, spans, at + HEADER + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool(dir: &Path, max: u64) -> (Spool, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        (Spool::open(dir, max, counters.clone()).unwrap(), counters)
    }

    #[test]
    fn crc_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn records_come_back_in_order_and_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (s, c) = spool(dir.path(), 1 << 30);
            s.write(b"one", 1).unwrap();
            s.write(b"two", 2).unwrap();
            let r = s.peek().unwrap();
            assert_eq!(r.payload, b"one");
            s.settle(&r, 1);
            assert_eq!(c.replayed.load(Ordering::Relaxed), 1);
            // The process ends here without delivering "two".
        }
        let _ = std::fs::remove_file(dir.path().join(LOCK));
        let (s, c) = spool(dir.path(), 1 << 30);
        // The delivered record of the unfinished segment comes again: at least once.
        let r = s.peek().unwrap();
        assert_eq!(r.payload, b"one");
        s.settle(&r, 1);
        let r = s.peek().unwrap();
        assert_eq!((r.payload.as_slice(), r.spans), (&b"two"[..], 2));
        s.settle(&r, 2);
        assert!(s.peek().is_none());
        assert_eq!(c.spool_pending.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn corrupt_and_cut_records_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (s, _) = spool(dir.path(), 1 << 30);
            s.write(b"good", 3).unwrap();
            s.write(b"flipped", 5).unwrap();
            s.write(b"cut short", 7).unwrap();
        }
        let seg = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == EXTENSION))
            .unwrap();
        let mut bytes = std::fs::read(&seg).unwrap();
        let second = (HEADER + 4) as usize;
        bytes[second + HEADER as usize] ^= 0xff;
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&seg, &bytes).unwrap();
        let _ = std::fs::remove_file(dir.path().join(LOCK));
        let (s, c) = spool(dir.path(), 1 << 30);
        assert_eq!(c.dropped_spool.load(Ordering::Relaxed), 7, "cut short");
        let r = s.peek().unwrap();
        assert_eq!(r.payload, b"good");
        s.settle(&r, 3);
        assert!(s.peek().is_none(), "the flipped record is never handed out");
        assert_eq!(c.dropped_spool.load(Ordering::Relaxed), 12);
        assert_eq!(c.replayed.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn the_oldest_go_when_full_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let (s, c) = spool(dir.path(), 1 << 20);
        let payload = vec![7u8; 100 << 10];
        for _ in 0..40 {
            s.write(&payload, 10).unwrap();
        }
        let on_disk: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(on_disk <= (1 << 20) + 64, "bounded: {on_disk}");
        let lost = c.dropped_spool.load(Ordering::Relaxed);
        let pending = c.spool_pending.load(Ordering::Relaxed);
        assert!(lost > 0);
        assert_eq!(
            lost + pending,
            400,
            "every span spooled is pending or counted as lost"
        );
    }

    #[test]
    fn a_second_process_cannot_share_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK), "1").unwrap();
        let e = Spool::open(dir.path(), 1 << 30, Arc::default()).unwrap_err();
        assert!(e.contains("in use by process 1"), "{e}");
    }
}
