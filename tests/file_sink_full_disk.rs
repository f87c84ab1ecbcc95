//! The file sink on a full disk (a file size limit, `ulimit -f`, in a child process): a batch is
//! written as a whole line or not at all, and what could not be written is counted as failed.

mod support;

use std::process::Command;

const CHILD: &str = "TRACEWIRE_TEST_FULL_DISK_SINK";
const LIMIT_KIB: u64 = 64;

#[test]
fn a_full_disk_never_leaves_half_a_line() {
    if let Ok(path) = std::env::var(CHILD) {
        return write_until_full(std::path::Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    // SIGXFSZ ignored (the shell's `trap ''` survives exec), so a write past the limit fails
    // with EFBIG after a short write, as on a full disk.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            r#"trap '' XFSZ; ulimit -f {LIMIT_KIB}; exec "$0" --exact a_full_disk_never_leaves_half_a_line --nocapture --test-threads 1"#
        ))
        .arg(std::env::current_exe().unwrap())
        .env(CHILD, &sink)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The harness prints "test … " before the child's own line.
    let counts: Vec<u64> = stdout
        .lines()
        .find_map(|l| l.split_once("STATS ").map(|(_, s)| s))
        .expect("the child printed its stats")
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let (exported, failed) = (counts[0], counts[1]);
    assert!(failed > 0, "the limit was reached: {stdout}");
    assert!(exported > 0, "{stdout}");

    let text = std::fs::read_to_string(&sink).unwrap();
    assert!(text.len() as u64 <= LIMIT_KIB * 1024);
    assert!(text.ends_with('\n'), "the last line is whole");
    let spans = support::file_sink_spans(&sink); // panics on a line that is not JSON
    assert_eq!(
        spans.len() as u64,
        exported,
        "every counted span is in the file"
    );
    assert_eq!(exported + failed, 400, "every span is accounted for");
}

fn write_until_full(path: &std::path::Path) {
    let guard = support::to_file(path)
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let pad = "x".repeat(2_000);
    for i in 0..400 {
        tracing::info_span!("s", pad = pad.as_str()).in_scope(|| {});
        if i % 10 == 9 {
            let _ = guard.flush();
        }
    }
    let _ = guard.flush();
    let s = guard.stats();
    let _ = guard.shutdown();
    println!("STATS {} {}", s.exported_spans, s.failed_spans);
}
