//! Opt-in: a panic inside instrumented code is recorded on the current span.

use std::cell::Cell;

thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Installs a panic hook that records every panic as an ERROR event in the current span
/// (an `exception` event with the panic message, span status Error, the log line carrying the
/// trace ids), then runs the hook that was installed before (the default one prints the panic).
///
/// Call it once after `init()`; it is opt-in because a panic hook is process-wide.
///
/// ```
/// tracewire::install_panic_hook();
/// let caught = std::panic::catch_unwind(|| panic!("recorded, then unwinds as usual"));
/// assert!(caught.is_err());
/// ```
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic inside tracing itself must not recurse into the hook.
        if !IN_HOOK.with(|f| f.replace(true)) {
            let message = payload_text(info.payload())
                .unwrap_or_else(|| "panic with a non-string payload".to_string());
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            tracing::error!(
                target: "tracewire::panic",
                error = %message,
                exception.type = "panic",
                code.location = %location,
                "panic"
            );
            IN_HOOK.with(|f| f.set(false));
        }
        previous(info);
    }));
}

/// The text of a panic's payload, when it is one (`panic!("...")` gives a `&str` or a `String`).
pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}
