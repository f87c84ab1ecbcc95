//! `tracewire view` of a metrics file (`{"resourceMetrics":[...]}` lines, tracewire's metrics
//! file or the Collector's file exporter): one line per series, totals over the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::view::{attrs, u64_of};

/// Whether `text` holds metrics rather than spans (its first line says).
pub(crate) fn is_metrics(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.contains("\"resourceMetrics\""))
}

#[derive(Default)]
struct Series {
    unit: String,
    kind: &'static str,
    count: u64,
    sum: f64,
    value: f64,
}

type AllSeries = BTreeMap<(String, String), Series>;

/// Cumulative points replace the earlier ones (the last export holds the totals); delta points
/// add up.
pub(crate) fn summary(text: &str) -> Result<String, String> {
    let mut series = AllSeries::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let req: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        let Some(rms) = req["resourceMetrics"].as_array() else {
            return Err(format!(
                "line {}: no resourceMetrics: not an OTLP/JSON metrics file",
                n + 1
            ));
        };
        for rm in rms {
            add(&mut series, rm);
        }
    }
    Ok(render(&series))
}

/// The points of one `resourceMetrics` entry, by metric and labels.
fn add(series: &mut AllSeries, rm: &Value) {
    let service = attrs(&rm["resource"]["attributes"])
        .get("service.name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let metrics = rm["scopeMetrics"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|sm| sm["metrics"].as_array().into_iter().flatten());
    for m in metrics {
        let name = m["name"].as_str().unwrap_or("").to_string();
        let (kind, data) = ["histogram", "sum", "gauge"]
            .into_iter()
            .find_map(|k| m.get(k).map(|d| (k, d)))
            .unwrap_or(("other", &Value::Null));
        let delta = data["aggregationTemporality"].as_u64() == Some(1)
            || data["aggregationTemporality"] == "AGGREGATION_TEMPORALITY_DELTA";
        for p in data["dataPoints"].as_array().into_iter().flatten() {
            let mut labels: Vec<String> = attrs(&p["attributes"])
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            labels.sort();
            if !service.is_empty() {
                labels.insert(0, format!("service={service}"));
            }
            let s = series.entry((name.clone(), labels.join(" "))).or_default();
            s.unit = m["unit"].as_str().unwrap_or("").to_string();
            s.kind = kind;
            let number = p["asDouble"]
                .as_f64()
                .or_else(|| p["asInt"].as_f64())
                .or_else(|| p["asInt"].as_str().and_then(|i| i.parse().ok()))
                .unwrap_or(0.0);
            let (count, sum) = (u64_of(&p["count"]), p["sum"].as_f64().unwrap_or(0.0));
            if delta {
                s.count += count;
                s.sum += sum;
                s.value += number;
            } else {
                (s.count, s.sum, s.value) = (count, sum, number);
            }
        }
    }
}

/// One heading per metric, one line per series.
fn render(series: &AllSeries) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for ((name, labels), s) in series {
        if *name != last {
            let unit = if s.unit.is_empty() {
                String::new()
            } else {
                format!(", {}", s.unit)
            };
            let _ = writeln!(out, "{name} ({}{unit})", s.kind);
            last = name.clone();
        }
        let figures = match s.kind {
            "histogram" => {
                let mean = if s.count > 0 {
                    s.sum / s.count as f64
                } else {
                    0.0
                };
                format!("count {}  sum {:.6}  mean {:.6}", s.count, s.sum, mean)
            }
            _ => format!("value {}", s.value),
        };
        let _ = writeln!(out, "  {labels}  {figures}");
    }
    if series.is_empty() {
        out.push_str("no metric points\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_points_keep_the_last_and_delta_points_add_up() {
        let line = |temporality: u64, count: u64| {
            format!(
                r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"shop"}}}}]}},"scopeMetrics":[{{"metrics":[{{"name":"http.server.request.duration","unit":"s","histogram":{{"aggregationTemporality":{temporality},"dataPoints":[{{"attributes":[{{"key":"http.route","value":{{"stringValue":"/a"}}}}],"count":"{count}","sum":0.5}}]}}}}]}}]}}]}}"#
            )
        };
        let cumulative = format!("{}\n{}\n", line(2, 3), line(2, 5));
        let text = summary(&cumulative).unwrap();
        assert!(
            text.contains("http.server.request.duration (histogram, s)"),
            "{text}"
        );
        assert!(
            text.contains("service=shop http.route=/a  count 5"),
            "{text}"
        );
        let delta = format!("{}\n{}\n", line(1, 3), line(1, 5));
        assert!(summary(&delta).unwrap().contains("count 8"));
        assert!(is_metrics(&delta));
        assert!(!is_metrics("{\"resourceSpans\":[]}"));
    }
}
