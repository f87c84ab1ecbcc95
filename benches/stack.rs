//! Cost on the calling thread of instrumented calls, tracewire against the stock stack, all
//! setups in one run so that ratios are fair. `cargo bench --bench stack`.
//! Instruction counts, which do not move with machine noise: `examples/instructions.rs`.
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for (workload, f, _) in common::WORKLOADS {
        let mut g = c.benchmark_group(*workload);
        for setup in common::SETUPS {
            let (dispatch, held) = common::install(setup, dir.path());
            let run = |g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>| {
                g.bench_function(*setup, |b| b.iter(|| f(black_box(7))));
            };
            match &dispatch {
                Some(d) => tracing::dispatcher::with_default(d, || run(&mut g)),
                None => run(&mut g),
            }
            drop(held);
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
