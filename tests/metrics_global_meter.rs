//! `init()` installs the meter provider globally: `opentelemetry::global::meter(..)` instruments
//! record with tracewire's resource and export, and the last values go out at shutdown (here
//! to the metrics file beside the file sink). One `init()` per process: a file of its own.

use opentelemetry::KeyValue;

#[test]
fn the_global_meter_exports_with_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let spans = dir.path().join("tracewire-spans.jsonl");
    let guard = tracewire::builder()
        .without_settings_file()
        .with_env::<[(&str, &str); 0], &str, &str>([])
        .with_otlp_endpoint(format!("file:{}", spans.display()))
        .with_service_name("global-meter")
        .with_log_writer(std::io::sink())
        .init()
        .unwrap();
    let orders = opentelemetry::global::meter("shop")
        .u64_counter("shop.orders")
        .build();
    orders.add(3, &[KeyValue::new("payment", "card")]);
    orders.add(2, &[KeyValue::new("payment", "card")]);
    guard.shutdown().unwrap();

    let text = std::fs::read_to_string(dir.path().join("tracewire-metrics.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let rm = &line["resourceMetrics"][0];
    let service = rm["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kv| kv["key"] == "service.name")
        .unwrap();
    assert_eq!(service["value"]["stringValue"], "global-meter");
    let metric = rm["scopeMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sm| sm["scope"]["name"] == "shop")
        .expect("the user's scope")["metrics"][0]
        .clone();
    assert_eq!(metric["name"], "shop.orders");
    let point = &metric["sum"]["dataPoints"][0];
    let value = point["asInt"]
        .as_i64()
        .or_else(|| point["asInt"].as_str().and_then(|s| s.parse().ok()));
    assert_eq!(value, Some(5), "{point}");
}
