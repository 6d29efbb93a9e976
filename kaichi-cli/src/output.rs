//! Printing results as text or JSON.

use serde::Serialize;

/// Prints `value` as one line of JSON, or `text` for people.
pub(crate) fn emit<T: Serialize>(json: bool, value: &T, text: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(value)?);
    } else {
        println!("{text}");
    }
    Ok(())
}
