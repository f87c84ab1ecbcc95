//! A hardened pod: no endpoint configured, a read-only working directory, a non-root user,
//! `init()` inside `#[tokio::main]`. The service starts (no panic, no error), warns once that
//! the file sink cannot be opened, and counts every span it could not keep.
//!
//! The service is this test binary itself, started again as user `nobody` (when the test runs
//! as root, which ignores directory permissions) in a directory it cannot write.

use std::process::Command;

const CHILD: &str = "READ_ONLY_WORKDIR_CHILD";

/// The service, run only in the child process.
#[test]
fn service_in_a_read_only_directory() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // As `#[tokio::main]` does: init() from inside the runtime's async context.
    rt.block_on(async {
        let guard = tracewire::init().expect("init() must not fail for a read-only disk");
        for i in 0..5 {
            tracing::info_span!("request", i).in_scope(|| tracing::info!("handled"));
        }
        let stats = match guard.shutdown() {
            Ok(stats) => stats,
            Err(e) => e.stats().expect("final counts"),
        };
        println!(
            "CHILD-STATS exported={} failed={}",
            stats.exported_spans, stats.failed_spans
        );
    });
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn a_read_only_working_directory_does_not_stop_the_service() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().join("app");
    std::fs::create_dir(&workdir).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&workdir, std::fs::Permissions::from_mode(0o555)).unwrap();

    let me = std::env::current_exe().unwrap();
    let mut cmd = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ]);
        c.arg(&me);
        c
    } else {
        Command::new(&me)
    };
    cmd.args([
        "--exact",
        "service_in_a_read_only_directory",
        "--nocapture",
        "--test-threads=1",
    ])
    .current_dir(&workdir)
    .env_clear()
    .env(CHILD, "1")
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("RUST_LOG", "info");
    let out = cmd.output().expect("start the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the service must start and exit cleanly\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("cannot open the file sink tracewire-spans.jsonl"),
        "one warning says why: {stderr}"
    );
    assert!(
        stdout.contains("CHILD-STATS exported=0 failed=5"),
        "every span it could not keep is counted: {stdout}"
    );
    assert!(
        std::fs::read_dir(&workdir).unwrap().next().is_none(),
        "nothing was written"
    );
}
