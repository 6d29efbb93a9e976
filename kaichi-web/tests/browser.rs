//! The example page in a real browser (Debian's headless Chromium, driven
//! by puppeteer-core from npm): a wallet stand-in with Phantom's API signs,
//! the page derives the identity the native crates derive, signs its
//! identity document with the wallet, reads an entry written natively,
//! writes a reply the native side reads, and keeps the conversation in
//! IndexedDB across a reload. A screenshot goes to
//! `target/kaichi-web-example.png`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kaichi_identity::document::{DocumentBuilder, verify_document};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::EntryCid;
use kaichi_test_support::hex::{decode as unhex, encode as hex};
use serde_json::{Value, json};

/// puppeteer-core for the tests, and the page's libp2p bundle (esbuild).
fn npm_ready(root: &Path) {
    let npm = |dir: &Path, args: &[&str]| {
        let status = Command::new("npm")
            .args(args)
            .current_dir(dir)
            .status()
            .expect("npm (Node.js 20+) runs the browser tests");
        assert!(status.success(), "npm {args:?} in {}", dir.display());
    };
    let tests = root.join("kaichi-web/tests/browser");
    if !tests.join("node_modules/puppeteer-core").exists() {
        npm(&tests, &["ci", "--no-audit", "--no-fund"]);
    }
    let net = root.join("kaichi-web/example/net");
    if !net.join("node_modules/libp2p").exists() {
        npm(&net, &["ci", "--no-audit", "--no-fund"]);
    }
    npm(&net, &["run", "build"]);
}

/// Runs one of `tests/browser/*.test.mjs` with `fixture`.
fn page_test(script: &str, fixture: &Value) -> Value {
    support::node_test(
        &support::root()
            .join("kaichi-web/tests/browser")
            .join(script),
        fixture,
    )
}

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
    npm_ready(&root);
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
    let out = page_test("example.test.mjs", &fixture);
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

#[test]
fn the_page_and_a_native_user_talk_through_a_kaichi_node() {
    use kaichi_transport::{DhtMode, Multiaddr, Node, NodeConfig, NodeEvent};
    if support::skipped() {
        return;
    }
    let root = support::root();
    support::package("web");
    npm_ready(&root);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let now = kaichi_identity::Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let start = |seed: u8, listen: Vec<&str>, relay: bool, bootstrap: Option<Multiaddr>| {
        let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
        let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        let doc = DocumentBuilder::new(&keys, now, Duration::from_secs(86_400))
            .sign(&wallet)
            .unwrap();
        let mut config = NodeConfig::builder()
            .retry_interval(Duration::from_millis(100))
            .dht_mode(DhtMode::Server);
        for l in listen {
            config = config.listen(l.parse().unwrap());
        }
        if relay {
            config = config.relay(Duration::from_secs(3600));
        }
        if let Some(b) = bootstrap {
            config = config.bootstrap(b);
        }
        let store =
            std::sync::Arc::new(kaichi_privatelog::store::SqliteStore::open_in_memory().unwrap());
        rt.block_on(Node::start(config.build().unwrap(), keys, doc, store))
            .unwrap()
    };
    // Both listeners (TCP and WebSocket) up.
    let addrs = |node: &Node| loop {
        let a = rt.block_on(node.listen_addrs()).unwrap();
        if a.len() >= 2 {
            break a;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (relay, _relay_events) = start(
        0x55,
        vec!["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"],
        true,
        None,
    );
    let relay_addrs = addrs(&relay);
    let with_peer = |a: &Multiaddr| format!("{a}/p2p/{}", relay.peer_id());
    let tcp = relay_addrs
        .iter()
        .find(|a| !a.to_string().contains("/ws"))
        .unwrap();
    let ws = relay_addrs
        .iter()
        .find(|a| a.to_string().contains("/ws"))
        .unwrap();
    let (bob, mut bob_events) = start(
        0x66,
        vec!["/ip4/127.0.0.1/tcp/0"],
        false,
        Some(with_peer(tcp).parse().unwrap()),
    );
    // Bob answers every message, and reports what he got.
    let (tx, got) = std::sync::mpsc::channel::<String>();
    let answering = bob.clone();
    rt.spawn(async move {
        while let Some(e) = bob_events.recv().await {
            match e {
                NodeEvent::MessageReceived { from, text, .. } => {
                    let _ = tx.send(format!("message {text}"));
                    // Slow to answer: the page is offline by then.
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    answering
                        .send_dm(&from.to_string(), "hello page, from native Bob")
                        .await
                        .unwrap();
                }
                NodeEvent::Delivered { entries, .. } => {
                    let _ = tx.send(format!("delivered {}", entries.len()));
                }
                _ => {}
            }
        }
    });
    let seed = [0x77u8; 32];
    let alice_wallet = KeypairWallet::from_secret_seed(&seed);
    let screenshot = root.join("target/kaichi-web-network.png");
    let fixture = json!({
        "root": root.join("kaichi-web"),
        "chromium": chromium(),
        "screenshot": screenshot,
        "relay": with_peer(ws),
        "alice": { "seedHex": hex(&seed), "wallet": kaichi_identity::WalletSigner::address(&alice_wallet).to_string() },
        "bob": { "documentHex": hex(&bob.identity_document()) },
    });
    page_test("network.test.mjs", &fixture);
    assert!(screenshot.exists());
    let mut seen: Vec<String> = got.try_iter().collect();
    assert!(
        seen.contains(&"message hi Bob, over the network".to_owned()),
        "{seen:?}"
    );
    // The page acknowledged Bob's answer: his node marks it delivered.
    while !seen.iter().any(|g| g.starts_with("delivered")) {
        match got.recv_timeout(Duration::from_secs(20)) {
            Ok(g) => seen.push(g),
            Err(_) => panic!("the page never acknowledged Bob's answer: {seen:?}"),
        }
    }
    rt.block_on(async {
        bob.shutdown().await;
        relay.shutdown().await;
    });
}
