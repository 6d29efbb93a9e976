//! Opening a sealed inbox notification from arbitrary bytes: never panics;
//! whatever opens seals again (to the same key) into bytes that open to the
//! same notification.
#![no_main]

use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_transport::notification::Notification;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// The recipient every seed is sealed to (wallet seed [1; 32], epoch 0).
fn recipient() -> &'static IdentityKeys {
    static KEYS: OnceLock<IdentityKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[1; 32]), KeyEpoch::ZERO)
            .expect("derivation from a fixed seed")
    })
}

fuzz_target!(|data: &[u8]| {
    let keys = recipient();
    if let Ok(n) = Notification::open(keys.dm(), data) {
        let again = n
            .seal(&keys.public().dm, Zeroizing::new([9; 32]))
            .expect("an opened notification seals again");
        assert_eq!(Notification::open(keys.dm(), &again).ok(), Some(n));
    }
});
