//! Reading OTLP/JSON lines into traces, and printing them as trees.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

/// One span, as much of it as the viewer needs.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub(crate) trace_id: String,
    pub(crate) span_id: String,
    pub(crate) parent: String,
    pub(crate) name: String,
    pub(crate) service: String,
    pub(crate) kind: String,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) error: Option<String>,
    pub(crate) attributes: serde_json::Map<String, Value>,
    pub(crate) events: Vec<Value>,
}

impl Span {
    pub(crate) fn duration(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

pub(crate) fn u64_of(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        other => other.as_u64().unwrap_or(0),
    }
}

/// An OTLP/JSON AnyValue as plain JSON.
fn any(v: &Value) -> Value {
    for k in ["stringValue", "boolValue", "doubleValue"] {
        if let Some(x) = v.get(k) {
            return x.clone();
        }
    }
    if let Some(i) = v.get("intValue") {
        return match i {
            Value::String(s) => s
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| i.clone()),
            other => other.clone(),
        };
    }
    if let Some(a) = v.get("arrayValue") {
        return Value::Array(
            a["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(any)
                .collect(),
        );
    }
    Value::Null
}

pub(crate) fn attrs(list: &Value) -> serde_json::Map<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv["key"].as_str()?.to_string(), any(&kv["value"]))))
        .collect()
}

const KINDS: [&str; 6] = [
    "unspecified",
    "internal",
    "server",
    "client",
    "producer",
    "consumer",
];

/// Parses OTLP/JSON lines (`{"resourceSpans":[...]}` each); lines that are not are reported.
pub(crate) fn parse(text: &str) -> Result<Vec<Span>, String> {
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let req: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        let Some(rss) = req["resourceSpans"].as_array() else {
            return Err(format!(
                "line {}: no resourceSpans: not an OTLP/JSON traces file",
                n + 1
            ));
        };
        for rs in rss {
            let res = attrs(&rs["resource"]["attributes"]);
            let service = res
                .get("service.name")
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    let code = &s["status"]["code"];
                    let is_error = code == 2 || code == "STATUS_CODE_ERROR";
                    out.push(Span {
                        trace_id: s["traceId"].as_str().unwrap_or("").to_string(),
                        span_id: s["spanId"].as_str().unwrap_or("").to_string(),
                        parent: s["parentSpanId"].as_str().unwrap_or("").to_string(),
                        name: s["name"].as_str().unwrap_or("").to_string(),
                        service: service.clone(),
                        kind: match &s["kind"] {
                            Value::Number(k) => KINDS.get(k.as_u64().unwrap_or(0) as usize).unwrap_or(&"unspecified").to_string(),
                            Value::String(k) => k.trim_start_matches("SPAN_KIND_").to_ascii_lowercase(),
                            _ => "unspecified".into(),
                        },
                        start: u64_of(&s["startTimeUnixNano"]),
                        end: u64_of(&s["endTimeUnixNano"]),
                        error: is_error.then(|| s["status"]["message"].as_str().unwrap_or("").to_string()),
                        attributes: attrs(&s["attributes"]),
                        events: s["events"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|e| serde_json::json!({"name": e["name"], "attributes": attrs(&e["attributes"])}))
                            .collect(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// One trace: its spans, and the order to print them in (depth-first from the roots).
#[derive(Debug)]
pub(crate) struct Trace {
    pub(crate) id: String,
    pub(crate) spans: Vec<Span>,
    /// (index into spans, depth, is last child, ancestors-are-last flags)
    pub(crate) order: Vec<(usize, usize, Vec<bool>)>,
    pub(crate) slowest_path: Vec<usize>,
}

impl Trace {
    pub(crate) fn start(&self) -> u64 {
        self.spans.iter().map(|s| s.start).min().unwrap_or(0)
    }
    pub(crate) fn end(&self) -> u64 {
        self.spans.iter().map(|s| s.end).max().unwrap_or(0)
    }
    pub(crate) fn duration(&self) -> u64 {
        self.end().saturating_sub(self.start())
    }
    pub(crate) fn errors(&self) -> usize {
        self.spans.iter().filter(|s| s.error.is_some()).count()
    }
}

pub(crate) fn traces(spans: Vec<Span>) -> Vec<Trace> {
    let mut by_trace: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for s in spans {
        by_trace.entry(s.trace_id.clone()).or_default().push(s);
    }
    let mut out: Vec<Trace> = by_trace
        .into_iter()
        .map(|(id, mut spans)| {
            spans.sort_by_key(|s| s.start);
            let index: HashMap<&str, usize> = spans
                .iter()
                .enumerate()
                .map(|(i, s)| (s.span_id.as_str(), i))
                .collect();
            let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
            let mut roots = Vec::new();
            for (i, s) in spans.iter().enumerate() {
                match index.get(s.parent.as_str()) {
                    Some(&p) if p != i => children[p].push(i),
                    // A missing parent (remote, or not in this file) makes a root.
                    _ => roots.push(i),
                }
            }
            let mut order = Vec::new();
            fn walk(
                i: usize,
                depth: usize,
                lasts: Vec<bool>,
                children: &[Vec<usize>],
                order: &mut Vec<(usize, usize, Vec<bool>)>,
            ) {
                order.push((i, depth, lasts.clone()));
                let n = children[i].len();
                for (k, &c) in children[i].iter().enumerate() {
                    let mut l = lasts.clone();
                    l.push(k + 1 == n);
                    walk(c, depth + 1, l, children, order);
                }
            }
            for &r in &roots {
                walk(r, 0, Vec::new(), &children, &mut order);
            }
            let mut slowest_path = Vec::new();
            if let Some(&root) = roots.iter().max_by_key(|&&r| spans[r].duration()) {
                let mut at = root;
                slowest_path.push(at);
                while let Some(&next) = children[at].iter().max_by_key(|&&c| spans[c].duration()) {
                    slowest_path.push(next);
                    at = next;
                }
            }
            Trace {
                id,
                spans,
                order,
                slowest_path,
            }
        })
        .collect();
    out.sort_by_key(|t| t.start());
    out
}

pub(crate) fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// Text trees: name, service (where it changes), duration, share of the trace, status.
pub(crate) fn render(traces: &[Trace]) -> String {
    let mut out = String::new();
    for t in traces {
        let root_service = t
            .order
            .first()
            .map(|(i, _, _)| t.spans[*i].service.as_str())
            .unwrap_or("?");
        let _ = writeln!(
            out,
            "trace {}  {}  {}  {} span{}{}",
            t.id,
            root_service,
            ms(t.duration()),
            t.spans.len(),
            if t.spans.len() == 1 { "" } else { "s" },
            match t.errors() {
                0 => String::new(),
                n => format!("  {n} error{}", if n == 1 { "" } else { "s" }),
            }
        );
        let total = t.duration().max(1);
        let slow_leaf = t.slowest_path.last().copied();
        for (i, depth, lasts) in &t.order {
            let s = &t.spans[*i];
            let mut prefix = String::new();
            for (d, last) in lasts.iter().enumerate() {
                let is_self = d + 1 == lasts.len();
                prefix.push_str(match (is_self, last) {
                    (true, true) => "└─ ",
                    (true, false) => "├─ ",
                    (false, true) => "   ",
                    (false, false) => "│  ",
                });
            }
            let parent_service = t
                .spans
                .iter()
                .find(|p| p.span_id == s.parent)
                .map(|p| p.service.as_str());
            let service = if *depth == 0 || parent_service != Some(s.service.as_str()) {
                format!(" [{}]", s.service)
            } else {
                String::new()
            };
            let share = s.duration() as f64 * 100.0 / total as f64;
            let status = match &s.error {
                Some(m) if m.is_empty() => "  ✗ ERROR".to_string(),
                Some(m) => format!("  ✗ ERROR: {m}"),
                None => String::new(),
            };
            let slow = if Some(*i) == slow_leaf && t.spans.len() > 1 {
                "  ← slowest"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{prefix}{}{service}  {}  {share:.0}%{status}{slow}",
                s.name,
                ms(s.duration())
            );
        }
        out.push('\n');
    }
    out
}
