//! Identities made from a one-byte seed: the same seed gives the same
//! wallet and keys in every test.

use std::time::{Duration, SystemTime};

use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};

/// The wallet whose secret seed is 32 times `seed`.
pub fn wallet(seed: u8) -> KeypairWallet {
    KeypairWallet::from_secret_seed(&[seed; 32])
}

/// The wallet of `seed` and its identity keys at epoch zero.
pub fn keys(seed: u8) -> (KeypairWallet, IdentityKeys) {
    let wallet = wallet(seed);
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    (wallet, keys)
}

/// Now, as a [`Timestamp`].
pub fn now() -> Timestamp {
    Timestamp::from_system_time(SystemTime::now()).unwrap()
}

/// The wallet and keys of `seed` and their identity document, valid for a
/// day from now.
pub fn identity(seed: u8) -> (KeypairWallet, IdentityKeys, Vec<u8>) {
    let (wallet, keys) = keys(seed);
    let doc = DocumentBuilder::new(&keys, now(), Duration::from_secs(86_400))
        .sign(&wallet)
        .unwrap();
    (wallet, keys, doc)
}
