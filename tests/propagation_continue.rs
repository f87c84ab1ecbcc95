//! Continuing a remote trace: the child keeps the caller's trace id, `tracestate` and flags,
//! and what it forwards names itself as the parent.

mod support;

use std::collections::HashMap;

use tracewire::propagation::{current_traceparent, inject, set_parent};

#[test]
fn child_forwards_trace_id_tracestate_flags_and_baggage() {
    let guard = support::ids_only(std::io::sink());
    let incoming: HashMap<String, String> = [
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
        ),
        (
            "tracestate",
            "congo=t61rcWkgMzE,rojo@vendor=00f067aa0ba902b7",
        ),
        ("baggage", "user=alice;sensitive,tier=gold"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let span = tracing::info_span!("handle");
    assert!(set_parent(&span, &incoming).unwrap());
    let (tp, out) = span.in_scope(|| {
        let mut out = HashMap::new();
        inject(&mut out);
        (current_traceparent().unwrap(), out)
    });
    guard.shutdown().unwrap();

    assert_eq!(
        &tp[..36],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-",
        "same trace"
    );
    assert_ne!(
        &tp[36..52],
        "00f067aa0ba902b7",
        "our span is the new parent"
    );
    assert_eq!(out["traceparent"], tp);
    assert_eq!(&tp[53..], "03", "sampled and random flags forwarded");
    assert_eq!(
        out["tracestate"],
        "congo=t61rcWkgMzE,rojo@vendor=00f067aa0ba902b7"
    );
    let mut baggage: Vec<&str> = out["baggage"].split(',').collect();
    baggage.sort();
    assert_eq!(
        baggage,
        ["tier=gold", "user=alice;sensitive"],
        "baggage members, in any order"
    );
}

#[test]
fn garbage_starts_a_new_trace_and_drops_tracestate() {
    let guard = support::ids_only(std::io::sink());
    let incoming: HashMap<String, String> = [
        (
            "traceparent",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        ),
        ("tracestate", "congo=t61rcWkgMzE"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let span = tracing::info_span!("handle");
    assert!(!set_parent(&span, &incoming).unwrap());
    let out = span.in_scope(|| {
        let mut out = HashMap::new();
        inject(&mut out);
        out
    });
    guard.shutdown().unwrap();
    assert!(!out["traceparent"].contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert!(!out.contains_key("tracestate"));
}
