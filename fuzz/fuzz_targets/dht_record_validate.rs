//! DHT record validation with arbitrary values: never panics, accepts
//! nothing outside `/ipns/`, and nothing under a name the record was not
//! signed by. The first byte picks the key: the `/ipns/` key of the fixture
//! identity (wallet seed [1; 32]), the `/ipns/` key of another name, or the
//! next 40 bytes as a key.
#![no_main]

use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, IpnsKeypair, KeyEpoch, Timestamp};
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
    let (key, value) = match kind % 3 {
        0 => (keys().ipns().name().routing_key(), rest),
        1 => (IpnsKeypair::from_seed(&[2; 32]).name().routing_key(), rest),
        _ => {
            let cut = rest.len().min(40);
            (rest[..cut].to_vec(), &rest[cut..])
        }
    };
    let verdict = validate_dht_record(&key, value, None, NOW);
    if verdict.is_ok() {
        assert!(
            key.starts_with(b"/ipns/"),
            "only /ipns/ records are accepted"
        );
        // A record that is accepted stays accepted when it is already held
        // (an IPNS record never supersedes itself).
        assert!(validate_dht_record(&key, value, Some(value), NOW).is_ok());
    }
});
