//! SPL token balances from a Solana JSON-RPC node, for the sequencers of
//! token-holder groups: [`SolanaRpc`] posts `getTokenAccountsByOwner` (with a
//! mint filter, so SPL Token and Token-2022 accounts alike) over HTTP(S),
//! bounded in time, size and rate, retried with backoff, and cached for a
//! short time.
//!
//! The HTTP client is `ureq` (blocking, run on tokio's blocking pool): it
//! adds five small crates to a tree that already has rustls and ring,
//! where a Solana RPC client crate would add hundreds.
//!
//! Fail closed: a balance that could not be read is an error, never zero;
//! the cache ([`SolanaRpc`] as a [`kaichi_groups::BalanceSource`]) answers
//! only what was read within its TTL.

mod client;
mod config;

pub use client::{DECISION_WINDOW, RpcError, SolanaRpc};
pub use config::{RpcConfigError, SolanaRpcConfig};
