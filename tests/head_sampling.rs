//! Head sampling decided when a trace's local root is created: sampled traces arrive whole at
//! the collector, unsampled ones not at all, and both keep trace ids in log lines and in what
//! they forward.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::TraceContextExt as _;
use serde_json::Value;
use support::{Captured, Collector, to_collector};
use tracewire::propagation::{current_traceparent, extract, inject, set_parent};
use tracewire::settings::Protocol;

fn headers(traceparent: &str) -> HashMap<String, String> {
    HashMap::from([("traceparent".to_string(), traceparent.to_string())])
}

/// A scoped stack that samples no new trace and exports nothing; JSON log lines to `logs`.
fn nothing_sampled(logs: Captured) -> tracewire::Guard {
    tracewire::builder()
        .without_settings_file()
        .with_env([
            ("OTEL_TRACES_EXPORTER", "none"),
            ("TRACEWIRE_SAMPLING_RATE", "0"),
        ])
        .with_log_writer(logs)
        .set_default()
        .unwrap()
}

const SAMPLED_PARENT: &str = "00-11111111111111111111111111111111-2222222222222222-01";
const UNSAMPLED_PARENT: &str = "00-33333333333333333333333333333333-4444444444444444-00";

#[test]
fn a_ratio_keeps_whole_traces_and_the_attached_parent_decides() {
    let collector = Collector::start();
    let logs = Captured::default();
    let guard = to_collector(&collector, Protocol::Grpc, "head")
        .with_env([("TRACEWIRE_SAMPLING_RATE", "0.5")])
        .with_log_writer(logs.clone())
        .set_default()
        .unwrap();
    const TRACES: usize = 400;
    for i in 0..TRACES {
        tracing::info_span!("root", i).in_scope(|| {
            tracing::info_span!("child", n = 7u64).in_scope(|| tracing::info!(i, "work"));
            tracing::info_span!("sibling").in_scope(|| {});
        });
    }
    // A parent attached before the span is created decides, whatever the ratio says.
    for (tp, name) in [
        (SAMPLED_PARENT, "remote_sampled"),
        (UNSAMPLED_PARENT, "remote_unsampled"),
    ] {
        let _cx = extract(&headers(tp)).attach();
        tracing::info_span!("server", otel.name = name).in_scope(|| tracing::info!("handled"));
    }
    let stats = guard.stats();
    guard.shutdown().expect("delivered");

    let lines = logs.json_lines();
    let logged_sampled: usize = lines
        .iter()
        .filter(|l| l["message"] == "work" && l["trace_flags"] == "03")
        .count();
    let spans = collector.wait_for_spans(logged_sampled * 3 + 1, Duration::from_secs(20));
    assert_eq!(stats.dropped(), 0);

    let roots: Vec<&Value> = spans.iter().filter(|s| s["name"] == "root").collect();
    // p = 0.5 of 400: mean 200, sd 10. A second coin thrown by the SDK would give ~100.
    assert!(
        (140..=260).contains(&roots.len()),
        "{} of {TRACES} traces sampled",
        roots.len()
    );
    assert_eq!(
        roots.len(),
        logged_sampled,
        "log lines say which traces were kept"
    );
    let ids: HashSet<&str> = spans
        .iter()
        .map(|s| s["span_id"].as_str().unwrap())
        .collect();
    for root in &roots {
        let trace = root["trace_id"].as_str().unwrap();
        let mut names: Vec<&str> = spans
            .iter()
            .filter(|s| s["trace_id"] == trace)
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["child", "root", "sibling"],
            "a kept trace arrives whole"
        );
    }
    for s in spans.iter().filter(|s| s["parent_span_id"] != "") {
        let parent = s["parent_span_id"].as_str().unwrap();
        assert!(
            ids.contains(parent) || parent == "2222222222222222",
            "no orphans: {s}"
        );
    }
    let child = spans.iter().find(|s| s["name"] == "child").unwrap();
    assert_eq!(child["attributes"]["n"], 7, "integers keep their type");

    let remote: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "remote_sampled")
        .collect();
    assert_eq!(remote.len(), 1, "a sampled caller is followed");
    assert_eq!(remote[0]["trace_id"], "11111111111111111111111111111111");
    assert_eq!(remote[0]["parent_span_id"], "2222222222222222");
    assert!(!spans.iter().any(|s| s["name"] == "remote_unsampled"));

    // Every line in a span has ids; the unsampled ones carry their own trace on.
    let work: Vec<&Value> = lines.iter().filter(|l| l["message"] == "work").collect();
    assert_eq!(work.len(), TRACES);
    let exported: HashSet<&str> = spans
        .iter()
        .map(|s| s["trace_id"].as_str().unwrap())
        .collect();
    let mut unsampled_traces = HashSet::new();
    for l in &work {
        let trace = l["trace_id"].as_str().expect("trace_id on every line");
        assert_eq!(trace.len(), 32);
        assert_ne!(trace, "00000000000000000000000000000000");
        assert_eq!(l["span_id"].as_str().unwrap().len(), 16);
        match l["trace_flags"].as_str().unwrap() {
            // Local roots: tracewire's trace ids are random (02); 01 is the decision.
            "03" => assert!(exported.contains(trace)),
            "02" => {
                assert!(
                    !exported.contains(trace),
                    "unsampled traces are not exported"
                );
                unsampled_traces.insert(trace);
            }
            other => panic!("flags {other}"),
        }
    }
    assert_eq!(
        unsampled_traces.len(),
        TRACES - roots.len(),
        "one trace id per trace"
    );
    let handled: Vec<&Value> = lines.iter().filter(|l| l["message"] == "handled").collect();
    assert_eq!(handled[1]["trace_id"], "33333333333333333333333333333333");
    assert_eq!(handled[1]["trace_flags"], "00");
}

#[test]
fn an_unsampled_trace_still_propagates_its_ids() {
    let logs = Captured::default();
    let guard = nothing_sampled(logs.clone());
    let (tp, out) = tracing::info_span!("root").in_scope(|| {
        tracing::info!("in root");
        tracing::info_span!("child").in_scope(|| {
            tracing::info!("in child");
            let mut out = HashMap::new();
            inject(&mut out);
            (current_traceparent().unwrap(), out)
        })
    });
    guard.shutdown().unwrap();

    let lines = logs.json_lines();
    let (root, child) = (&lines[0], &lines[1]);
    assert_eq!(root["trace_id"], child["trace_id"], "one trace");
    assert_ne!(root["span_id"], child["span_id"], "two spans");
    assert_eq!(child["trace_flags"], "02", "not sampled, random trace id");
    assert_eq!(
        tp,
        format!(
            "00-{}-{}-02",
            child["trace_id"].as_str().unwrap(),
            child["span_id"].as_str().unwrap()
        ),
        "what goes downstream is the log line's trace, flagged not sampled"
    );
    assert_eq!(out["traceparent"], tp);
    let cx = tracewire::propagation::extract(&out);
    assert!(!cx.span().span_context().is_sampled());
}

#[test]
fn a_sampled_parent_set_after_an_unsampled_root_was_made_is_adopted_and_warned_about() {
    let logs = Captured::default();
    let guard = nothing_sampled(logs.clone());
    let span = tracing::info_span!("late");
    assert!(set_parent(&span, &headers(SAMPLED_PARENT)).unwrap());
    span.in_scope(|| tracing::info!("inside"));
    guard.shutdown().unwrap();

    let lines = logs.json_lines();
    let warn = lines
        .iter()
        .find(|l| l["level"] == "WARN")
        .expect("a warning");
    assert!(
        warn["message"].as_str().unwrap().contains("sampling_rate"),
        "{warn}"
    );
    let inside = lines.iter().find(|l| l["message"] == "inside").unwrap();
    assert_eq!(
        inside["trace_id"], "11111111111111111111111111111111",
        "the caller's trace id is carried on"
    );
}

#[test]
fn an_unsampled_span_carries_the_context_it_was_created_in() {
    let guard = nothing_sampled(Captured::default());
    let incoming = HashMap::from([
        ("traceparent".to_string(), UNSAMPLED_PARENT.to_string()),
        ("baggage".to_string(), "tenant=acme".to_string()),
    ]);
    let span = {
        let _cx = extract(&incoming).attach();
        tracing::info_span!("job")
    };
    // Entered later (an async task polled after its creator returned), more than once.
    let first = span.in_scope(|| {
        // What OpenTelemetry API code inside sees, and what tracewire forwards.
        let current = opentelemetry::Context::current();
        assert_eq!(
            current.baggage().get("tenant").map(|v| v.to_string()),
            Some("acme".to_string())
        );
        let mut out = HashMap::new();
        inject(&mut out);
        out
    });
    let second = span.in_scope(|| {
        let mut out = HashMap::new();
        inject(&mut out);
        out
    });
    guard.shutdown().unwrap();
    assert_eq!(first, second);
    assert!(
        first["traceparent"].starts_with("00-33333333333333333333333333333333-"),
        "{first:?}"
    );
    assert!(first["traceparent"].ends_with("-00"));
    assert_eq!(first["baggage"], "tenant=acme", "{first:?}");
}
