//! The disk spool on a full disk (a file size limit, `ulimit -f`, in a child process, as a full
//! disk fails a write; mounting a small tmpfs needs privileges CI may not have): with the
//! collector down, the spool takes what fits, then the service goes on without it, with one
//! warning; every span is spooled or counted as lost, the segment on disk holds whole records
//! only, and nothing panics. And a `spool_dir` that cannot be created leaves the service
//! running without a spool, with a warning.

mod support;

use std::process::Command;

use support::{Collector, free_port};

const CHILD: &str = "TRACEWIRE_TEST_SPOOL_FULL";
const LIMIT_KIB: u64 = 64;
const SPANS: u64 = 3000;

fn builder(endpoint: &str, spool: &str) -> tracewire::Builder {
    tracewire::builder()
        .without_settings_file()
        .with_env([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .with_service_name("spool-full")
        .with_setting("spool_dir", spool)
        .with_setting("otlp_timeout_ms", std::time::Duration::from_millis(500))
        // Records of at most 64 spans (~12 KiB), so that several fit under the file size limit
        // whatever the timing: one batch of 512 would not fit at all, and nothing would show
        // that the spool took what fit.
        .with_setting("batch_max_export_batch_size", 64)
        .with_setting("metrics_enabled", false)
        .with_log_writer(std::io::sink())
}

#[test]
fn a_full_disk_stops_the_spool_not_the_service() {
    if let Ok(args) = std::env::var(CHILD) {
        let (endpoint, spool) = args.split_once(' ').unwrap();
        let guard = builder(endpoint, spool).set_default().unwrap();
        for i in 0..SPANS {
            tracing::info_span!("work", i, pad = "x".repeat(64)).in_scope(|| {});
            if i % 100 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        let s = guard.shutdown().unwrap_or_else(|e| e.stats().unwrap());
        println!(
            "STATS {} {} {} {}",
            s.exported_spans,
            s.spooled_spans,
            s.dropped(),
            s.queued_spans
        );
        return;
    }
    // Down: nothing listens on these ports.
    let collector = Collector::unstarted(free_port(), free_port());
    let spool = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            r#"trap '' XFSZ; ulimit -f {LIMIT_KIB}; exec "$0" --exact a_full_disk_stops_the_spool_not_the_service --nocapture --test-threads 1"#
        ))
        .arg(std::env::current_exe().unwrap())
        .env(
            CHILD,
            format!("{} {}", collector.grpc_endpoint(), spool.path().display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child: {stdout}\n{stderr}");
    let n: Vec<u64> = stdout
        .lines()
        .find_map(|l| l.split_once("STATS ").map(|(_, s)| s))
        .expect("the child printed its stats")
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let (exported, spooled, dropped, queued) = (n[0], n[1], n[2], n[3]);
    assert_eq!(exported, 0);
    assert!(spooled > 0, "the spool took what fit: {stdout}\n{stderr}");
    assert!(dropped > 0, "the rest is counted: {stdout}");
    assert_eq!(
        spooled + dropped + queued,
        SPANS,
        "every span accounted for"
    );
    assert_eq!(
        stderr.matches("cannot write to spool_dir").count(),
        1,
        "one warning: {stderr}"
    );

    // What is on disk is whole records only, holding exactly the spans counted as spooled.
    let mut on_disk = 0u64;
    for entry in std::fs::read_dir(spool.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "twspool") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() as u64 <= LIMIT_KIB * 1024);
        let mut at = 0usize;
        while at < bytes.len() {
            assert_eq!(&bytes[at..at + 4], b"TWS1", "a record starts at {at}");
            let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
            let len = word(at + 4) as usize;
            on_disk += u64::from(word(at + 8));
            at += 16 + len;
        }
        assert_eq!(at, bytes.len(), "no partial record at the end");
    }
    assert_eq!(on_disk, spooled);
}

#[test]
fn a_spool_dir_that_cannot_exist_leaves_the_service_running() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    // A directory inside a regular file cannot be created, by root either.
    let dir = file.path().join("spool");
    let guard = builder("http://127.0.0.1:9", dir.to_str().unwrap())
        .set_default()
        .expect("starts without the spool");
    tracing::info_span!("work").in_scope(|| {});
    drop(guard);
}
