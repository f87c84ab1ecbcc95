//! Counters and histograms from event fields, read the way tracing-opentelemetry's
//! `MetricsLayer` reads them, so that code moving from init-tracing-opentelemetry keeps its
//! metrics: `monotonic_counter.<name>` adds to a counter, `counter.<name>` to an up-down
//! counter, `histogram.<name>` records to a histogram; the event's other fields (strings,
//! booleans, integers) are the measurement's attributes.
//!
//! ```ignore
//! tracing::info!(monotonic_counter.orders = 1, region = "eu", "order placed");
//! tracing::info!(histogram.basket_size = 3.0, "basket");
//! ```
//!
//! Only callsites with such a field are looked at: whether one has is decided once per callsite
//! from its field names, so every other event costs a lookup in a short per-thread list.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::lock::LockExt as _;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use tracing::Event;
use tracing::field::{Field, Visit};

/// The instruments made so far, by name; made on first use.
pub(crate) struct EventMetrics {
    meter: Meter,
    u64_counters: Mutex<HashMap<&'static str, Counter<u64>>>,
    f64_counters: Mutex<HashMap<&'static str, Counter<f64>>>,
    i64_up_downs: Mutex<HashMap<&'static str, UpDownCounter<i64>>>,
    f64_up_downs: Mutex<HashMap<&'static str, UpDownCounter<f64>>>,
    u64_histograms: Mutex<HashMap<&'static str, Histogram<u64>>>,
    f64_histograms: Mutex<HashMap<&'static str, Histogram<f64>>>,
}

thread_local! {
    /// Per callsite: whether it has a metric field (a few entries: the hot callsites).
    static HAS_METRICS: std::cell::RefCell<Vec<(usize, bool)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

const PREFIXES: [&str; 3] = ["monotonic_counter.", "counter.", "histogram."];

fn is_metric(name: &str) -> bool {
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Whether `event`'s callsite has a metric field, remembered per callsite.
fn has_metrics(event: &Event<'_>) -> bool {
    let meta = event.metadata();
    let id = meta as *const _ as usize;
    let compute = || meta.fields().iter().any(|f| is_metric(f.name()));
    HAS_METRICS
        .try_with(|seen| {
            let mut seen = seen.borrow_mut();
            if let Some((_, has)) = seen.iter().find(|(i, _)| *i == id) {
                return *has;
            }
            let has = compute();
            if seen.len() >= 64 {
                seen.remove(0);
            }
            seen.push((id, has));
            has
        })
        .unwrap_or_else(|_| compute())
}

/// One measurement an event asks for.
enum Measurement {
    U64(u64),
    I64(i64),
    F64(f64),
}

#[derive(Default)]
struct Collect {
    measurements: Vec<(&'static str, Measurement)>,
    attributes: Vec<KeyValue>,
}

impl Collect {
    fn number(&mut self, field: &Field, m: Measurement) {
        if is_metric(field.name()) {
            self.measurements.push((field.name(), m));
        } else {
            let kv = match m {
                Measurement::U64(v) => {
                    KeyValue::new(field.name(), i64::try_from(v).unwrap_or(i64::MAX))
                }
                Measurement::I64(v) => KeyValue::new(field.name(), v),
                Measurement::F64(v) => KeyValue::new(field.name(), v),
            };
            self.attributes.push(kv);
        }
    }
}

impl Visit for Collect {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, Measurement::U64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, Measurement::I64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.number(field, Measurement::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        if !is_metric(field.name()) {
            self.attributes.push(KeyValue::new(field.name(), value));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        // The message is the event's text, not an attribute.
        if !is_metric(field.name()) && field.name() != "message" {
            self.attributes
                .push(KeyValue::new(field.name(), value.to_string()));
        }
    }
    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl EventMetrics {
    pub(crate) fn new(meter: &Meter) -> EventMetrics {
        EventMetrics {
            meter: meter.clone(),
            u64_counters: Default::default(),
            f64_counters: Default::default(),
            i64_up_downs: Default::default(),
            f64_up_downs: Default::default(),
            u64_histograms: Default::default(),
            f64_histograms: Default::default(),
        }
    }

    /// Records what `event` asks for, if anything.
    pub(crate) fn on_event(&self, event: &Event<'_>) {
        if !has_metrics(event) {
            return;
        }
        let mut c = Collect::default();
        event.record(&mut c);
        for (field, value) in c.measurements {
            let attrs = &c.attributes[..];
            if let Some(name) = field.strip_prefix("monotonic_counter.") {
                match value {
                    Measurement::U64(v) => self.u64_counter(name).add(v, attrs),
                    // A monotonic counter does not go down: a negative value is left out.
                    Measurement::I64(v) if v >= 0 => self.u64_counter(name).add(v as u64, attrs),
                    Measurement::F64(v) if v >= 0.0 => self.f64_counter(name).add(v, attrs),
                    _ => {}
                }
            } else if let Some(name) = field.strip_prefix("counter.") {
                match value {
                    Measurement::U64(v) => self
                        .i64_up_down(name)
                        .add(i64::try_from(v).unwrap_or(i64::MAX), attrs),
                    Measurement::I64(v) => self.i64_up_down(name).add(v, attrs),
                    Measurement::F64(v) => self.f64_up_down(name).add(v, attrs),
                }
            } else if let Some(name) = field.strip_prefix("histogram.") {
                match value {
                    Measurement::U64(v) => self.u64_histogram(name).record(v, attrs),
                    Measurement::I64(v) if v >= 0 => {
                        self.u64_histogram(name).record(v as u64, attrs)
                    }
                    Measurement::I64(v) => self.f64_histogram(name).record(v as f64, attrs),
                    Measurement::F64(v) => self.f64_histogram(name).record(v, attrs),
                }
            }
        }
    }

    fn u64_counter(&self, name: &'static str) -> Counter<u64> {
        let mut m = self.u64_counters.lock_or_recover();
        m.entry(name)
            .or_insert_with(|| self.meter.u64_counter(name).build())
            .clone()
    }

    fn f64_counter(&self, name: &'static str) -> Counter<f64> {
        let mut m = self.f64_counters.lock_or_recover();
        m.entry(name)
            .or_insert_with(|| self.meter.f64_counter(name).build())
            .clone()
    }

    fn i64_up_down(&self, name: &'static str) -> UpDownCounter<i64> {
        let mut m = self.i64_up_downs.lock_or_recover();
        m.entry(name)
            .or_insert_with(|| self.meter.i64_up_down_counter(name).build())
            .clone()
    }

    fn f64_up_down(&self, name: &'static str) -> UpDownCounter<f64> {
        let mut m = self.f64_up_downs.lock_or_recover();
        m.entry(name)
            .or_insert_with(|| self.meter.f64_up_down_counter(name).build())
            .clone()
    }

    fn u64_histogram(&self, name: &'static str) -> Histogram<u64> {
        let mut m = self.u64_histograms.lock_or_recover();
        m.entry(name)
            .or_insert_with(|| self.meter.u64_histogram(name).build())
            .clone()
    }

    fn f64_histogram(&self, name: &'static str) -> Histogram<f64> {
        let mut m = self.f64_histograms.lock_or_recover();
        m.entry(name)
            .or_insert_with(|| self.meter.f64_histogram(name).build())
            .clone()
    }
}
