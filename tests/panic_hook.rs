//! With the opt-in panic hook, a panic inside an instrumented function is recorded: an ERROR
//! log line with the trace ids, an exception event and status Error on the span.

use tracewire::testing::{AttrValue, Capture};

#[tracing::instrument]
fn charge(order: u32) {
    panic!("card processor returned garbage for order {order}");
}

#[test]
fn a_panic_is_recorded_on_its_span() {
    let capture = Capture::start();
    tracewire::install_panic_hook();
    assert!(std::panic::catch_unwind(|| charge(7)).is_err());

    let span = capture.span("charge");
    assert!(
        span.error
            .as_deref()
            .unwrap()
            .contains("garbage for order 7"),
        "{span:?}"
    );
    let exc = span.event("exception").expect("exception event");
    assert_eq!(
        exc.attributes["exception.type"],
        AttrValue::Str("panic".into())
    );
    let line = capture
        .logs()
        .into_iter()
        .find(|l| l["level"] == "ERROR")
        .expect("an ERROR line");
    assert_eq!(line["trace_id"], span.trace_id.as_str());
    assert_eq!(line["span_id"], span.span_id.as_str());
}
