//! Balances read recently, each kept for a short time, as the
//! token-holder policy's [`BalanceSource`]: what it has not got (or got too
//! long ago) is unknown, so the policy fails closed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kaichi_identity::WalletAddress;

use crate::policy::{BalanceError, BalanceSource};

/// How long a balance read is trusted by default.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
/// Most balances kept (the expired ones go first when full, then all).
pub const MAX_CACHED: usize = 100_000;

/// Recently read balances, by wallet and mint, with the time they were read.
#[derive(Debug, Clone)]
pub struct BalanceCache {
    ttl: Duration,
    read: HashMap<(WalletAddress, WalletAddress), (u64, Instant)>,
    now: Instant,
}

impl BalanceCache {
    /// An empty cache keeping each balance for `ttl`, as of `now`.
    pub fn new(ttl: Duration, now: Instant) -> Self {
        Self {
            ttl,
            read: HashMap::new(),
            now,
        }
    }

    /// The clock moved on: what [`BalanceSource::balance`] answers is as
    /// of `now` (never earlier than before).
    pub fn set_now(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// `wallet` held `amount` of `mint` when read at `at`.
    pub fn insert(&mut self, wallet: WalletAddress, mint: WalletAddress, amount: u64, at: Instant) {
        if self.read.len() >= MAX_CACHED && !self.read.contains_key(&(wallet, mint)) {
            let (now, ttl) = (self.now, self.ttl);
            self.read
                .retain(|_, (_, t)| now.saturating_duration_since(*t) < ttl);
            if self.read.len() >= MAX_CACHED {
                self.read.clear();
            }
        }
        self.read.insert((wallet, mint), (amount, at));
    }

    /// The balance read within the TTL, if any.
    pub fn get(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Option<u64> {
        self.get_within(wallet, mint, self.ttl)
    }

    /// The balance read less than `age` ago, if any (kept only while
    /// another read does not replace it, or the cache is not full).
    pub fn get_within(
        &self,
        wallet: &WalletAddress,
        mint: &WalletAddress,
        age: Duration,
    ) -> Option<u64> {
        self.read
            .get(&(*wallet, *mint))
            .filter(|(_, at)| self.now.saturating_duration_since(*at) < age)
            .map(|(amount, _)| *amount)
    }

    /// How many balances are kept (fresh or not).
    pub fn len(&self) -> usize {
        self.read.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.read.is_empty()
    }
}

impl BalanceSource for BalanceCache {
    fn balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, BalanceError> {
        self.get(wallet, mint).ok_or(BalanceError::Unknown {
            wallet: *wallet,
            mint: *mint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(b: u8) -> WalletAddress {
        WalletAddress::from_bytes([b; 32])
    }

    #[test]
    fn a_balance_is_known_for_its_ttl_then_unknown() {
        let t0 = Instant::now();
        let mut c = BalanceCache::new(Duration::from_secs(30), t0);
        c.insert(w(1), w(9), 7, t0);
        assert_eq!(c.balance(&w(1), &w(9)).ok(), Some(7));
        assert!(matches!(
            c.balance(&w(2), &w(9)),
            Err(BalanceError::Unknown { .. })
        ));
        c.set_now(t0 + Duration::from_secs(29));
        assert_eq!(c.get(&w(1), &w(9)), Some(7));
        c.set_now(t0 + Duration::from_secs(30));
        assert_eq!(c.get(&w(1), &w(9)), None);
        assert_eq!(c.get_within(&w(1), &w(9), Duration::from_secs(31)), Some(7));
        // The clock never goes back.
        c.set_now(t0);
        assert_eq!(c.get(&w(1), &w(9)), None);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let t0 = Instant::now();
        let mut c = BalanceCache::new(Duration::from_secs(1), t0);
        for i in 0..MAX_CACHED as u32 + 10 {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            c.insert(WalletAddress::from_bytes(b), w(9), 1, t0);
        }
        assert!(c.len() <= MAX_CACHED);
    }
}
