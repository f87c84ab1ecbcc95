//! What a broken collector costs the instrumented service, measured.
//!
//! `cargo run --release --example faults -- latency` : per-request latency (p50, p99, max) of an
//! instrumented request at a steady rate, with a healthy OTLP/HTTP endpoint (an in-process one
//! that answers 200), a stalled one (accepts, never answers) and a refused one.
//!
//! `cargo run --release --example faults -- soak [SECONDS]` : RSS every second while the
//! collector is down (refused) for SECONDS (default 60) at a steady span rate.
//!
//! `cargo run --release --example faults -- outage [SECONDS]` : 10,000 spans/s for SECONDS
//! (default 60) to a collector that never answers, then shutdown: how long it took against
//! `shutdown_timeout_ms`, and whether created = delivered + lost by cause + queued.
//!
//! `cargo run --release --example faults -- big [SECONDS]` : RSS every second while 1,000
//! spans/s, each with a 256 KiB attribute, go to a collector that never answers.
//!
//! `cargo run --release --example faults -- runaway` : the tail rule with a root that never ends
//! and 100,000 children, then 100 error traces of 100 spans each: how many of each arrive (file
//! sink), and RSS.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[tracing::instrument]
fn request(i: u64) {
    tracing::info!(i, "handled");
}

/// Answers `200 OK` to every HTTP request: a healthy OTLP/HTTP receiver that discards.
fn healthy() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = vec![0u8; 1 << 20];
                let mut pending = Vec::new();
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    // One response per complete request (headers + content-length body).
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if pending.len() < end + 4 + len {
                            break;
                        }
                        pending.drain(..end + 4 + len);
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n");
                    }
                }
            });
        }
    });
    port
}

fn stalled() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

fn refused() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn guard(port: u16) -> tracewire::Guard {
    tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .with_otlp_timeout(Duration::from_secs(2))
        .with_shutdown_timeout(Duration::from_secs(1))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap()
}

/// `rate` requests per second for `secs`; per-request latencies in ns when `record`
/// (the soak does not record them: the list would be the memory that grows).
fn steady(rate: u64, secs: u64, record: bool, mut each_second: impl FnMut(u64)) -> Vec<u64> {
    let mut lat = Vec::with_capacity(if record { (rate * secs) as usize } else { 0 });
    let start = Instant::now();
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let mut next = start;
    let mut i = 0;
    let mut second = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        let t = Instant::now();
        request(i);
        if record {
            lat.push(t.elapsed().as_nanos() as u64);
        }
        i += 1;
        next += interval;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let s = start.elapsed().as_secs();
        if s > second {
            second = s;
            each_second(s);
        }
    }
    lat
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn secs_arg(default: u64) -> u64 {
    std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// 10,000 spans/s to a stalled collector, then shutdown with `shutdown_timeout_ms = 5000`.
fn outage() {
    let secs = secs_arg(60);
    let g = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("http://127.0.0.1:{}", stalled()))
        .with_otlp_protocol(tracewire::settings::Protocol::Grpc)
        .with_shutdown_timeout(Duration::from_secs(5))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    steady(10_000, secs, false, |_| {});
    let before = g.stats();
    let t = Instant::now();
    let err = g
        .shutdown()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    println!(
        "outage: {secs}s at 10000 spans/s, collector never answers; shutdown took {} ms (shutdown_timeout_ms = 5000)",
        t.elapsed().as_millis()
    );
    println!("  before shutdown: {before}");
    println!("  shutdown: {err}");
}

/// 1,000 spans/s of 256 KiB attributes to a stalled collector: RSS each second.
fn big() {
    let secs = secs_arg(20);
    let g = guard(stalled());
    let value = "v".repeat(256 << 10);
    let start = rss_kib();
    let mut max = start;
    let interval = Duration::from_millis(1);
    let t0 = Instant::now();
    let mut second = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        tracing::info_span!("big", value = value.as_str()).in_scope(|| {});
        std::thread::sleep(interval);
        let s = t0.elapsed().as_secs();
        if s > second {
            second = s;
            let r = rss_kib();
            max = max.max(r);
            println!("t={s:>3}s rss={r} KiB {}", g.stats());
        }
    }
    println!(
        "big: {secs}s of 256 KiB spans, collector stalled: rss {start} -> max {max} KiB; {}",
        g.stats()
    );
    let _ = g.shutdown();
}

/// The tail rule against a runaway trace: what arrives of 100 error traces.
fn runaway() {
    let dir = std::env::temp_dir().join(format!("tracewire-runaway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = dir.join("spans.jsonl");
    let g = tracewire::builder()
        .without_settings_file()
        .with_env([
            ("TRACEWIRE_SAMPLING_RATE", "0.1"),
            ("TRACEWIRE_KEEP_ERRORS", "true"),
        ])
        .with_otlp_endpoint(format!("file:{}", sink.display()))
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let start = rss_kib();
    // A root that never ends, unsampled (forced by an unsampled caller), with 100,000 children.
    let caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    let cx = tracewire::propagation::extract(&std::collections::HashMap::from([(
        "traceparent".to_string(),
        caller.to_string(),
    )]));
    let attached = cx.attach();
    let root = tracing::info_span!("runaway");
    drop(attached);
    for _ in 0..100_000 {
        tracing::info_span!(parent: &root, "spin").in_scope(|| {});
    }
    let mut ids = Vec::new();
    for t in 0..100 {
        let cx = tracewire::propagation::extract(&std::collections::HashMap::from([(
            "traceparent".to_string(),
            format!("00-{:032x}-b7ad6b7169203331-00", 0x1000 + t),
        )]));
        let _a = cx.attach();
        tracing::info_span!("request").in_scope(|| {
            ids.push(tracewire::propagation::current_trace_id().unwrap());
            for i in 1..100 {
                tracing::info_span!("step", i).in_scope(|| {
                    if i == 50 {
                        tracing::error!("failed");
                    }
                });
            }
        });
    }
    let peak = rss_kib();
    let stats = g.stats();
    let _ = g.shutdown();
    let text = std::fs::read_to_string(&sink).unwrap_or_default();
    let whole = ids
        .iter()
        .filter(|id| text.matches(&format!("\"traceId\":\"{id}\"")).count() == 100)
        .count();
    println!(
        "runaway: 100,000 children of a root that never ends, then 100 error traces of 100 spans: {whole}/100 arrived whole; rss {start} -> {peak} KiB; {stats}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "latency".into());
    match mode.as_str() {
        "outage" => return outage(),
        "big" => return big(),
        "runaway" => return runaway(),
        _ => {}
    }
    if mode == "soak" {
        let secs: u64 = std::env::args()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        let g = guard(refused());
        let mut samples = Vec::new();
        steady(20_000, secs, false, |s| {
            let r = rss_kib();
            samples.push(r);
            println!("t={s:>3}s rss={r} KiB dropped={}", g.stats().dropped());
        });
        let (min, max) = (samples.iter().min().unwrap(), samples.iter().max().unwrap());
        let after_warmup = &samples[samples.len().min(5)..];
        println!(
            "soak: {secs}s at 20000 spans/s with the collector down: rss min {min} KiB, max {max} KiB, max after 5 s {} KiB; {} spans dropped and counted",
            after_warmup.iter().max().unwrap_or(max),
            g.stats().dropped()
        );
        let _ = g.shutdown();
        return;
    }
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "endpoint", "p50 µs", "p99 µs", "max µs", "lost"
    );
    for (name, port) in [
        ("healthy", healthy()),
        ("stalled", stalled()),
        ("refused", refused()),
    ] {
        let g = guard(port);
        let mut lat = steady(10_000, 5, true, |_| {});
        lat.sort_unstable();
        let failed = g.stats().dropped();
        println!(
            "{name:<10} {:>10.1} {:>10.1} {:>10.1} {:>10}",
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            pct(&lat, 1.0),
            failed
        );
        let _ = g.shutdown();
    }
}
