//! DHT record validation with arbitrary values: never panics, and accepts
//! nothing under a key the value does not belong to. The first byte picks
//! the key: the document key of the fixture wallet (seed [1; 32]), its IPNS
//! name's document key, its `/ipns/` key, or the next 40 bytes as a key.
#![no_main]

use kaichi_identity::document::{document_dht_key, document_name_dht_key};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use kaichi_transport::dht::validate_dht_record;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The `now` every fuzz target uses.
const NOW: Timestamp = Timestamp::from_unix_secs(1_795_000_000);

fn keys() -> &'static IdentityKeys {
    static KEYS: OnceLock<IdentityKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[1; 32]), KeyEpoch::ZERO)
            .expect("derivation from a fixed seed")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let keys = keys();
    let (key, value) = match kind % 4 {
        0 => (document_dht_key(&keys.wallet()), rest),
        1 => (document_name_dht_key(&keys.ipns().name()), rest),
        2 => (keys.ipns().name().routing_key(), rest),
        _ => {
            let cut = rest.len().min(40);
            (rest[..cut].to_vec(), &rest[cut..])
        }
    };
    let verdict = validate_dht_record(&key, value, None, NOW);
    // A record that is accepted stays accepted when it is already held (an
    // IPNS record never supersedes itself).
    if verdict.is_ok() {
        assert!(validate_dht_record(&key, value, Some(value), NOW).is_ok());
    }
});
