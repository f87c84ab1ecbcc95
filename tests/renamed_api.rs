//! The names before 0.2 still compile, as deprecated aliases of the new ones, and behave the
//! same: `http::TraceLayer` (now `ServerLayer`), `http::TracingMiddleware` (`ClientMiddleware`),
//! `Messaging::activate_from_headers` (`process_span_from`), `tracewire::current_trace_id`
//! (`propagation::current_trace_id`).
#![allow(deprecated)]

#[test]
fn old_names_are_the_new_things() {
    fn same_type<T: 'static, U: 'static>() -> bool {
        std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>()
    }
    assert!(same_type::<
        tracewire::http::TraceLayer,
        tracewire::http::ServerLayer,
    >());
    assert!(same_type::<
        tracewire::http::TracingMiddleware,
        tracewire::http::ClientMiddleware,
    >());
    let _layer = tracewire::http::TraceLayer::new().with_exclude_paths(["/health"]);

    let capture = tracewire::testing::Capture::start();
    let headers: Vec<(String, Vec<u8>)> = vec![(
        "traceparent".into(),
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
    )];
    let span =
        tracewire::messaging::Messaging::new("nats").activate_from_headers("orders", &headers);
    span.in_scope(|| {
        assert_eq!(
            tracewire::current_trace_id().as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            tracewire::current_trace_id(),
            tracewire::propagation::current_trace_id()
        );
    });
    drop(span);
    let spans = capture.spans();
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].name, "process orders");
}
