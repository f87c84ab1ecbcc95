//! With `spool_dir`, a collector outage with a `kill -9` in the middle of it loses only what the
//! killed process had not yet handed to the spool. A service produces ~2,000 spans/s with the
//! collector down and is `kill -9`ed; the next process with the same `spool_dir` goes on
//! producing, still in the outage; then the collector comes back, and the second process
//! delivers the first one's spool and its own. Every span the killed process had reported
//! spooled arrives; every span of the second one arrives; the killed process's spans ended after
//! its last drain to disk (a tick of at most 100 ms during an outage) are the only ones missing,
//! and how many is printed, as are duplicates.
//!
//! `TRACEWIRE_OUTAGE_SECS` sets the outage's length (default: a few seconds; 600 for the
//! README's ten-minute figure, `scripts/outage.sh`). The services are this test binary run again
//! as child processes.

mod support;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Collector, free_port};

const ROLE: &str = "TRACEWIRE_TEST_ROLE";
const RATE: u64 = 2000;

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

/// Ends spans at `RATE` a second for `secs` (or until killed), reporting what it ended and
/// what it spooled every 10 ms.
fn produce(guard: &tracewire::Guard, secs: u64) -> u64 {
    let started = Instant::now();
    let mut ended = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        let due = started.elapsed().as_millis() as u64 * RATE / 1000;
        while ended < due {
            tracing::info_span!("work", n = ended).in_scope(|| {});
            ended += 1;
        }
        // Read before printing: every span counted as spooled here is on disk now.
        println!("ended={ended} spooled={}", guard.stats().spooled_spans);
        std::thread::sleep(Duration::from_millis(10));
    }
    ended
}

/// The first process: produces until it is killed.
#[test]
fn killed() {
    if std::env::var(ROLE).as_deref() != Ok("killed") {
        return;
    }
    let guard = builder("killed").init().unwrap();
    produce(&guard, 3600);
}

/// The next process: produces for as long as the outage lasts, then, told on stdin that the
/// collector is back, delivers everything and stops.
#[test]
fn survivor() {
    if std::env::var(ROLE).as_deref() != Ok("survivor") {
        return;
    }
    let guard = builder("survivor").init().unwrap();
    let secs = std::env::var("SECS").unwrap().parse().unwrap();
    let ended = produce(&guard, secs);
    println!("produced={ended}");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    loop {
        let s = guard.stats();
        if s.spool_pending_spans == 0 && s.queued_spans == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let replay = started.elapsed();
    let s = guard.shutdown().unwrap();
    println!(
        "replayed={} lost={} spooled={} exported={} replay_ms={}",
        s.replayed_spans,
        s.dropped(),
        s.spooled_spans,
        s.exported_spans,
        replay.as_millis()
    );
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(role: &str, endpoint: &str, spool: &std::path::Path, secs: u64) -> Running {
    Running(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", role, "--nocapture", "--test-threads=1", "-q"])
            .env(ROLE, role)
            .env("ENDPOINT", endpoint)
            .env("SPOOL", spool)
            .env("SECS", secs.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

fn field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// Distinct span ids per service at the collector, and all spans of each; read line by line
/// (a ten-minute outage leaves millions of spans in the capture file).
fn arrived(collector: &Collector) -> HashMap<String, (usize, usize)> {
    let mut ids: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    let mut all: HashMap<String, usize> = HashMap::new();
    let Ok(f) = std::fs::File::open(collector.dir.path().join("spans.jsonl")) else {
        return HashMap::new();
    };
    for line in BufReader::new(f).lines().map_while(Result::ok) {
        let Ok(span) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let service = span["resource"]["service.name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        *all.entry(service.clone()).or_default() += 1;
        if let Some(id) = span["span_id"].as_str() {
            ids.entry(service).or_default().insert(id.to_string());
        }
    }
    ids.into_iter()
        .map(|(k, v)| {
            let n = all[&k];
            (k, (v.len(), n))
        })
        .collect()
}

#[test]
fn a_killed_service_leaves_its_spool_to_the_next_one() {
    if std::env::var_os(ROLE).is_some() {
        return;
    }
    let outage: u64 = std::env::var("TRACEWIRE_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    // Down from the start: the ports are the collector's, nothing listens yet.
    let mut collector = Collector::unstarted(free_port(), free_port());
    let spool = tempfile::tempdir().unwrap();
    let endpoint = collector.grpc_endpoint();
    let started = Instant::now();

    let mut first = spawn("killed", &endpoint, spool.path(), 0);
    let lines = BufReader::new(first.0.stdout.take().unwrap()).lines();
    let (mut ended, mut spooled) = (0, 0);
    for line in lines {
        let line = line.unwrap();
        if let (Some(e), Some(s)) = (field(&line, "ended"), field(&line, "spooled")) {
            (ended, spooled) = (e, s);
        }
        if started.elapsed() >= Duration::from_secs(outage / 2) && spooled > 0 {
            break;
        }
    }
    // SIGKILL: no Drop, no flush, no shutdown.
    first.0.kill().unwrap();
    assert!(!first.0.wait().unwrap().success(), "killed");
    assert!(spooled > 0, "the first process spooled: ended {ended}");

    let mut second = spawn("survivor", &endpoint, spool.path(), outage - outage / 2);
    let mut out = BufReader::new(second.0.stdout.take().unwrap()).lines();
    let produced = out
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| field(&l, "produced"))
        .expect("the survivor produced");
    let outage_took = started.elapsed();
    collector.launch().unwrap();
    writeln!(second.0.stdin.as_mut().unwrap(), "collector up").unwrap();
    // Read to the end: the child writes its harness's summary after the report.
    let report = out
        .map_while(Result::ok)
        .filter(|l| l.contains("replayed="))
        .last()
        .expect("the survivor reports");
    assert!(second.0.wait().unwrap().success());

    let deadline = Instant::now() + Duration::from_secs(60 + outage / 2);
    let counts = loop {
        let counts = arrived(&collector);
        let got = |s: &str| counts.get(s).map_or(0, |c| c.0) as u64;
        if (got("killed") >= spooled && got("survivor") >= produced) || Instant::now() > deadline {
            break counts;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let (killed_unique, killed_all) = counts.get("killed").copied().unwrap_or_default();
    let (survivor_unique, survivor_all) = counts.get("survivor").copied().unwrap_or_default();
    eprintln!(
        "outage of {:.0} s at {RATE} spans/s: the killed process ended ≥{ended} spans, {spooled} \
         reported spooled, {killed_unique} arrived ({} duplicates); the survivor produced \
         {produced}, {survivor_unique} arrived ({} duplicates); survivor: {report}",
        outage_took.as_secs_f64(),
        killed_all - killed_unique,
        survivor_all - survivor_unique,
    );
    assert!(
        killed_unique as u64 >= spooled,
        "every span reported spooled arrives: {killed_unique} < {spooled}"
    );
    assert_eq!(
        survivor_unique as u64, produced,
        "every span of the survivor"
    );
    assert_eq!(field(&report, "lost"), Some(0), "{report}");
}
