//! Shared fixtures for the integration tests.
#![allow(
    dead_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

use kaichi_identity::IdentityKeys;
use kaichi_privatelog::{Conversation, Message};

/// The identity keys of the wallet made from `seed`.
pub fn keys(seed: u8) -> IdentityKeys {
    kaichi_test_support::identity::keys(seed).1
}

/// Alice's and Bob's views of their conversation.
pub fn pair() -> (IdentityKeys, Conversation, IdentityKeys, Conversation) {
    let (a, b) = (keys(1), keys(2));
    let ca = Conversation::new(&a, &b.public()).unwrap();
    let cb = Conversation::new(&b, &a.public()).unwrap();
    (a, ca, b, cb)
}

/// Distinct salt per call within a test.
pub fn salt(n: u64) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..8].copy_from_slice(&n.to_be_bytes());
    s
}

pub fn text(t: &str) -> Message {
    Message::text(t, 1_700_000_000_000)
}
