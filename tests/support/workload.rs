//! A quickstart-like trace, and what a user checks on what arrived.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tracing::{Instrument as _, error, info, info_span, instrument};

/// Spans one `run` produces.
pub const SPANS: usize = 8;
pub const SERVICE_VERSION: &str = "9.9.9";

#[derive(Debug)]
struct OutOfStock;

impl std::fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sku-123 is out of stock")
    }
}

impl std::error::Error for OutOfStock {}

/// Runs the workload on a current-thread runtime in this thread (where a scoped subscriber is
/// visible) and returns its trace id.
pub fn run() -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(handle_order(42, 3, true, 1.5))
        .expect("inside a span there is a trace id")
}

/// Level 1: the local root, a SERVER span.
#[instrument(fields(otel.kind = "server", http.route = "/orders"))]
pub async fn handle_order(
    order_id: u64,
    items: i64,
    express: bool,
    weight_kg: f64,
) -> Option<String> {
    info!(order_id, items, "order received");
    let total = price_items(items).await;
    if reserve_stock().is_err() {
        info!("continuing without reservation");
    }
    charge(total);
    info_span!(
        "lookup",
        otel.name = "SELECT orders",
        otel.kind = "client",
        db.system.name = "postgresql"
    )
    .in_scope(|| info!(rows = 1u32, "looked up"));
    tracewire::propagation::current_trace_id()
}

/// Level 2: spawned tasks keep their parent.
#[instrument]
async fn price_items(items: i64) -> u64 {
    let mut tasks = Vec::new();
    for item in 0..items {
        tasks.push(tokio::spawn(price_one(item).in_current_span()));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

/// Level 3.
#[instrument]
async fn price_one(item: i64) -> u64 {
    tokio::time::sleep(Duration::from_millis(2)).await;
    250 + item as u64 * 100
}

#[instrument(err)]
fn reserve_stock() -> Result<(), OutOfStock> {
    Err(OutOfStock)
}

#[instrument]
fn charge(amount_cents: u64) {
    error!(amount_cents, "payment declined");
}

fn by_name(spans: &[Value]) -> HashMap<String, Vec<&Value>> {
    let mut m: HashMap<String, Vec<&Value>> = HashMap::new();
    for s in spans {
        m.entry(s["name"].as_str().unwrap().to_string())
            .or_default()
            .push(s);
    }
    m
}

fn one<'a>(m: &HashMap<String, Vec<&'a Value>>, name: &str) -> &'a Value {
    let v = m
        .get(name)
        .unwrap_or_else(|| panic!("no span named {name}: {:?}", m.keys()));
    assert_eq!(v.len(), 1, "one span named {name}");
    v[0]
}

fn event<'a>(span: &'a Value, name: &str) -> &'a Value {
    span["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "span {} has no event {name}: {}",
                span["name"], span["events"]
            )
        })
}

/// Checks the tree of one run, in the collector's capture format; returns span ids by name.
pub fn check_tree(spans: &[Value], trace_id: &str, service: &str) -> HashMap<String, String> {
    let spans: Vec<Value> = spans
        .iter()
        .filter(|s| s["trace_id"] == trace_id)
        .cloned()
        .collect();
    assert_eq!(spans.len(), SPANS, "spans of trace {trace_id}: {spans:#?}");
    let m = by_name(&spans);
    let root = one(&m, "handle_order");
    let items = one(&m, "price_items");
    let reserve = one(&m, "reserve_stock");
    let charge = one(&m, "charge");
    let lookup = one(&m, "SELECT orders");
    let id = |s: &Value| s["span_id"].as_str().unwrap().to_string();

    // Parents: the tree the code describes, across spawned tasks.
    assert_eq!(root["parent_span_id"], "", "the root has no parent");
    for child in [items, reserve, charge, lookup] {
        assert_eq!(
            child["parent_span_id"],
            id(root),
            "{} is a child of handle_order",
            child["name"]
        );
    }
    let leaves = &m["price_one"];
    assert_eq!(leaves.len(), 3);
    for leaf in leaves {
        assert_eq!(
            leaf["parent_span_id"],
            id(items),
            "price_one is a child of price_items"
        );
    }

    // Kinds from otel.kind, names from otel.name.
    assert_eq!(root["kind"], "SERVER");
    assert_eq!(lookup["kind"], "CLIENT");
    assert_eq!(items["kind"], "INTERNAL");

    // Attributes keep their type: u64 and i64 are integers, bool a bool, f64 a float.
    assert_eq!(
        root["attributes"]["order_id"], 42,
        "u64 field arrives as an integer"
    );
    assert_eq!(root["attributes"]["items"], 3);
    assert_eq!(root["attributes"]["express"], true);
    assert_eq!(root["attributes"]["weight_kg"], 1.5);
    assert_eq!(root["attributes"]["http.route"], "/orders");
    assert_eq!(lookup["attributes"]["db.system.name"], "postgresql");
    let mut item_values: Vec<i64> = leaves
        .iter()
        .map(|l| l["attributes"]["item"].as_i64().unwrap())
        .collect();
    item_values.sort();
    assert_eq!(item_values, vec![0, 1, 2]);

    // Events become span events with their typed fields.
    let received = event(root, "order received");
    assert_eq!(received["attributes"]["order_id"], 42);
    assert_eq!(received["attributes"]["items"], 3);
    assert_eq!(event(lookup, "looked up")["attributes"]["rows"], 1);

    // Errors: #[instrument(err)] and ERROR events → exception event + status Error.
    assert_eq!(reserve["status"]["code"], "ERROR");
    let exc = event(reserve, "exception");
    assert!(
        exc["attributes"]["exception.message"]
            .as_str()
            .unwrap()
            .contains("out of stock"),
        "{exc}"
    );
    assert_eq!(charge["status"]["code"], "ERROR");
    assert_eq!(charge["status"]["message"], "payment declined");
    let exc = event(charge, "exception");
    assert_eq!(exc["attributes"]["exception.message"], "payment declined");
    assert_eq!(exc["attributes"]["amount_cents"], 1050);
    assert_eq!(
        root["status"]["code"], "UNSET",
        "a handled error does not fail its parent"
    );

    // Resource.
    let res = &root["resource"];
    assert_eq!(res["service.name"], service);
    assert_eq!(res["service.version"], SERVICE_VERSION);
    assert_eq!(res["telemetry.sdk.language"], "rust");
    assert_eq!(res["telemetry.sdk.name"], "opentelemetry");
    assert_eq!(res["process.pid"], std::process::id());
    assert!(
        res["host.name"].as_str().is_some_and(|h| !h.is_empty()),
        "host.name: {res}"
    );

    spans
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), id(s)))
        .collect()
}

/// JSON log lines carry exactly the exported span's ids.
pub fn check_logs(lines: &[Value], trace_id: &str, ids: &HashMap<String, String>) {
    let find = |msg: &str| {
        lines
            .iter()
            .find(|l| l["message"] == msg)
            .unwrap_or_else(|| panic!("no log line {msg:?} in {lines:#?}"))
    };
    for l in lines {
        assert!(
            l["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{l}"
        );
        assert!(l["level"].is_string() && l["target"].is_string(), "{l}");
    }
    let received = find("order received");
    assert_eq!(received["trace_id"], trace_id);
    assert_eq!(received["span_id"], ids["handle_order"].as_str());
    // Sampled (01), and a trace id tracewire made at random (02, Trace Context Level 2).
    assert_eq!(received["trace_flags"], "03");
    assert_eq!(received["order_id"], 42, "log fields are typed");
    assert_eq!(received["span"]["name"], "handle_order");
    assert_eq!(received["span"]["order_id"], 42);
    let declined = find("payment declined");
    assert_eq!(declined["level"], "ERROR");
    assert_eq!(declined["span_id"], ids["charge"].as_str());
    assert_eq!(find("looked up")["span_id"], ids["SELECT orders"].as_str());
}
