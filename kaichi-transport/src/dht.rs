//! Kaichi on the IPFS DHT (`/ipfs/kad/1.0.0`): the keys it uses and the
//! validation of inbound records.
//!
//! Kaichi adds no namespace of its own (IPFS DHT servers refuse unknown
//! ones). An identity's node puts its IPNS record under `/ipns/<name>`
//! (value `/ipfs/<CID of its signed identity document>`) and provides two
//! keys: the document block's multihash, and [`wallet_key`] of its wallet,
//! so that someone who knows only the wallet address finds the node, then
//! its record, then its document, and checks that the document is that
//! wallet's. Inbound `PUT_VALUE`s are accepted only under `/ipns/` and only
//! when [`validate_dht_record`] passes; provider records only for SHA-256
//! multihash keys.

use kaichi_identity::ipns::{ValidateError, validate_record};
use kaichi_identity::{IpnsName, NameError, Timestamp, WalletAddress};
use sha2::{Digest as _, Sha256};

/// The domain of [`wallet_key`]'s hash.
const WALLET_KEY_DOMAIN: &[u8] = b"kaichi-wallet-provider-v1:";

/// The DHT provider key of a wallet: the SHA-256 multihash
/// (`0x12 0x20 || digest`) of `"kaichi-wallet-provider-v1:" || the wallet's
/// 32 bytes`. A multihash like any block's, so IPFS DHT servers store
/// provider records for it.
pub fn wallet_key(wallet: &WalletAddress) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(WALLET_KEY_DOMAIN);
    h.update(wallet.to_bytes());
    let mut key = vec![0x12, 0x20];
    key.extend_from_slice(&h.finalize());
    key
}

/// The domain of [`token_group_key`]'s hash.
const TOKEN_GROUP_KEY_DOMAIN: &[u8] = b"kaichi-token-group-v1:";

/// The DHT provider key under which the sequencers of token-holder groups
/// gated on `mint` are found: the SHA-256 multihash of
/// `"kaichi-token-group-v1:" || the mint's 32 bytes`.
pub fn token_group_key(mint: &WalletAddress) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(TOKEN_GROUP_KEY_DOMAIN);
    h.update(mint.to_bytes());
    let mut key = vec![0x12, 0x20];
    key.extend_from_slice(&h.finalize());
    key
}

/// A DHT record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The key is not under `/ipns/`.
    #[error("unknown DHT key namespace")]
    UnknownNamespace,
    /// The key's name is not an IPNS name.
    #[error("IPNS key: {0}")]
    Name(#[source] NameError),
    /// The IPNS record does not validate for the name in the key.
    #[error("IPNS record: {0}")]
    Ipns(#[source] ValidateError),
    /// The IPNS record is superseded by the one held (the spec's selection:
    /// higher sequence, then later validity, wins).
    #[error("an IPNS record with a higher sequence is already held")]
    Stale,
}

/// Checks a record before it is stored; `existing` is the value held under
/// the same key, if any.
pub fn validate_dht_record(
    key: &[u8],
    value: &[u8],
    existing: Option<&[u8]>,
    now: Timestamp,
) -> Result<(), RecordError> {
    let Some(name) = key.strip_prefix(b"/ipns/") else {
        return Err(RecordError::UnknownNamespace);
    };
    let name = IpnsName::from_bytes(name).map_err(RecordError::Name)?;
    let new = validate_record(value, &name, now).map_err(RecordError::Ipns)?;
    if let Some(old) = existing.and_then(|o| validate_record(o, &name, now).ok())
        && old.supersedes(&new)
    {
        return Err(RecordError::Stale);
    }
    Ok(())
}

/// The root CID an IPNS record's value names (`/ipfs/<cid>`), if any.
pub fn root_cid(value: &str) -> Option<kaichi_privatelog::RootCid> {
    value.strip_prefix("/ipfs/")?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wallet_keys_are_sha256_multihashes_one_per_wallet() {
        let a = wallet_key(&WalletAddress::from_bytes([1; 32]));
        let b = wallet_key(&WalletAddress::from_bytes([2; 32]));
        assert_eq!(a.len(), 34);
        assert_eq!(&a[..2], &[0x12, 0x20]);
        assert_ne!(a, b);
        assert!(cid::multihash::Multihash::<64>::from_bytes(&a).is_ok());
    }

    #[test]
    fn only_ipfs_paths_name_a_root() {
        let cid = kaichi_privatelog::RootCid::of(b"root");
        assert_eq!(root_cid(&format!("/ipfs/{cid}")), Some(cid));
        assert_eq!(root_cid(&format!("/ipns/{cid}")), None);
        assert_eq!(root_cid("/ipfs/not-a-cid"), None);
        // A raw block is not a root.
        let raw = kaichi_privatelog::BlockCid::of(b"doc");
        assert_eq!(root_cid(&format!("/ipfs/{raw}")), None);
    }
}
