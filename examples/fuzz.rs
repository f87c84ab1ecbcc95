//! A mutation fuzzer for what tracewire reads from outside: `traceparent`, `tracestate`,
//! `baggage`, `b3`, `X-B3-*`, `uber-trace-id`, `X-Amzn-Trace-Id` (as text and as raw bytes, read
//! by a stack with every propagator on), settings files and environment variables. Every input
//! runs under `catch_unwind`; any panic prints the input and exits 1.
//!
//! `cargo run --release --example fuzz -- [INPUTS] [SEED]` (default 1,000,000 inputs, seed 1).
//! Not coverage-guided (cargo-fuzz needs a nightly toolchain): random mutations of a seed
//! corpus of valid and near-valid inputs, which is where parsers break.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

const SEEDS: &[&str] = &[
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-extra-fields",
    "ff-00000000000000000000000000000000-0000000000000000-00",
    "congo=t61rcWkgMzE,rojo@vendor=00f067aa0ba902b7, a=1 ,,b=2",
    "userId=alice%20smith;sensitive;ttl=30,tenant=acme,✓=%E2%9C%93",
    "[observability]\nsampling_rate = 0.5\notlp_endpoint = \"http://localhost:4317\"\n",
    "[default.observability]\nlog_level = \"info,my=debug\"\n[prod.observability]\notlp_headers = { a = \"b\" }\n",
    "http://user:pw@[::1]:4318/v1/traces?x=1",
    "k1=v1,k2=v%2F2,k3",
    "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90",
    "ff01f62b7087beef4a432bc26fa215fd:8072dc4c7a074d67:0000000000000000:03",
    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?;Lineage=a:1",
];

/// Every header some propagator reads.
const HEADERS: &[&str] = &[
    "traceparent",
    "tracestate",
    "baggage",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-sampled",
    "x-b3-flags",
    "uber-trace-id",
    "x-amzn-trace-id",
];

const ENV_KEYS: &[&str] = &[
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PROPAGATORS",
    "TRACEWIRE_SAMPLING_RATE",
    "TRACEWIRE_EXCLUDE_PATHS",
    "RUST_LOG",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic for a seed, so a failure can be replayed.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, rng.next() as u8),
            2 if !v.is_empty() => {
                v.remove(at.min(v.len() - 1));
            }
            3 => {
                let specials = b"-,;=@% \t\"\xff";
                v.insert(at, specials[rng.below(specials.len())]);
            }
            4 => {
                let len = rng.below(v.len() + 1);
                let chunk: Vec<u8> = v.iter().skip(at).take(len).copied().collect();
                v.splice(at..at, chunk);
            }
            5 => v.truncate(at),
            _ => {
                let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                v.extend_from_slice(&other[..rng.below(other.len() + 1)]);
            }
        }
    }
    v.truncate(20_000);
    v
}

fn run_one(rng: &mut Rng, input: &[u8]) {
    let text = String::from_utf8_lossy(input).into_owned();
    match rng.below(4) {
        0 => {
            let name = HEADERS[rng.below(HEADERS.len())];
            let mut h = vec![(name.to_string(), input.to_vec())];
            if rng.below(2) == 0 {
                h.push(("traceparent".into(), SEEDS[0].as_bytes().to_vec()));
            }
            let cx = tracewire::propagation::extract(&h);
            let mut out: HashMap<String, String> = HashMap::new();
            tracewire::propagation::inject_context(&cx, &mut out);
        }
        1 => {
            let h: HashMap<String, String> = HEADERS
                .iter()
                .map(|k| (k.to_string(), text.clone()))
                .collect();
            let _ = tracewire::propagation::extract(&h);
        }
        2 => {
            let _ = tracewire::builder()
                .with_settings_toml(text)
                .with_env::<[(&str, &str); 0], &str, &str>([])
                .settings();
        }
        _ => {
            let key = ENV_KEYS[rng.below(ENV_KEYS.len())];
            let _ = tracewire::builder()
                .without_settings_file()
                .with_env([(key, text)])
                .settings();
        }
    }
}

fn main() {
    let inputs: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng(seed.max(1));
    // Every format on: outside a stack only W3C Trace Context and Baggage are read.
    let _stack = tracewire::builder()
        .without_settings_file()
        .with_env([
            (
                "OTEL_PROPAGATORS",
                "tracecontext,baggage,b3,b3multi,jaeger,xray",
            ),
            ("OTEL_TRACES_EXPORTER", "none"),
        ])
        .with_log_writer(std::io::sink())
        .set_default()
        .expect("a stack for the propagators");
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    for i in 0..inputs {
        let base = SEEDS[rng.below(SEEDS.len())].as_bytes();
        let input = mutate(&mut rng, base);
        let mut inner = Rng(rng.next() | 1);
        if catch_unwind(AssertUnwindSafe(|| run_one(&mut inner, &input))).is_err() {
            eprintln!("panic on input #{i}: {:?}", String::from_utf8_lossy(&input));
            std::process::exit(1);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz: {inputs} inputs, 0 panics, {secs:.1} s ({:.0} inputs/s), seed {seed}",
        inputs as f64 / secs
    );
}
