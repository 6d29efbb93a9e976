//! SPL token balances from a snapshot file, for a node that sequences
//! token-holder groups (`kaichi node --token-balances FILE`): a JSON object
//! `{"<wallet>": {"<mint>": <base units>, …}, …}`, as an indexer or an
//! airdrop snapshot would export it. A wallet or mint it does not list holds
//! nothing.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use kaichi_groups::{BalanceError, BalanceSource};
use kaichi_identity::WalletAddress;

/// Largest snapshot file read.
const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

/// Balances read from a snapshot file.
#[derive(Debug, Default)]
pub(crate) struct SnapshotBalances(HashMap<(WalletAddress, WalletAddress), u64>);

impl SnapshotBalances {
    /// Reads and checks a snapshot file.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let size = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        if size > MAX_SNAPSHOT_BYTES {
            bail!("{} is over {MAX_SNAPSHOT_BYTES} bytes", path.display());
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&bytes).with_context(|| format!("{} is not a balance snapshot", path.display()))
    }

    fn parse(bytes: &[u8]) -> anyhow::Result<Self> {
        let raw: HashMap<String, HashMap<String, u64>> = serde_json::from_slice(bytes)?;
        let mut balances = HashMap::new();
        for (wallet, mints) in raw {
            let w: WalletAddress = wallet
                .parse()
                .with_context(|| format!("{wallet:?} is not a wallet address"))?;
            for (mint, amount) in mints {
                let m: WalletAddress = mint
                    .parse()
                    .with_context(|| format!("{mint:?} is not a mint address"))?;
                balances.insert((w, m), amount);
            }
        }
        Ok(Self(balances))
    }
}

impl BalanceSource for SnapshotBalances {
    fn balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, BalanceError> {
        Ok(self.0.get(&(*wallet, *mint)).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn snapshots_parse_and_refuse_bad_addresses() {
        let w = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T";
        let m = "So11111111111111111111111111111111111111112";
        let s = SnapshotBalances::parse(format!(r#"{{"{w}": {{"{m}": 42}}}}"#).as_bytes()).unwrap();
        let (w, m): (WalletAddress, WalletAddress) = (w.parse().unwrap(), m.parse().unwrap());
        assert_eq!(s.balance(&w, &m).unwrap(), 42);
        assert_eq!(s.balance(&m, &w).unwrap(), 0);
        assert!(SnapshotBalances::parse(br#"{"nope": {}}"#).is_err());
        assert!(SnapshotBalances::parse(format!(r#"{{"{w}": {{"x": 1}}}}"#).as_bytes()).is_err());
        assert!(SnapshotBalances::parse(b"[1]").is_err());
        assert!(
            SnapshotBalances::parse(format!(r#"{{"{w}": {{"{m}": -1}}}}"#).as_bytes()).is_err()
        );
    }
}
