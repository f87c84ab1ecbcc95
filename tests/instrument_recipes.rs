//! The README's decorator recipes: each option of the seeds' `@with_observability(name, kind,
//! attributes_from_args, static_attributes, should_log_result, log_args)` and `@span(name,
//! attributes)` written with `#[tracing::instrument]`, and what each produces: the span's name
//! and kind, attributes (typed, redacted), the result or error as a log line and an event, the
//! error status.

use tracewire::testing::{AttrValue, Capture};

#[derive(Debug)]
struct User {
    id: u64,
}

/// name + kind + attributes from arguments + a static attribute.
#[tracing::instrument(name = "charge card", fields(otel.kind = "client", component = "billing", user.id = user.id))]
fn charge(user: &User, amount_cents: u64) -> u64 {
    amount_cents
}

/// log_args = false: no argument is recorded.
#[tracing::instrument(skip_all, fields(order.items = items.len()))]
fn ship(items: Vec<String>, address: String) {
    let _ = (items, address);
}

/// should_log_result: the return value as an event and a log line.
#[tracing::instrument(ret)]
fn total(a: u64, b: u64) -> u64 {
    a + b
}

/// errors: the error as an event, the span's status Error.
#[tracing::instrument(err)]
fn refund(order_id: u64) -> Result<(), String> {
    Err(format!("order {order_id} was never paid"))
}

/// Sensitive arguments are redacted by name, like any field.
#[tracing::instrument(skip(card_number))]
fn login(username: &str, password: &str, card_number: &str) {
    let _ = (username, password, card_number);
}

#[test]
fn each_recipe_produces_what_it_says() {
    let capture = Capture::start();
    charge(&User { id: 7 }, 1250);
    ship(vec!["a".into(), "b".into()], "1 Main St".into());
    total(2, 3);
    let _ = refund(99);
    login("ann", "hunter2", "4111 1111 1111 1111");

    let charge = capture.span("charge card");
    assert_eq!(charge.kind, "client");
    assert_eq!(
        charge.attr("component").and_then(AttrValue::as_str),
        Some("billing")
    );
    assert_eq!(
        charge.attr("user.id"),
        Some(&AttrValue::I64(7)),
        "typed, not a string"
    );
    assert_eq!(charge.attr("amount_cents"), Some(&AttrValue::I64(1250)));
    assert!(
        charge.attr("user").is_some(),
        "arguments are recorded by default (Debug)"
    );

    let ship = capture.span("ship");
    assert_eq!(ship.attr("order.items"), Some(&AttrValue::I64(2)));
    assert!(
        ship.attr("items").is_none() && ship.attr("address").is_none(),
        "skip_all"
    );

    let total = capture.span("total");
    let ret = total
        .events
        .iter()
        .find(|e| e.attributes.contains_key("return"));
    assert!(
        ret.is_some(),
        "ret: an event with the return value: {:?}",
        total.events
    );
    assert!(
        capture
            .logs()
            .iter()
            .any(|l| l["return"] == 5 || l["return"] == "5")
    );

    let refund = capture.span("refund");
    assert!(refund.is_error(), "err: status Error");
    assert_eq!(
        refund.error.as_deref().map(|e| e.contains("never paid")),
        Some(true)
    );
    assert!(
        capture
            .logs()
            .iter()
            .any(|l| l["level"] == "ERROR" && l["span"]["name"] == "refund"),
        "err: an error log line inside the span"
    );

    let login = capture.span("login");
    assert_eq!(
        login.attr("password").and_then(AttrValue::as_str),
        Some(tracewire::settings::REDACTED)
    );
    assert_eq!(
        login.attr("username").and_then(AttrValue::as_str),
        Some("ann")
    );
    assert!(login.attr("card_number").is_none(), "skip");
}
