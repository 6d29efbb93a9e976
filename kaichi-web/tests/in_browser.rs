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

/// A person with a wallet: their page identity (from a signature over the
/// derivation message) and their signed identity document.
fn person(seed: u8, now_ms: f64) -> (IdentityKeys, kaichi_web::Identity, Vec<u8>) {
    use kaichi_identity::WalletSigner;
    let wallet = kaichi_identity::wallet::KeypairWallet::from_secret_seed(&[seed; 32]);
    let address = wallet.address().to_string();
    let message = kaichi_web::derivation_message(&address, 0).unwrap();
    let signature = wallet.sign_message(&message).unwrap();
    let identity = kaichi_web::derive_identity(&address, 0, signature.as_bytes()).unwrap();
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    let now = Timestamp::from_unix_nanos(now_ms as u64 * 1_000_000);
    let document = kaichi_identity::document::DocumentBuilder::new(
        &keys,
        now,
        std::time::Duration::from_secs(86_400),
    )
    .sign(&wallet)
    .unwrap();
    (keys, identity, document)
}

fn message_of(e: wasm_bindgen::JsError) -> String {
    js_sys::Error::from(wasm_bindgen::JsValue::from(e))
        .message()
        .into()
}

async fn settled(promise: js_sys::Promise) -> Result<(), String> {
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|e| js_sys::Error::from(e).message().into())
}

fn json(value: &wasm_bindgen::JsValue) -> String {
    js_sys::JSON::stringify(value).unwrap().into()
}

/// The page's store in IndexedDB: a conversation written and received in
/// it is announced and acknowledged only once committed, and a store
/// opened again (a reload) has the conversation, the contact's document
/// and the delivery marks.
#[wasm_bindgen_test]
async fn conversations_are_kept_in_indexeddb() {
    use kaichi_web::{Conversation as PageConversation, Store, verify_document};
    let now = js_sys::Date::now();
    let name = format!("kaichi-test-{}", js_sys::Math::random());
    let (alice_keys, alice, alice_document) = person(0x31, now);
    let (bob_keys, _, bob_document) = person(0x32, now);
    let bob = verify_document(&bob_document, now).unwrap();

    let store = Store::open(name.clone()).await.unwrap();
    assert!(store.kept());
    let mut chat = PageConversation::in_store(&alice, &bob, &store).unwrap();
    let sent = chat.send_text("kept?", now, None).unwrap();
    assert!(store.pending() > 0);
    let refused = chat
        .notify(
            &alice_document,
            vec![js_sys::Uint8Array::from(&sent.block()[..])],
        )
        .map(|_| ())
        .unwrap_err();
    assert!(message_of(refused).contains("store.durable()"));
    settled(store.durable()).await.unwrap();
    assert_eq!(store.pending(), 0);
    chat.notify(
        &alice_document,
        vec![js_sys::Uint8Array::from(&sent.block()[..])],
    )
    .unwrap();

    // Bob answers (natively here); the page takes it and acknowledges
    // once it is committed; Bob's receipt marks Alice's message delivered.
    let mut bob_side = Conversation::new(&bob_keys, &alice_keys.public()).unwrap();
    bob_side.ingest(&sent.block(), None).unwrap();
    let reply = bob_side
        .append(bob_keys.ipns(), &Message::text("yes", 2), &[9; 16])
        .unwrap();
    assert!(chat.ingest(reply.block(), None).unwrap());
    assert!(
        chat.acknowledge(&alice_document, vec![reply.cid().to_string()])
            .is_err()
    );
    settled(store.durable()).await.unwrap();
    chat.acknowledge(&alice_document, vec![reply.cid().to_string()])
        .unwrap();
    assert_eq!(chat.mark_delivered(vec![sent.cid()]).unwrap(), 1);
    settled(store.durable()).await.unwrap();
    let view = json(&chat.messages(10).unwrap());
    assert!(view.contains("\"delivered\":true"), "{view}");
    store.close();

    // A reload: the store opened again has it all.
    let again = Store::open(name).await.unwrap();
    let contacts = again.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].wallet(), bob.wallet());
    assert_eq!(contacts[0].document(), bob_document);
    let reloaded = PageConversation::in_store(&alice, &contacts[0], &again).unwrap();
    assert_eq!(reloaded.length(), 2);
    assert_eq!(reloaded.heads(), chat.heads());
    assert_eq!(json(&reloaded.messages(10).unwrap()), view);
    // Opening it changed nothing, so nothing was written.
    assert_eq!(again.pending(), 0);
    again.close();
}

/// A journal damaged outside Kaichi (a record that is not one) is refused
/// with an error naming the record, not replayed in part.
#[wasm_bindgen_test]
async fn a_damaged_journal_is_refused() {
    use kaichi_web::{Conversation as PageConversation, Store, verify_document};
    let now = js_sys::Date::now();
    let name = format!("kaichi-test-{}", js_sys::Math::random());
    let (_, alice, _) = person(0x33, now);
    let (_, _, bob_document) = person(0x34, now);
    let bob = verify_document(&bob_document, now).unwrap();
    let store = Store::open(name.clone()).await.unwrap();
    let mut chat = PageConversation::in_store(&alice, &bob, &store).unwrap();
    chat.send_text("one", now, None).unwrap();
    settled(store.durable()).await.unwrap();
    store.close();

    let damage = js_sys::Function::new_with_args(
        "name",
        "return new Promise((ok, fail) => {
           const open = indexedDB.open(name, 1);
           open.onerror = () => fail(open.error);
           open.onsuccess = () => {
             const tx = open.result.transaction('journal', 'readwrite');
             tx.objectStore('journal').add(new Uint8Array([0xff, 0xff, 0x01]));
             tx.oncomplete = () => { open.result.close(); ok(); };
             tx.onabort = () => fail(tx.error);
           };
         });",
    );
    let promise: js_sys::Promise = damage
        .call1(&wasm_bindgen::JsValue::NULL, &name.clone().into())
        .unwrap()
        .into();
    settled(promise).await.unwrap();
    let Err(refused) = Store::open(name).await else {
        panic!("a damaged journal opened");
    };
    let why = message_of(refused);
    assert!(why.contains("journal record 3"), "{why}");
}
