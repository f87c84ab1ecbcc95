//! Prints the effective settings and where each value came from, or the configuration error.
//!
//! `cargo run --example explain` (try `TRACEWIRE_SAMPLING_RATE=0.5` or `RUST_LOG=debug` in front).

fn main() {
    match tracewire::settings::Settings::load() {
        Ok(settings) => println!("{}", settings.explain()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
