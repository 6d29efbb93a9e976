//! The example page in a real browser (Debian's headless Chromium, driven
//! by puppeteer-core from npm): a wallet stand-in with Phantom's API signs,
//! the page derives the identity the native crates derive, signs its
//! identity document with the wallet, reads an entry written natively,
//! writes a reply the native side reads, and keeps the conversation in
//! IndexedDB across a reload. A screenshot goes to
//! `target/kaichi-web-example.png`. (The page on the network, with `kaichi
//! node` processes: `kaichi-cli/tests/browser.rs`.)
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use kaichi_identity::document::verify_document;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::EntryCid;
use kaichi_test_support::hex::{decode as unhex, encode as hex};
use serde_json::{Value, json};

#[test]
fn the_example_page_in_headless_chromium() {
    if support::skipped() {
        return;
    }
    let root = support::root();
    support::package("web");
    support::npm_ready(&root);
    let (_, now) = support::now();
    let seed = [0x33u8; 32];
    let alice =
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&seed), KeyEpoch::ZERO).unwrap();
    let support::NativeBob {
        document: bob_doc,
        side: mut bob_side,
        first: entry,
        ..
    } = support::native_bob(0x44, &alice.public());
    let screenshot = root.join("target/kaichi-web-example.png");
    let fixture = json!({
        "root": root.join("kaichi-web"),
        "chromium": support::chromium(),
        "screenshot": screenshot,
        "alice": {
            "seedHex": hex(&seed),
            "wallet": alice.wallet().to_string(),
            "ipnsName": alice.ipns().name().to_string(),
            "peerId": alice.ipns().name().to_peer_id_string(),
        },
        "bob": { "documentHex": hex(&bob_doc), "entryHex": hex(entry.block()) },
    });
    let out = support::page_test("example.test.mjs", &fixture);
    assert!(screenshot.exists());

    let unhex = |v: &Value| unhex(v.as_str().unwrap());
    let doc = verify_document(&unhex(&out["documentHex"]), now).unwrap();
    assert_eq!(*doc.public(), alice.public());
    let cid: EntryCid = out["replyCid"].as_str().unwrap().parse().unwrap();
    assert!(
        bob_side
            .ingest(&unhex(&out["replyHex"]), Some(&cid))
            .unwrap()
            .new
    );
    assert_eq!(
        bob_side.page(None, 1).messages[0].text,
        "hi Bob, from Chromium"
    );
}
