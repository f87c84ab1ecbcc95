//! With head sampling at 0%, a consumer span follows the producer's decision carried in the
//! message headers; a message without a trace context is not traced.

mod support;

use support::file_sink_spans;
use tracewire::messaging::Messaging;

#[test]
fn the_producers_decision_wins_over_the_local_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("spans.jsonl");
    let guard = support::to_file(&sink)
        .with_env([("TRACEWIRE_SAMPLING_RATE", "0")])
        .with_log_writer(std::io::sink())
        .set_default()
        .unwrap();
    let sampled: Vec<(String, Vec<u8>)> = vec![(
        "traceparent".into(),
        b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_vec(),
    )];
    let none: Vec<(String, Vec<u8>)> = vec![];
    let consumer = Messaging::new("kafka");
    consumer
        .process_span_from("orders", &sampled)
        .in_scope(|| tracing::info!("processed"));
    consumer
        .process_span_from("orders", &none)
        .in_scope(|| tracing::info!("processed"));
    guard.shutdown().unwrap();

    let spans = file_sink_spans(&sink);
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0]["kind"], "CONSUMER");
    assert_eq!(spans[0]["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(spans[0]["parent_span_id"], "b7ad6b7169203331");
}
