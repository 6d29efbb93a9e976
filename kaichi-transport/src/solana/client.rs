//! [`SolanaRpc`]: the balance reads themselves.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kaichi_groups::token::{
    BalanceCache, RateLimit, RpcAnswerError, balance_request, parse_balance,
};
use kaichi_groups::{BalanceError, BalanceSource};
use kaichi_identity::WalletAddress;

use super::config::SolanaRpcConfig;

/// Why a balance could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The endpoint could not be reached or the exchange broke off.
    #[error("the Solana RPC could not be reached: {0}")]
    Unreachable(String),
    /// No answer within the configured timeout.
    #[error("the Solana RPC did not answer in time")]
    Timeout,
    /// The endpoint answered with an HTTP error status.
    #[error("the Solana RPC answered HTTP {0}")]
    Status(u16),
    /// The answer was larger than the configured bound.
    #[error("the Solana RPC's answer is over {0} bytes")]
    TooLarge(u64),
    /// The answer was read but is an error or not a valid balance.
    #[error(transparent)]
    Answer(#[from] RpcAnswerError),
}

impl RpcError {
    /// Whether trying again may help (the endpoint, not the question, failed).
    fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Timeout => true,
            Self::Status(s) => *s == 429 || *s >= 500,
            Self::TooLarge(_) | Self::Answer(_) => false,
        }
    }
}

struct State {
    cache: BalanceCache,
    limit: RateLimit,
    next_id: u64,
}

/// A Solana JSON-RPC endpoint as a source of SPL token balances.
///
/// [`SolanaRpc::fetch_balance`] reads through the RPC (or the cache); as a
/// [`BalanceSource`] it answers from the cache only, so a policy checked
/// synchronously sees exactly the balances read (within the TTL, or
/// [`DECISION_WINDOW`] when that is longer), and anything else as unknown.
#[derive(Clone)]
pub struct SolanaRpc {
    config: Arc<SolanaRpcConfig>,
    agent: ureq::Agent,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for SolanaRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolanaRpc")
            .field("url", &self.config.url)
            .finish_non_exhaustive()
    }
}

impl SolanaRpc {
    /// A client for the endpoint `config` describes.
    pub fn new(config: SolanaRpcConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let now = Instant::now();
        let state = State {
            cache: BalanceCache::new(config.cache_ttl, now),
            limit: RateLimit::new(config.requests_per_second, config.burst, now),
            next_id: 1,
        };
        Self {
            config: Arc::new(config),
            agent,
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &SolanaRpcConfig {
        &self.config
    }

    /// The balance read within the TTL, without asking the RPC.
    pub fn cached_balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Option<u64> {
        let mut state = self.state();
        state.cache.set_now(Instant::now());
        state.cache.get(wallet, mint)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many base units of `mint` `wallet` holds across its token
    /// accounts (SPL Token and Token-2022): from the cache when read within
    /// the TTL, otherwise through the RPC, within the request rate, retried
    /// with backoff while the endpoint (not the answer) fails.
    pub async fn fetch_balance(
        &self,
        wallet: &WalletAddress,
        mint: &WalletAddress,
    ) -> Result<u64, RpcError> {
        {
            let mut state = self.state();
            state.cache.set_now(Instant::now());
            if let Some(amount) = state.cache.get(wallet, mint) {
                return Ok(amount);
            }
        }
        let mut backoff = self.config.backoff;
        let mut attempt = 0;
        loop {
            match self.read(wallet, mint).await {
                Ok(amount) => {
                    let now = Instant::now();
                    let mut state = self.state();
                    state.cache.set_now(now);
                    state.cache.insert(*wallet, *mint, amount, now);
                    return Ok(amount);
                }
                Err(e) if e.is_transient() && attempt < self.config.retries => {
                    tracing::debug!(%e, attempt, "a Solana RPC request failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One request, once the rate allows it.
    async fn read(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, RpcError> {
        let id = loop {
            let wait = {
                let mut state = self.state();
                match state.limit.try_take(Instant::now()) {
                    Ok(()) => {
                        state.next_id += 1;
                        break state.next_id;
                    }
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        };
        let body = balance_request(id, wallet, mint, self.config.commitment);
        let (agent, config) = (self.agent.clone(), self.config.clone());
        let answer = tokio::task::spawn_blocking(move || post(&agent, &config, &body))
            .await
            .map_err(|e| RpcError::Unreachable(e.to_string()))??;
        Ok(parse_balance(&answer, id, wallet, mint)?)
    }
}

/// Posts `body` and reads the answer within the size bound.
fn post(agent: &ureq::Agent, config: &SolanaRpcConfig, body: &[u8]) -> Result<Vec<u8>, RpcError> {
    let mut response = agent
        .post(&config.url)
        .header("content-type", "application/json")
        .send(body)
        .map_err(transport_error)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(RpcError::Status(status));
    }
    let limit = config.max_response_bytes;
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => RpcError::TooLarge(limit),
            other => transport_error(other),
        })
}

fn transport_error(e: ureq::Error) -> RpcError {
    match e {
        ureq::Error::Timeout(_) => RpcError::Timeout,
        ureq::Error::StatusCode(s) => RpcError::Status(s),
        other => RpcError::Unreachable(other.to_string()),
    }
}

/// How old a read the policy still decides on, whatever the cache TTL (a
/// sequencer admits right after reading; a TTL of zero only means that no
/// read is reused for the next request).
pub const DECISION_WINDOW: Duration = Duration::from_secs(5);

impl BalanceSource for SolanaRpc {
    fn balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, BalanceError> {
        let mut state = self.state();
        state.cache.set_now(Instant::now());
        let window = self.config.cache_ttl.max(DECISION_WINDOW);
        state
            .cache
            .get_within(wallet, mint, window)
            .ok_or(BalanceError::Unknown {
                wallet: *wallet,
                mint: *mint,
            })
    }
}
