//! Helpers the Kaichi crates' tests share. Test code: a failure panics.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod hex;
pub mod identity;
pub mod seeds;
