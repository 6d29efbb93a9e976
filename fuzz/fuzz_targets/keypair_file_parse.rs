//! Wallet secret parsing (solana-keygen JSON and base58): never panics;
//! whatever loads re-encodes to the same wallet.
#![no_main]

use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(w) = KeypairWallet::from_keypair_json(data) {
        let again = KeypairWallet::from_keypair_json(w.to_keypair_json().as_bytes());
        assert_eq!(again.ok().map(|a| a.address()), Some(w.address()));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(w) = KeypairWallet::from_base58(text) {
            let again = KeypairWallet::from_base58(&w.to_base58());
            assert_eq!(again.ok().map(|a| a.address()), Some(w.address()));
        }
    }
});
