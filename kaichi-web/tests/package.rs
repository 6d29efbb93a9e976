//! The wasm package run as JavaScript runs it (Node.js here; a real
//! browser in `browser.rs`), against the native crates: the same keys,
//! names and documents from the same wallet, and entries, IPNS records and
//! CAR files that cross between the two implementations both ways.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use kaichi_identity::document::verify_document;
use kaichi_identity::ipns::{RecordParams, create_record, validate_record};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp, derivation_message};
use kaichi_privatelog::EntryCid;
use kaichi_test_support::hex::{decode as unhex, encode as hex};
use serde_json::json;

#[test]
fn the_wasm_package_matches_the_native_crates_both_ways() {
    if support::skipped() {
        return;
    }
    let pkg = support::package("nodejs");
    let (now_ms, now) = support::now();
    // Alice's wallet is in the page (here, Node's crypto signs with its
    // seed); Bob is native.
    let alice_seed = [0x11u8; 32];
    let alice_wallet = KeypairWallet::from_secret_seed(&alice_seed);
    let alice = IdentityKeys::derive(&alice_wallet, KeyEpoch::ZERO).unwrap();
    let support::NativeBob {
        keys: bob,
        document: bob_doc,
        side: mut bob_side,
        first: from_bob,
    } = support::native_bob(0x22, &alice.public());
    let bob_record = create_record(
        bob.ipns(),
        &RecordParams::new(
            "/ipfs/bafkqaddwgevxmmraojswg33smq".as_bytes(),
            7,
            Timestamp::from_unix_nanos((now_ms + 3_600_000) * 1_000_000),
        ),
    )
    .unwrap();

    let fixture = json!({
        "pkg": pkg.join("kaichi_web.js"),
        "nowMs": now_ms,
        "alice": {
            "seedHex": hex(&alice_seed),
            "wallet": alice.wallet().to_string(),
            "derivationMessageHex": hex(&derivation_message(&alice.wallet(), KeyEpoch::ZERO)),
            "ipnsName": alice.ipns().name().to_string(),
            "peerId": alice.ipns().name().to_peer_id_string(),
            "dmPublicKey": hex(&alice.dm().public().to_bytes()),
        },
        "bob": {
            "ipnsName": bob.ipns().name().to_string(),
            "wallet": bob.wallet().to_string(),
            "documentHex": hex(&bob_doc),
            "entryHex": hex(from_bob.block()),
            "entryCid": from_bob.cid().to_string(),
            "recordHex": hex(&bob_record),
        },
    });
    let test = support::root().join("kaichi-web/tests/js/package.test.mjs");
    let out = support::node_test(&test, &fixture);

    // What the page made, checked by the native crates.
    let s = |k: &str| out[k].as_str().unwrap().to_owned();
    let doc = verify_document(&unhex(&s("documentHex")), now).unwrap();
    assert_eq!(*doc.public(), alice.public());
    let cid: EntryCid = s("replyCid").parse().unwrap();
    let ingested = bob_side.ingest(&unhex(&s("replyHex")), Some(&cid)).unwrap();
    assert!(ingested.new);
    let page = bob_side.page(None, 10);
    assert_eq!(page.messages[0].text, "hi Bob, from the page");
    assert_eq!(page.messages[0].reply_to, Some(from_bob.cid()));
    let record = validate_record(&unhex(&s("recordHex")), &alice.ipns().name(), now).unwrap();
    assert_eq!(record.value(), b"/ipfs/bafkqaddwgevxmmraojswg33smq");
    assert_eq!(record.sequence(), 3);
    let car = kaichi_privatelog::car::read_car(&unhex(&s("carHex"))).unwrap();
    assert_eq!(car.blocks.len(), 2);
    // The native side's signature over the derivation message is the one
    // the page's wallet made (Ed25519 is deterministic).
    let signature = alice_wallet
        .sign_message(&derivation_message(&alice.wallet(), KeyEpoch::ZERO))
        .unwrap();
    assert_eq!(s("derivationSignatureHex"), hex(signature.as_bytes()));
}

/// The derivation vectors the wasm tests use (`tests/vectors/derivation.txt`)
/// are what the native crates derive. `KAICHI_WRITE_VECTORS=1` writes them.
#[test]
fn the_derivation_vectors_are_the_native_crates() {
    let mut lines = String::new();
    for seed in [0x11u8, 0x22] {
        let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
        let signature = wallet
            .sign_message(&derivation_message(&wallet.address(), KeyEpoch::ZERO))
            .unwrap();
        let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        lines.push_str(&format!(
            "{} {} {}\n",
            wallet.address(),
            hex(signature.as_bytes()),
            keys.ipns().name()
        ));
    }
    let path = support::root().join("kaichi-web/tests/vectors/derivation.txt");
    if std::env::var_os("KAICHI_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &lines).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), lines);
}
