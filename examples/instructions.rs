//! Runs one setup × workload of `benches/common` N times, for instruction counting:
//! `scripts/instructions.sh` runs it under `valgrind --tool=callgrind` with two values of N and
//! divides the difference by the number of spans, which removes start-up cost.
//!
//! `cargo run --release --example instructions -- SETUP WORKLOAD N`

#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (setup, workload, n) = (&args[1], &args[2], args[3].parse::<i64>().expect("N"));
    let (_, f, _) = common::WORKLOADS
        .iter()
        .find(|(w, _, _)| w == workload)
        .expect("workload");
    let dir = tempfile::tempdir().unwrap();
    let (dispatch, held) = common::install(setup, dir.path());
    let run = || {
        let mut acc = 0;
        for i in 0..n {
            acc += f(std::hint::black_box(i));
        }
        std::hint::black_box(acc);
    };
    match &dispatch {
        Some(d) => tracing::dispatcher::with_default(d, run),
        None => run(),
    }
    drop(held);
}
