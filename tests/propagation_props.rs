//! Property tests: propagation never panics on any input, and what it writes it reads back.

use std::collections::HashMap;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::TraceContextExt as _;
use proptest::prelude::*;
use tracewire::propagation::{extract, inject_context};

fn headers(pairs: &[(&str, String)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone().into_bytes()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_headers_never_panic(tp in ".{0,80}", ts in ".{0,300}", bg in ".{0,300}") {
        let cx = extract(&headers(&[("traceparent", tp), ("tracestate", ts), ("baggage", bg)]));
        let mut out: HashMap<String, String> = HashMap::new();
        inject_context(&cx, &mut out);
    }

    #[test]
    fn any_bytes_never_panic(raw in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 0..6)) {
        let names = ["traceparent", "tracestate", "baggage"];
        let h: Vec<(String, Vec<u8>)> = raw.into_iter().enumerate().map(|(i, v)| (names[i % 3].to_string(), v)).collect();
        let _ = extract(&h);
    }

    #[test]
    fn near_valid_traceparents_never_panic(
        version in "[0-9a-fA-F]{2}", trace in "[0-9a-fA-F]{30,34}", span in "[0-9a-fA-F]{14,18}",
        flags in "[0-9a-fA-F]{1,3}", tail in "(-[a-z0-9]{0,8})?",
    ) {
        let tp = format!("{version}-{trace}-{span}-{flags}{tail}");
        let _ = extract(&headers(&[("traceparent", tp)]));
    }

    #[test]
    fn valid_traceparent_round_trips(trace in "[0-9a-f]{32}", span in "[0-9a-f]{16}", sampled in any::<bool>()) {
        prop_assume!(trace != "0".repeat(32) && span != "0".repeat(16));
        let tp = format!("00-{trace}-{span}-{}", if sampled { "01" } else { "00" });
        let cx = extract(&headers(&[("traceparent", tp.clone())]));
        prop_assert!(cx.span().span_context().is_remote());
        let mut out: HashMap<String, String> = HashMap::new();
        inject_context(&cx, &mut out);
        prop_assert_eq!(&out["traceparent"], &tp);
    }

    #[test]
    fn valid_tracestate_round_trips(members in proptest::collection::btree_map("[a-z][a-z0-9_*/-]{0,10}", "[!-+--<>-~]{1,10}", 1..32)) {
        let ts: Vec<String> = members.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let ts = ts.join(",");
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string();
        let cx = extract(&headers(&[("traceparent", tp), ("tracestate", ts.clone())]));
        let mut out: HashMap<String, String> = HashMap::new();
        inject_context(&cx, &mut out);
        if ts.len() <= 512 {
            prop_assert_eq!(&out["tracestate"], &ts);
        } else {
            prop_assert!(out["tracestate"].len() <= 512);
        }
    }

    #[test]
    fn baggage_values_round_trip(entries in proptest::collection::btree_map("[A-Za-z0-9_.-]{1,12}", "\\PC{0,20}", 1..10)) {
        let cx = opentelemetry::Context::new().with_baggage(
            entries.iter().map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone())),
        );
        let mut out: HashMap<String, String> = HashMap::new();
        inject_context(&cx, &mut out);
        let back = extract(&out);
        for (k, v) in &entries {
            let got = back.baggage().get(k.as_str()).map(|v| v.as_str().to_string());
            prop_assert_eq!(got.as_deref(), Some(v.as_str()));
        }
    }
}
