//! Envelope open with arbitrary bytes: an entry from a participant whose
//! envelope is fuzzer-chosen goes through decryption and unpadding. It gets
//! a typed error and changes nothing, or (for a genuine envelope, as in the
//! seed corpus) is accepted whole.
#![no_main]

use std::sync::LazyLock;

use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::{Conversation, IngestError};
use libfuzzer_sys::fuzz_target;

static SETUP: LazyLock<(Conversation, [u8; 32])> = LazyLock::new(|| {
    let keys = |s| {
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[s; 32]), KeyEpoch::ZERO).unwrap()
    };
    let (alice, bob) = (keys(1), keys(2));
    let conv = Conversation::new(&bob, &alice.public()).unwrap();
    (conv, alice.ipns().public().to_bytes())
});

fn field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag << 3 | 2);
    let mut n = bytes.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(bytes);
}

fuzz_target!(|envelope: &[u8]| {
    let (conv, alice) = &*SETUP;
    // SignedEntry { body: EntryBody { conversation, author, clock: 1, envelope }, signature }
    let mut body = Vec::new();
    field(&mut body, 1, conv.id().as_bytes());
    field(&mut body, 2, alice);
    body.extend_from_slice(&[3 << 3, 1]); // clock = 1
    field(&mut body, 5, envelope);
    let mut block = Vec::new();
    field(&mut block, 1, &body);
    field(&mut block, 2, &[0u8; 64]);
    let mut conv = conv.clone();
    // `ingest_stored` skips the signature, so the envelope is what is tested.
    match conv.ingest_stored(&block) {
        Err(
            IngestError::Envelope(_) | IngestError::TooLarge { .. } | IngestError::Malformed(_),
        ) => {
            assert!(conv.is_empty());
        }
        Ok(ins) => {
            assert!(ins.new && conv.len() == 1 && conv.message(&ins.cid).is_some());
        }
        Err(other) => panic!("unexpected error for a well-formed entry: {other:?}"),
    }
});
