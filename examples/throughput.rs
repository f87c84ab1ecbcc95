//! Sustained export to a real collector: spans/s delivered and dropped, CPU per span, peak RSS.
//!
//! `OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run --release --example throughput -- [SECONDS] [THREADS] [RATE]`
//! (start a collector first, e.g. `scripts/throughput.sh` does it all, or any OTLP receiver).
//! Spans are produced by THREADS threads (default 1) for SECONDS (default 10), in a tight loop,
//! or at RATE spans per second in total when given (what a service under a steady load does);
//! every span is either delivered or counted as dropped.

use std::time::{Duration, Instant};

fn proc_field(file: &str, key: &str) -> u64 {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// User + system CPU of this process, in clock ticks (usually 100 per second).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let threads: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rate: Option<f64> = std::env::args().nth(3).and_then(|s| s.parse().ok());
    let guard = tracewire::builder()
        .with_log_writer(std::io::sink())
        .with_env(std::env::vars().chain([("TRACEWIRE_LOG_LEVEL".into(), "info".into())]))
        .init()?;
    let cpu0 = cpu_ticks();
    let start = Instant::now();
    let produced: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut n = 0u64;
                    let per_thread = rate.map(|r| r / threads as f64);
                    while start.elapsed() < Duration::from_secs(secs) {
                        if let Some(r) = per_thread {
                            // Paced in steps of 1000: sleep until this step is due.
                            let due = Duration::from_secs_f64(n as f64 / r);
                            if let Some(wait) = due.checked_sub(start.elapsed()) {
                                std::thread::sleep(wait);
                            }
                        }
                        for _ in 0..1000 {
                            tracing::info_span!("work", n).in_scope(|| {});
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let _ = guard.flush();
    let stats = guard.stats();
    let cpu = (cpu_ticks() - cpu0) as f64 / 100.0;
    let peak_kib = proc_field("/proc/self/status", "VmHWM:");
    println!(
        "produced {produced} spans in {elapsed:.1} s ({:.0}/s); delivered {} ({:.0}/s); dropped {} ({:.1}%); CPU {:.2} µs/span (all threads); peak RSS {} MiB",
        produced as f64 / elapsed,
        stats.exported_spans,
        stats.exported_spans as f64 / elapsed,
        stats.dropped(),
        stats.dropped() as f64 * 100.0 / produced.max(1) as f64,
        cpu * 1e6 / produced.max(1) as f64,
        peak_kib / 1024
    );
    let _ = guard.shutdown();
    Ok(())
}
