//! Both crates in one build: compiling this is the check.

pub use init_tracing_opentelemetry;

/// tracewire's builder, from a build that holds init-tracing-opentelemetry's exporter too.
pub fn builder() -> tracewire::Builder {
    tracewire::builder()
}
