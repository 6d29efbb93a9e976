//! Errors as JavaScript sees them: an `Error` whose message is the Rust
//! error's, its causes joined.

use wasm_bindgen::JsError;

/// The error and its sources, as one message.
pub(crate) fn js(e: &(dyn std::error::Error + 'static)) -> JsError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    JsError::new(&message)
}
