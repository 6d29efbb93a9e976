//! Envelope open with arbitrary bytes: an entry from a participant whose
//! envelope is fuzzer-chosen goes through decryption and unpadding. It gets
//! a typed error and changes nothing, or (for a genuine envelope, as in the
//! seed corpus) is accepted whole.
#![no_main]

use std::sync::LazyLock;

use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::{Conversation, ConversationKeys, IngestError};
use libfuzzer_sys::fuzz_target;

static SETUP: LazyLock<(Conversation, [u8; 32])> = LazyLock::new(|| {
    let keys = |s| {
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[s; 32]), KeyEpoch::ZERO).unwrap()
    };
    let (alice, bob) = (keys(1), keys(2));
    let conv = Conversation::new(&bob, &alice.public()).unwrap();
    let tag = ConversationKeys::derive(&bob, &alice.public())
        .unwrap()
        .author_tag(&alice.ipns().public())
        .unwrap();
    (conv, *tag.as_bytes())
});

/// A CBOR text or byte string header and its bytes.
fn string(out: &mut Vec<u8>, major: u8, bytes: &[u8]) {
    let n = bytes.len();
    match n {
        0..24 => out.push(major << 5 | n as u8),
        24..256 => out.extend_from_slice(&[major << 5 | 24, n as u8]),
        256..65_536 => {
            out.push(major << 5 | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(major << 5 | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

fuzz_target!(|envelope: &[u8]| {
    let (conv, alice_tag) = &*SETUP;
    // The canonical DAG-CBOR entry map of Alice's first entry, with a
    // fuzzer-chosen envelope: {v: 2, env, log, prev: [], clock: 1}.
    let mut block = vec![0xa5];
    string(&mut block, 3, b"v");
    block.push(0x02);
    string(&mut block, 3, b"env");
    string(&mut block, 2, envelope);
    string(&mut block, 3, b"log");
    string(&mut block, 2, alice_tag);
    string(&mut block, 3, b"prev");
    block.push(0x80);
    string(&mut block, 3, b"clock");
    block.push(0x01);
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
