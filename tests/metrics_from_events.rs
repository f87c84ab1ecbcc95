//! Counters and histograms from event fields, as tracing-opentelemetry's `MetricsLayer` reads
//! them (what init-tracing-opentelemetry users write): `monotonic_counter.*` to a counter,
//! `counter.*` to an up-down counter, `histogram.*` to a histogram, the other fields as
//! attributes; at any sampling rate, inside spans or not.
#![cfg(feature = "testing")]

use tracewire::testing::{AttrValue, Capture};

#[test]
fn event_fields_become_counters_and_histograms() {
    for rate in [1.0, 0.0] {
        let capture = Capture::with_builder(
            tracewire::builder()
                .without_settings_file()
                .with_sampling_rate(rate),
        )
        .unwrap();
        for region in ["eu", "eu", "us"] {
            tracing::info_span!("checkout").in_scope(|| {
                tracing::info!(monotonic_counter.orders = 1_u64, region, "order placed");
            });
        }
        tracing::info!(
            monotonic_counter.orders = -5_i64,
            region = "eu",
            "ignored: counters do not go down"
        );
        tracing::info!(counter.in_flight = 3_i64, "three in");
        tracing::info!(counter.in_flight = -1_i64, "one out");
        tracing::info!(histogram.basket_size = 2.5_f64, "basket");
        tracing::info!(histogram.basket_size = 7.5_f64, "basket");
        tracing::info!(plain = 1, "an event without metric fields records nothing");

        let orders = capture.metric("orders");
        let by_region = |r: &str| -> f64 {
            orders
                .points
                .iter()
                .filter(|p| p.attr("region") == Some(&AttrValue::Str(r.into())))
                .map(|p| p.value)
                .sum()
        };
        assert_eq!(
            (by_region("eu"), by_region("us")),
            (2.0, 1.0),
            "rate {rate}: {orders:?}"
        );
        let in_flight: f64 = capture
            .metric("in_flight")
            .points
            .iter()
            .map(|p| p.value)
            .sum();
        assert_eq!(in_flight, 2.0, "rate {rate}");
        let basket = capture.metric("basket_size");
        assert_eq!(basket.points.len(), 1, "rate {rate}: {basket:?}");
        assert_eq!((basket.points[0].count, basket.points[0].sum), (2, 10.0));
        assert!(
            capture.metrics().iter().all(|m| m.name != "plain"),
            "no metric from a plain field"
        );
    }
}
