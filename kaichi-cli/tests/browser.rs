//! The kaichi-web example page in Debian's headless Chromium with `kaichi
//! node` processes: the page shows the IPNS name `kaichi id show` gives
//! for the same keypair, goes online through a `kaichi node --relay`
//! (first over WebRTC-direct, then over WebSocket), and exchanges DMs with
//! a `kaichi node` user:
//! its DM arrives (`dm read`), Bob's receipt marks it delivered, Bob's
//! answer (`dm send`) is sent while the page is offline, held by the relay
//! and collected when the page comes back, and the page's receipt marks
//! Bob's answer delivered. Screenshot: `target/kaichi-web-network.png`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
#[path = "../../kaichi-web/tests/support/mod.rs"]
mod web;

use std::time::{Duration, Instant};

use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use support::{kaichi, kaichi_json};

/// Polls `dm read` on `home` until `ok` holds for the conversation with
/// `peer` (which may not exist yet).
fn until(home: &std::path::Path, peer: &str, ok: impl Fn(&[serde_json::Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = kaichi(home)
            .args(["--json", "dm", "read", peer])
            .output()
            .unwrap();
        let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if read["messages"].as_array().is_some_and(|m| ok(m)) {
            return;
        }
        assert!(Instant::now() < deadline, "never: {read}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_page_and_a_kaichi_node_user_talk_through_a_kaichi_relay() {
    if web::skipped() {
        return;
    }
    let root = web::root();
    web::package("web");
    web::npm_ready(&root);
    let dir = tempfile::tempdir().unwrap();
    let (a, b, r) = (
        dir.path().join("alice"),
        dir.path().join("bob"),
        dir.path().join("relay"),
    );

    // Alice's keypair is in the page's wallet; the CLI derives her name.
    let seed = [0x77u8; 32];
    let alice_wallet = KeypairWallet::from_secret_seed(&seed);
    let keypair = dir.path().join("alice.json");
    std::fs::write(&keypair, alice_wallet.to_keypair_json().as_bytes()).unwrap();
    kaichi_json(
        &a,
        &["wallet", "import", "--keypair", keypair.to_str().unwrap()],
    );
    let alice = kaichi_json(&a, &["id", "show"]);
    let alice_address = alice_wallet.address().to_string();
    assert_eq!(alice["wallet"], alice_address.as_str());

    kaichi_json(&r, &["wallet", "new"]);
    let ws = "/ip4/127.0.0.1/tcp/0/ws";
    let (_relay, _) = support::node_process(
        &r,
        &[
            "--relay",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--listen",
            ws,
            "--listen",
            "/ip4/127.0.0.1/udp/0/webrtc-direct",
        ],
        None,
    );
    let status = kaichi_json(&r, &["status"]);
    let peer = status["node"]["peer_id"].as_str().unwrap().to_owned();
    let addrs: Vec<String> = status["node"]["listen_addrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let tcp = addrs
        .iter()
        .find(|a| a.contains("/tcp/") && !a.contains("/ws"))
        .unwrap();
    let relay_webrtc = addrs
        .iter()
        .find(|a| a.contains("/webrtc-direct/certhash/"))
        .expect("a /webrtc-direct listener with its certhash");
    let relay_ws = addrs
        .iter()
        .find(|a| a.contains("/ws"))
        .expect("a /ws listener");

    kaichi_json(&b, &["wallet", "new"]);
    let bob_doc = dir.path().join("bob.doc");
    kaichi_json(&b, &["id", "document", "--out", bob_doc.to_str().unwrap()]);
    let (_bob, _) = support::node_process(&b, &["--bootstrap", &format!("{tcp}/p2p/{peer}")], None);

    // Bob answers Alice's message two seconds after it arrives: the page
    // is offline by then.
    let answer = {
        let (b, alice_address) = (b.clone(), alice_address.clone());
        std::thread::spawn(move || {
            until(&b, &alice_address, |m| {
                m.iter().any(|m| m["text"] == "hi Bob, over the network")
            });
            std::thread::sleep(Duration::from_secs(2));
            let sent = kaichi(&b)
                .args(["dm", "send", &alice_address, "hello page, from native Bob"])
                .status()
                .unwrap();
            assert!(sent.success());
        })
    };
    let hex = |bytes: &[u8]| bytes.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let screenshot = root.join("target/kaichi-web-network.png");
    let fixture = serde_json::json!({
        "root": root.join("kaichi-web"),
        "chromium": web::chromium(),
        "screenshot": screenshot,
        "relay": format!("{relay_ws}/p2p/{peer}"),
        "relayWebrtc": format!("{relay_webrtc}/p2p/{peer}"),
        "alice": {
            "seedHex": hex(&seed),
            "wallet": alice_address,
            "ipnsName": alice["ipns_name"],
        },
        "bob": { "documentHex": hex(&std::fs::read(&bob_doc).unwrap()) },
    });
    web::page_test("network.test.mjs", &fixture);
    answer.join().unwrap();
    assert!(screenshot.exists());
    // The relay keeps its WebRTC certificate in its profile: its address
    // stays the same.
    assert!(r.join("webrtc.pem").exists());
    // Bob's node got the page's receipt for his answer.
    until(&b, &alice_address, |m| {
        m.iter()
            .any(|m| m["text"] == "hello page, from native Bob" && m["delivered"] == true)
    });
}
