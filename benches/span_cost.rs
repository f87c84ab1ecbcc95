//! Cost on the calling thread of one `#[instrument]` call with one integer field, with an event
//! inside, through tracewire's stack and through the baselines, in one run so ratios are fair.
//!
//! `cargo bench --bench span_cost`. Export goes to a file sink in a temp dir (the queue may fill
//! and drop: what is measured is the caller's cost, not delivery).

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracing::instrument;
use tracing_subscriber::layer::SubscriberExt as _;

#[instrument]
fn work(n: i64) -> i64 {
    tracing::info!(n, "inside");
    n + 1
}

fn tracewire_stack(sampling_rate: f64, dir: &std::path::Path) -> tracewire::Guard {
    tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("file:{}", dir.join("spans.jsonl").display()))
        .with_sampling_rate(sampling_rate)
        .with_log_writer(std::io::sink())
        .set_default()
        .expect("stack")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("instrumented_call_with_event");
    g.bench_function("no_subscriber", |b| b.iter(|| work(black_box(7))));

    let registry = tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new());
    tracing::subscriber::with_default(registry, || {
        g.bench_function("registry_empty_layer", |b| b.iter(|| work(black_box(7))));
    });

    let dir = tempfile::tempdir().unwrap();
    for (name, rate) in [("tracewire_sampled", 1.0), ("tracewire_unsampled", 0.0)] {
        let guard = tracewire_stack(rate, dir.path());
        g.bench_function(name, |b| b.iter(|| work(black_box(7))));
        drop(guard);
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
