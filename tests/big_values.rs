//! Big values never cost a batch: a 10 MB log message, a 1 MiB span name, a 256 KiB attribute and
//! a span with thousands of events are bounded before they are queued, so the real collector
//! receives every span of the batch they travel in, over gRPC and HTTP.

mod support;

use std::time::Duration;

use support::{Collector, to_collector};
use tracewire::settings::Protocol;

#[test]
fn huge_strings_are_cut_and_the_batch_arrives() {
    let collector = Collector::start();
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let service = format!("big-{protocol}").replace('/', "-");
        let guard = to_collector(&collector, protocol, &service)
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        let huge_message = "m".repeat(10 << 20);
        let huge_name = "n".repeat(1 << 20);
        let big_value = "v".repeat(256 << 10);
        let pad = &big_value[..10_000];
        tracing::info_span!("root").in_scope(|| {
            for i in 0..100 {
                tracing::info_span!("ordinary", i).in_scope(|| {});
            }
            tracing::info_span!("message").in_scope(|| tracing::info!("{huge_message}"));
            tracing::info_span!("named", otel.name = huge_name.as_str()).in_scope(|| {});
            tracing::info_span!("attribute", big = big_value.as_str()).in_scope(|| {});
            tracing::info_span!("chatty").in_scope(|| {
                // 128 events (span_event_count_limit) of 8 KiB values: over the 1 MiB a span
                // may hold, so the last few go.
                for _ in 0..200 {
                    tracing::info!(pad, "again");
                }
            });
        });
        drop((huge_message, huge_name, big_value));
        guard.shutdown().expect("every span delivered");

        let want = 105;
        // Bounded poll: the capture writes what rotel hands it.
        let mut mine = Vec::new();
        for _ in 0..200 {
            mine = collector
                .spans()
                .into_iter()
                .filter(|s| s["resource"]["service.name"] == service.as_str())
                .collect();
            if mine.len() >= want {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            mine.len(),
            want,
            "{protocol}: every span of the batch arrived"
        );
        let named = mine
            .iter()
            .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with("nnn")))
            .expect("the long-named span");
        assert_eq!(named["name"].as_str().unwrap().len(), 8192, "{protocol}");
        let attr = mine.iter().find(|s| s["name"] == "attribute").unwrap();
        assert_eq!(attr["attributes"]["big"].as_str().unwrap().len(), 8192);
        let message = mine.iter().find(|s| s["name"] == "message").unwrap();
        let event = &message["events"][0];
        assert_eq!(event["name"].as_str().unwrap().len(), 8192, "{protocol}");
        let chatty = mine.iter().find(|s| s["name"] == "chatty").unwrap();
        let events = chatty["events"].as_array().unwrap().len();
        assert!(
            (100..128).contains(&events),
            "{protocol}: the span was cut to its byte bound, not dropped: {events} events"
        );
    }
}
