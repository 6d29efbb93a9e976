//! The cores compiled to wasm32, run in headless Chromium by
//! wasm-bindgen-test, with the native crates' known-answer vectors: the
//! libp2p PeerId specification's Ed25519 vector, the IPNS specification's
//! record vectors, a derivation vector, and entries (envelopes) merged in
//! both orders. `tests/wasm_unit.rs` builds and runs them.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_identity::ipns::{ValidateError, validate_record};
use kaichi_identity::{
    IdentityKeys, IpnsKeypair, IpnsName, KeyEpoch, Timestamp, WalletAddress, WalletSignature,
};
use kaichi_privatelog::{Conversation, Message};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[wasm_bindgen_test]
fn the_libp2p_peer_id_spec_ed25519_vector() {
    let seed: [u8; 32] = hex("7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d")
        .try_into()
        .unwrap();
    let name = IpnsKeypair::from_seed(&seed).name();
    assert_eq!(
        name.to_peer_id_string(),
        "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
    );
    assert_eq!(name.to_string().parse::<IpnsName>().unwrap(), name);
}

/// 2026-11-25, inside every vector's validity window (as in the native
/// `ipns_vectors.rs`).
const NOW: Timestamp = Timestamp::from_unix_secs(1_795_000_000);

#[wasm_bindgen_test]
fn the_ipns_spec_record_vectors() {
    let v1_v2: IpnsName = "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w"
        .parse()
        .unwrap();
    let record = include_bytes!(
        "../../kaichi-identity/tests/vectors/ipns/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2.ipns-record"
    );
    let valid = validate_record(record, &v1_v2, NOW).unwrap();
    assert_eq!(valid.value_str(), Some("/ipfs/bafkqaddwgevxmmraojswg33smq"));
    let broken: IpnsName = "k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c"
        .parse()
        .unwrap();
    let record = include_bytes!(
        "../../kaichi-identity/tests/vectors/ipns/k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c_v1-v2-broken-signature-v2.ipns-record"
    );
    assert_eq!(
        validate_record(record, &broken, NOW),
        Err(ValidateError::BadSignatureV2(broken))
    );
}

/// Wallets (seeds 0x11…11 and 0x22…22), their signatures over the
/// derivation message at epoch 0, and the IPNS names derived from them:
/// `wallet signature-hex name` a line, checked natively by
/// `tests/package.rs`.
const DERIVATION: &str = include_str!("vectors/derivation.txt");

fn kat(line: usize) -> (IdentityKeys, String) {
    let fields: Vec<&str> = DERIVATION.lines().nth(line).unwrap().split(' ').collect();
    let wallet: WalletAddress = fields[0].parse().unwrap();
    let signature = WalletSignature::try_from_slice(&hex(fields[1])).unwrap();
    let keys = IdentityKeys::from_wallet_signature(wallet, KeyEpoch::ZERO, &signature).unwrap();
    (keys, fields[2].to_owned())
}

#[wasm_bindgen_test]
fn the_derivation_vectors() {
    for line in 0..2 {
        let (keys, name) = kat(line);
        assert_eq!(keys.ipns().name().to_string(), name);
    }
}

#[wasm_bindgen_test]
fn entries_sealed_here_open_here_and_merge_in_either_order() {
    let (alice, _) = kat(0);
    let (bob, _) = kat(1);
    let mut a = Conversation::new(&alice, &bob.public()).unwrap();
    let mut b = Conversation::new(&bob, &alice.public()).unwrap();
    let mut blocks = Vec::new();
    for i in 0..4u8 {
        let (conv, keys) = if i % 2 == 0 {
            (&mut a, &alice)
        } else {
            (&mut b, &bob)
        };
        let entry = conv
            .append(
                keys.ipns(),
                &Message::text(format!("message {i}"), u64::from(i)),
                &[i; 16],
            )
            .unwrap();
        blocks.push(entry.block().to_vec());
        // Each side sees the other's before writing again.
        let block = entry.block().to_vec();
        let other = if i % 2 == 0 { &mut b } else { &mut a };
        other.ingest(&block, None).unwrap();
    }
    // A third copy of Alice's side takes every entry in reverse order
    // (children before parents are held until the parents come).
    let mut late = Conversation::new(&alice, &bob.public()).unwrap();
    for block in blocks.iter().rev().chain(blocks.iter()) {
        let _ = late.ingest(block, None);
    }
    assert_eq!(a.page(None, 10), late.page(None, 10));
    assert_eq!(a.page(None, 10).messages.len(), 4);
    assert_eq!(a.page(None, 10).messages[0].text, "message 3");
    // A changed byte is refused, and changes nothing.
    let mut bad = blocks[1].clone();
    *bad.last_mut().unwrap() ^= 1;
    let mut fresh = Conversation::new(&alice, &bob.public()).unwrap();
    assert!(fresh.ingest(&bad, None).is_err());
    assert!(fresh.is_empty());
}

/// MLS groups on the mls-rs engine in the browser: a group created here, a
/// second member added by KeyPackage, joined from the Welcome and tree,
/// messages both ways, a commit that removes; and the split Welcome a big
/// group sends (header and one shard) joins here too.
#[wasm_bindgen_test]
fn groups_run_in_the_browser_on_the_mls_rs_engine() {
    use kaichi_groups::mlsrs::RsMember;
    use kaichi_groups::welcome::{key_package_ref, shard_for, split_welcome, welcome_for};
    use kaichi_groups::{AdminPolicy, Candidate, GroupEvent, MemberSigner, NewGroup, NoDevices};
    use std::sync::Arc;
    let member = |seed: u8| {
        let signer = MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32]));
        RsMember::new(&signer, AdminPolicy, Arc::new(NoDevices))
    };
    let (alice, bob, carol) = (member(1), member(2), member(3));
    let mut group = alice.create(NewGroup::named("in the page")).unwrap();
    let kps = [bob.key_package().unwrap(), carol.key_package().unwrap()];
    let kaichi_groups::Outgoing::Commit(out) = group
        .add(&kps.iter().cloned().map(Candidate::new).collect::<Vec<_>>())
        .unwrap()
    else {
        panic!("the creator commits")
    };
    let (welcome, tree) = (out.welcome.unwrap(), out.ratchet_tree.unwrap());
    let mut bobs = bob.join(&welcome, Some(&tree)).unwrap();
    // Carol joins from her shard of the split Welcome.
    let split = split_welcome(&welcome, 1).unwrap();
    let mine = [key_package_ref(&kps[1]).unwrap()];
    let firsts: Vec<_> = split.shards.iter().map(|s| s.first).collect();
    let shard = &split.shards[shard_for(&firsts, &mine)[0]].bytes;
    let mut carols = carol
        .join(
            &welcome_for(&split.header, shard, &mine).unwrap(),
            Some(&tree),
        )
        .unwrap();
    assert_eq!(
        bobs.epoch_authenticator().unwrap(),
        carols.epoch_authenticator().unwrap()
    );

    let hello = group.send(b"hello from the page").unwrap();
    for g in [&mut bobs, &mut carols] {
        match g.process(&hello).unwrap() {
            GroupEvent::Message { text, .. } => assert_eq!(text, b"hello from the page"),
            other => panic!("{other:?}"),
        }
    }
    let kaichi_groups::Outgoing::Commit(removal) = group.remove(&[carol.name()]).unwrap() else {
        panic!("the sequencer commits")
    };
    assert!(matches!(
        carols.process(&removal.commit).unwrap(),
        GroupEvent::RemovedSelf { .. }
    ));
    assert!(matches!(
        bobs.process(&removal.commit).unwrap(),
        GroupEvent::Commit { epoch: 2, .. }
    ));
    assert!(bobs.process(b"garbage").is_err());
}
