//! tracewire inside a subscriber of the user's own: `Builder::layer()` beside another layer on
//! `tracing_subscriber::registry()`, and `with_layer()` adding one to tracewire's stack. Spans
//! are exported, the other layer sees every event (tracewire's `log_level` decides for
//! tracewire's layers only), and `OpenTelemetrySpanExt::set_parent` still reaches the
//! OpenTelemetry layer through the composition.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{Captured, file_sink_spans};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// Another team's layer: counts the events it sees.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Counting {
    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn work() {
    tracing::info_span!("checkout").in_scope(|| {
        tracing::debug!("detail only the other layer wants");
        tracing::warn!("slow payment");
    });
    // A remote parent through OpenTelemetrySpanExt, as a user's own middleware would do.
    let cx = tracewire::propagation::extract(&std::collections::HashMap::from([(
        "traceparent".to_string(),
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string(),
    )]));
    let span = tracing::info_span!("continued");
    span.set_parent(cx)
        .expect("the OpenTelemetry layer is found through the composition");
    span.in_scope(|| {});
}

fn check(sink: &std::path::Path, logs: &Captured, counted: usize) {
    let spans = file_sink_spans(sink);
    let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"checkout") && names.contains(&"continued"),
        "{names:?}"
    );
    let continued = spans.iter().find(|s| s["name"] == "continued").unwrap();
    assert_eq!(continued["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    let lines = logs.json_lines();
    assert_eq!(
        lines.len(),
        1,
        "log_level = warn for tracewire's lines: {lines:?}"
    );
    assert_eq!(lines[0]["message"], "slow payment");
    assert_eq!(counted, 2, "the other layer saw the debug event too");
}

#[test]
fn the_layer_form_in_a_users_registry() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let logs = Captured::default();
    let (layer, guard) = support::to_file(&sink)
        .with_log_level("warn,composed_stack=info")
        .with_log_writer(logs.clone())
        .layer()
        .unwrap();
    let counting = Counting::default();
    let subscriber = tracing_subscriber::registry()
        .with(layer)
        .with(counting.clone());
    tracing::subscriber::with_default(subscriber, work);
    guard.shutdown().unwrap();
    // tracewire's filter ("composed_stack=info") kept the debug event from its lines only.
    check(&sink, &logs, counting.0.load(Ordering::Relaxed));
}

#[test]
fn with_layer_adds_to_tracewires_stack() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let logs = Captured::default();
    let counting = Counting::default();
    let guard = support::to_file(&sink)
        .with_log_level("warn,composed_stack=info")
        .with_log_writer(logs.clone())
        .with_layer(counting.clone())
        .set_default()
        .unwrap();
    work();
    guard.shutdown().unwrap();
    check(&sink, &logs, counting.0.load(Ordering::Relaxed));
}
