//! Kaichi in the browser: the sans-IO cores ([`kaichi_identity`],
//! [`kaichi_privatelog`], and [`kaichi_groups`] on its mls-rs engine) for
//! JavaScript, through wasm-bindgen.
//!
//! The page asks the wallet to sign ([`derivation_message`], then the
//! wallet's `signMessage`) and hands the signature in; everything else,
//! keys, IPNS names and records, identity documents, encrypted and signed
//! conversation entries, CAR files, happens here, in the page. Time comes
//! in as Unix milliseconds; randomness is the browser's
//! `crypto.getRandomValues` (getrandom's `wasm_js` backend). Nothing here
//! touches the network: the page moves the bytes. Conversations are kept in
//! a [`Store`] (IndexedDB, behind the same `LogStore` trait as the native
//! node's SQLite store).
//!
//! Built with `wasm-bindgen --target web` into an npm-style package
//! (`kaichi-web/pkg`, TypeScript types included); see the README.
#![forbid(unsafe_code)]

mod conversation;
mod document;
mod error;
mod groups;
mod identity;
mod ipns;
mod mailbox;
mod notify;
mod store;

pub use conversation::{Conversation, SentEntry};
pub use document::{Contact, PreparedDocument, verify_document};
pub use groups::{GroupCommit, GroupMember};
pub use identity::{Identity, derivation_message, derive_identity};
pub use ipns::{IpnsRecordInfo, validate_ipns_record};
pub use mailbox::{mailbox_notifications, mailbox_protocol, mailbox_request};
pub use notify::{Received, inbox_topic};
pub use store::{PageStoreError, Store};

use kaichi_identity::Timestamp;

/// Unix milliseconds (as JavaScript's `Date.now()` gives them) as a
/// [`Timestamp`].
fn at_ms(ms: f64) -> Result<Timestamp, wasm_bindgen::JsError> {
    if !ms.is_finite() || !(0.0..=1.8e16).contains(&ms) {
        return Err(wasm_bindgen::JsError::new(&format!(
            "{ms} is not a time in Unix milliseconds"
        )));
    }
    // Whole milliseconds, as Date.now() gives them.
    Ok(Timestamp::from_unix_nanos(
        (ms as u64).saturating_mul(1_000_000),
    ))
}
