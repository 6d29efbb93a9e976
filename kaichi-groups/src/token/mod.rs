//! SPL token balances from Solana JSON-RPC, sans-IO: the request to send,
//! the answer checked and summed ([`rpc`]), a short-lived cache that the
//! token-holder policy reads ([`BalanceCache`]) and the request-rate bound
//! ([`RateLimit`]). The HTTP exchange itself belongs to the caller
//! (`kaichi_transport::solana` does it).
//!
//! A wallet's balance of a mint is the sum over all its token accounts of
//! that mint, under the SPL Token program or Token-2022, as
//! `getTokenAccountsByOwner` with a mint filter lists them.

mod cache;
mod limit;
pub mod rpc;

pub use cache::{BalanceCache, DEFAULT_CACHE_TTL, MAX_CACHED};
pub use limit::RateLimit;
pub use rpc::{Commitment, RpcAnswerError, balance_request, parse_balance};
