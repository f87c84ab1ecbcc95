//! Property tests: propagation never panics on any input, and what it writes it reads back.

use std::collections::HashMap;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::TraceContextExt as _;
use proptest::prelude::*;
use tracewire::propagation::{extract, inject_context};

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Valid `tracestate` lists by Trace Context Level 2's grammar: 1 to 32 members, keys of 1 to
/// 256 characters with `@` anywhere after the first, values of 1 to 256 printable characters
/// without `,` `=` or a trailing space.
fn tracestate_members() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map(
        "[a-z0-9][a-z0-9_*/@-]{0,255}",
        "[ -+--<>-~]{0,255}[!-+--<>-~]",
        1..=32,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn join(members: &[(String, String)]) -> String {
    members
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A list of up to 8192 characters goes on unchanged; a longer one loses whole members only,
/// in order, the long ones (over 128 characters) first.
fn check_tracestate(sent: &[(String, String)], got: &str) -> Result<(), TestCaseError> {
    let whole = join(sent);
    if whole.len() <= 8192 {
        prop_assert_eq!(got, whole.as_str());
        return Ok(());
    }
    prop_assert!(got.len() <= 8192, "{}", got.len());
    let members: Vec<String> = sent.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut rest = members.iter();
    let mut removed_short = false;
    for kept in got.split(',') {
        loop {
            let Some(m) = rest.next() else {
                return Err(TestCaseError::fail(format!(
                    "{kept:.40} is not a member, in order"
                )));
            };
            if m == kept {
                break;
            }
            removed_short |= m.len() <= 128;
        }
    }
    if removed_short {
        prop_assert!(
            got.split(',').all(|m| m.len() <= 128),
            "a short member went while a long one stayed"
        );
    }
    Ok(())
}

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
    fn valid_tracestate_round_trips(members in tracestate_members()) {
        let ts = join(&members);
        let cx = extract(&headers(&[("traceparent", TP.to_string()), ("tracestate", ts.clone())]));
        let mut out: HashMap<String, String> = HashMap::new();
        inject_context(&cx, &mut out);
        check_tracestate(&members, &out["tracestate"])?;
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

/// The same lists through a real stack: a span continuing the caller (sampled, or dropped at
/// creation by `sampling_rate = 0` with a not-sampled caller) writes the list back unchanged.
#[test]
fn tracestate_round_trips_through_spans() {
    use proptest::test_runner::{Config, TestRunner};
    for (rate, flags) in [(1.0, "01"), (0.0, "00")] {
        let guard = tracewire::builder()
            .without_settings_file()
            .with_env([("OTEL_TRACES_EXPORTER", "none")])
            .with_sampling_rate(rate)
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        let mut runner = TestRunner::new(Config::with_cases(300));
        runner
            .run(&tracestate_members(), |members| {
                let tp = format!("{}{flags}", &TP[..53]);
                let cx = extract(&headers(&[
                    ("traceparent", tp),
                    ("tracestate", join(&members)),
                ]));
                let _attached = cx.attach();
                let mut out: HashMap<String, String> = HashMap::new();
                tracing::info_span!("server").in_scope(|| {
                    tracing::info_span!("client")
                        .in_scope(|| tracewire::propagation::inject(&mut out))
                });
                prop_assert_eq!(&out["traceparent"][..36], &TP[..36]);
                prop_assert_eq!(&out["traceparent"][53..], flags);
                check_tracestate(&members, &out["tracestate"])
            })
            .unwrap();
        guard.shutdown().unwrap();
    }
}
