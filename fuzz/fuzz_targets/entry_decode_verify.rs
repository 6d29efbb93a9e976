//! Entry decode + open + verify + ingest with arbitrary bytes: never panics, a
//! rejected block changes nothing, an accepted one is then a duplicate.
#![no_main]

use std::sync::LazyLock;

use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::{Conversation, SealedEntry};
use libfuzzer_sys::fuzz_target;

static CONV: LazyLock<Conversation> = LazyLock::new(|| {
    let keys = |s| {
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[s; 32]), KeyEpoch::ZERO).unwrap()
    };
    Conversation::new(&keys(2), &keys(1).public()).unwrap()
});

fuzz_target!(|data: &[u8]| {
    let _ = SealedEntry::decode(data, None);
    let mut conv = CONV.clone();
    let before = conv.len();
    match conv.ingest(data, None) {
        Ok(ins) => {
            assert!(ins.new);
            assert_eq!(conv.len(), before + 1);
            assert!(!conv.ingest(data, Some(&ins.cid)).unwrap().new);
        }
        Err(_) => assert_eq!(conv.len(), before),
    }
});
