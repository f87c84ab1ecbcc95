//! Every `OTEL_TRACES_SAMPLER` value against the specification's table: a new root, a child of
//! a sampled caller and a child of an unsampled caller, each checked by what the span forwards
//! (`traceparent` flags) and whether it was exported.

mod support;

use std::collections::HashMap;

use support::file_sink_spans;
use tracewire::propagation::{current_traceparent, extract};

const SAMPLED: &str = "00-11111111111111111111111111111111-2222222222222222-01";
const UNSAMPLED: &str = "00-33333333333333333333333333333333-4444444444444444-00";

/// (sampler, ratio, [root, child of sampled, child of unsampled])
const TABLE: &[(&str, &str, [bool; 3])] = &[
    ("always_on", "1", [true, true, true]),
    ("always_off", "1", [false, false, false]),
    ("traceidratio", "1", [true, true, true]),
    ("traceidratio", "0", [false, false, false]),
    ("parentbased_always_on", "1", [true, true, false]),
    ("parentbased_always_off", "1", [false, true, false]),
    ("parentbased_traceidratio", "1", [true, true, false]),
    ("parentbased_traceidratio", "0", [false, true, false]),
];

#[test]
fn each_sampler_follows_the_specification() {
    for &(sampler, ratio, expected) in TABLE {
        let dir = tempfile::tempdir().unwrap();
        let sink = dir.path().join("spans.jsonl");
        let guard = support::to_file(&sink)
            .with_env([
                ("OTEL_TRACES_SAMPLER", sampler),
                ("OTEL_TRACES_SAMPLER_ARG", ratio),
            ])
            .with_log_writer(std::io::sink())
            .set_default()
            .unwrap();
        let mut flags = Vec::new();
        for (name, parent) in [
            ("root", None),
            ("sampled", Some(SAMPLED)),
            ("unsampled", Some(UNSAMPLED)),
        ] {
            let _cx = parent.map(|tp| {
                extract(&HashMap::from([(
                    "traceparent".to_string(),
                    tp.to_string(),
                )]))
                .attach()
            });
            let tp = tracing::info_span!("span", otel.name = name)
                .in_scope(|| tracing::info_span!("child").in_scope(current_traceparent))
                .expect("a trace context, sampled or not");
            if let Some(p) = parent {
                assert_eq!(tp[3..35], p[3..35], "{sampler}: the caller's trace");
            }
            let bits = u8::from_str_radix(&tp[53..], 16).unwrap();
            // A new trace's id is random (Level 2); a continued one keeps the caller's flag.
            assert_eq!(
                bits & 0x02,
                if parent.is_none() { 0x02 } else { 0 },
                "{sampler}: {tp}"
            );
            flags.push(bits & 0x01 == 1);
        }
        guard.shutdown().unwrap();
        let spans = file_sink_spans(&sink);
        let exported: Vec<bool> = ["root", "sampled", "unsampled"]
            .iter()
            .map(|n| spans.iter().any(|s| s["name"] == *n))
            .collect();
        assert_eq!(flags, expected, "{sampler} {ratio}: forwarded flags");
        assert_eq!(exported, expected, "{sampler} {ratio}: exported");
        assert_eq!(
            spans.iter().filter(|s| s["name"] == "child").count(),
            expected.iter().filter(|e| **e).count(),
            "{sampler} {ratio}: children follow their span"
        );
    }
}
