//! With `spool_dir`, a service `kill -9`ed in the middle of a collector outage loses only what it
//! had not yet handed to the spool: a producer at ~2,000 spans/s with the collector down is
//! killed; the next process with the same `spool_dir` (started with the collector back) replays
//! what the first one spooled. Every span the killed process had reported spooled arrives; the
//! spans it ended after its last drain to disk (a tick of at most 100 ms during an outage) are
//! the only ones missing, and how many is printed.
//!
//! The two services are this test binary run again as child processes.

mod support;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Collector, free_port};

const ROLE: &str = "TRACEWIRE_TEST_ROLE";

fn builder(service: &str) -> tracewire::Builder {
    let endpoint = std::env::var("ENDPOINT").unwrap();
    tracewire::builder()
        .without_settings_file()
        .with_env([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .with_service_name(service)
        .with_setting("spool_dir", std::env::var("SPOOL").unwrap().as_str())
        .with_setting("otlp_timeout_ms", Duration::from_millis(1000))
        .with_setting("metrics_enabled", false)
        .with_log_writer(std::io::sink())
}

/// Spans at ~2,000/s until killed (or 60 s), reporting what it ended and what its spool holds.
#[test]
fn producer() {
    if std::env::var(ROLE).as_deref() != Ok("producer") {
        return;
    }
    let guard = builder("killed").init().unwrap();
    let started = Instant::now();
    let mut ended = 0u64;
    while started.elapsed() < Duration::from_secs(60) {
        for _ in 0..20 {
            tracing::info_span!("work", n = ended).in_scope(|| {});
            ended += 1;
        }
        // Read before printing: every span counted as spooled here is on disk now.
        let s = guard.stats();
        println!("ended={ended} spooled={}", s.spooled_spans);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The next process: replays what is in the spool, then stops.
#[test]
fn replayer() {
    if std::env::var(ROLE).as_deref() != Ok("replayer") {
        return;
    }
    let guard = builder("after-restart").init().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = guard.stats();
        if s.spool_pending_spans == 0 && s.replayed_spans > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not replayed: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = guard.shutdown().unwrap();
    println!("replayed={} lost={}", s.replayed_spans, s.dropped_spool);
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(role: &str, endpoint: &str, spool: &std::path::Path) -> Running {
    Running(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", role, "--nocapture", "--test-threads=1", "-q"])
            .env(ROLE, role)
            .env("ENDPOINT", endpoint)
            .env("SPOOL", spool)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

#[test]
fn a_killed_service_leaves_its_spool_to_the_next_one() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    // Down from the start: the ports are the collector's, nothing listens yet.
    let mut collector = Collector::unstarted(free_port(), free_port());
    let spool = tempfile::tempdir().unwrap();
    let endpoint = collector.grpc_endpoint();

    let mut producer = spawn("producer", &endpoint, spool.path());
    let lines = BufReader::new(producer.0.stdout.take().unwrap()).lines();
    let (mut ended, mut spooled) = (0, 0);
    for line in lines {
        let line = line.unwrap();
        if let (Some(e), Some(s)) = (field(&line, "ended"), field(&line, "spooled")) {
            (ended, spooled) = (e, s);
        }
        if spooled >= 4000 {
            break;
        }
    }
    // SIGKILL: no Drop, no flush, no shutdown.
    producer.0.kill().unwrap();
    let status = producer.0.wait().unwrap();
    assert!(!status.success(), "killed");
    assert!(
        spooled >= 4000,
        "the producer spooled: ended {ended}, spooled {spooled}"
    );

    collector.launch().unwrap();
    let mut replayer = spawn("replayer", &endpoint, spool.path());
    // Read to the end: the child writes its harness's summary after the report.
    let out = BufReader::new(replayer.0.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains("replayed="))
        .last()
        .expect("the replayer reports");
    assert!(replayer.0.wait().unwrap().success());

    let deadline = Instant::now() + Duration::from_secs(20);
    let unique = loop {
        let spans = collector.spans();
        let ids: HashSet<String> = spans
            .iter()
            .filter(|s| s["resource"]["service.name"] == "killed")
            .filter_map(|s| s["span_id"].as_str().map(str::to_string))
            .collect();
        if ids.len() as u64 >= spooled || Instant::now() > deadline {
            break ids.len() as u64;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "killed after ending ≥{ended} spans ({spooled} reported spooled); {unique} arrived via the next process ({out})"
    );
    assert!(
        unique >= spooled,
        "every span reported spooled arrives: {unique} < {spooled}"
    );
    assert_eq!(field(&out, "lost"), Some(0), "{out}");
}
