//! The example page in a real browser (Debian's headless Chromium, driven
//! by puppeteer-core from npm): a wallet stand-in with Phantom's API signs,
//! the page derives the identity the native crates derive, signs its
//! identity document with the wallet, reads an entry written natively,
//! writes a reply the native side reads, and keeps the conversation in
//! IndexedDB across a reload. A screenshot goes to
//! `target/kaichi-web-example.png`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kaichi_identity::document::{DocumentBuilder, verify_document};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use kaichi_privatelog::{Conversation, EntryCid, Message};
use serde_json::{Value, json};

fn chromium() -> &'static str {
    let path = "/usr/bin/chromium";
    if !Path::new(path).exists() {
        support::apt_install(&["chromium"]);
    }
    path
}

#[test]
fn the_example_page_in_headless_chromium() {
    if support::skipped() {
        return;
    }
    let root = support::root();
    support::package("web");
    let browser_dir = root.join("kaichi-web/tests/browser");
    if !browser_dir.join("node_modules/puppeteer-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&browser_dir)
            .status()
            .expect("npm installs puppeteer-core");
        assert!(status.success(), "npm ci in {}", browser_dir.display());
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let now = Timestamp::from_unix_nanos(now_ms * 1_000_000);
    let seed = [0x33u8; 32];
    let alice =
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&seed), KeyEpoch::ZERO).unwrap();
    let bob_wallet = KeypairWallet::from_secret_seed(&[0x44; 32]);
    let bob = IdentityKeys::derive(&bob_wallet, KeyEpoch::ZERO).unwrap();
    let bob_doc = DocumentBuilder::new(&bob, now, Duration::from_secs(86_400))
        .sign(&bob_wallet)
        .unwrap();
    let mut bob_side = Conversation::new(&bob, &alice.public()).unwrap();
    let entry = bob_side
        .append(
            bob.ipns(),
            &Message::text("hello from native Bob", now_ms),
            &[9; 16],
        )
        .unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let screenshot = root.join("target/kaichi-web-example.png");
    let dir = tempfile::tempdir().unwrap();
    let fixture = json!({
        "root": root.join("kaichi-web"),
        "chromium": chromium(),
        "screenshot": screenshot,
        "alice": {
            "seedHex": hex(&seed),
            "wallet": alice.wallet().to_string(),
            "ipnsName": alice.ipns().name().to_string(),
            "peerId": alice.ipns().name().to_peer_id_string(),
        },
        "bob": { "documentHex": hex(&bob_doc), "entryHex": hex(entry.block()) },
    });
    let (fixture_path, out_path) = (dir.path().join("fixture.json"), dir.path().join("out.json"));
    std::fs::write(&fixture_path, fixture.to_string()).unwrap();
    let output = Command::new("node")
        .arg("--test")
        .arg(browser_dir.join("example.test.mjs"))
        .env("KAICHI_FIXTURE", &fixture_path)
        .env("KAICHI_OUT", &out_path)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("# pass 1") && log.contains("# fail 0"),
        "{log}"
    );
    assert!(screenshot.exists());

    let out: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let unhex = |s: &Value| -> Vec<u8> {
        let s = s.as_str().unwrap();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
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
