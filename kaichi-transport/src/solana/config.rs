//! [`SolanaRpcConfig`]: where the RPC is and how it is used.

use std::time::Duration;

use kaichi_groups::token::{Commitment, DEFAULT_CACHE_TTL};

/// A bad RPC setting.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RpcConfigError {
    /// The URL is not `http://` or `https://` with a host.
    #[error("{0:?} is not an http:// or https:// URL")]
    Url(String),
    /// A setting that must be positive is zero.
    #[error("{0} must be more than zero")]
    Zero(&'static str),
}

/// How the node talks to a Solana JSON-RPC endpoint.
#[derive(Debug, Clone)]
pub struct SolanaRpcConfig {
    pub(crate) url: String,
    pub(crate) commitment: Commitment,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) backoff: Duration,
    pub(crate) max_response_bytes: u64,
    pub(crate) cache_ttl: Duration,
    pub(crate) requests_per_second: u32,
    pub(crate) burst: u32,
}

impl SolanaRpcConfig {
    /// The endpoint at `url` with the defaults: commitment `confirmed`, 10 s
    /// a request, 2 retries starting 250 ms apart (doubling), answers up to
    /// 1 MiB, balances cached 30 s, 20 requests a second (bursts of 40).
    pub fn new(url: &str) -> Result<Self, RpcConfigError> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| RpcConfigError::Url(url.to_owned()))?;
        if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
            return Err(RpcConfigError::Url(url.to_owned()));
        }
        Ok(Self {
            url: url.to_owned(),
            commitment: Commitment::Confirmed,
            timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(250),
            max_response_bytes: 1024 * 1024,
            cache_ttl: DEFAULT_CACHE_TTL,
            requests_per_second: 20,
            burst: 40,
        })
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How settled the balances read must be.
    pub fn commitment(mut self, commitment: Commitment) -> Self {
        self.commitment = commitment;
        self
    }

    /// Longest a request may take (connect, send, answer).
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, RpcConfigError> {
        if timeout.is_zero() {
            return Err(RpcConfigError::Zero("the RPC timeout"));
        }
        self.timeout = timeout;
        Ok(self)
    }

    /// Retries after a failed request (connection, timeout, HTTP 429 or
    /// 5xx), waiting `backoff`, then twice that, and so on.
    pub fn retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    /// Largest answer read; a larger one is an error.
    pub fn max_response_bytes(mut self, bytes: u64) -> Result<Self, RpcConfigError> {
        if bytes == 0 {
            return Err(RpcConfigError::Zero("the RPC answer bound"));
        }
        self.max_response_bytes = bytes;
        Ok(self)
    }

    /// How long a balance read is reused.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Most requests a second on average, and at once.
    pub fn rate(mut self, per_second: u32, burst: u32) -> Result<Self, RpcConfigError> {
        if per_second == 0 || burst == 0 {
            return Err(RpcConfigError::Zero("the RPC request rate"));
        }
        self.requests_per_second = per_second;
        self.burst = burst;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_http_urls_with_a_host() {
        assert!(SolanaRpcConfig::new("https://api.mainnet-beta.solana.com").is_ok());
        assert!(SolanaRpcConfig::new("http://127.0.0.1:8899").is_ok());
        for bad in [
            "",
            "127.0.0.1:8899",
            "ftp://x",
            "http://",
            "https:///x",
            "http://a b",
        ] {
            assert!(SolanaRpcConfig::new(bad).is_err(), "{bad}");
        }
        let c = SolanaRpcConfig::new("http://127.0.0.1:1").unwrap();
        assert!(c.clone().timeout(Duration::ZERO).is_err());
        assert!(c.clone().rate(0, 1).is_err());
        assert!(c.max_response_bytes(0).is_err());
    }
}
