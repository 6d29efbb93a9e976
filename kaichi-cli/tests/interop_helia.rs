//! Helia, an independent IPFS implementation (npm `@helia/utils`,
//! `@helia/block-brokers`, `@helia/routers` over js-libp2p 2.x), and a
//! Kaichi node exchange blocks over Bitswap: Helia fetches Kaichi entry
//! blocks by CID and Kaichi fetches a block Helia added, with Helia keyed
//! RSA (a `Qm…` PeerId, as kubo repositories and the public bootstrap nodes
//! are), secp256k1 and Ed25519.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use kaichi_test_support::identity::identity;
use kaichi_transport::{Cid, Multiaddr, Node, NodeEvent};
use serde_json::{Value, json};
use support::interop_skipped;

/// A Helia node in a child process, spoken to in JSON lines.
struct Helia {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    ready: Value,
}

impl Helia {
    fn start(key_type: &str) -> Self {
        let dir = support::npm_project("interop/helia");
        let mut child = Command::new("node")
            .arg("peer.mjs")
            .arg(key_type)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node is needed for the interop tests");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let ready = read(&mut stdout);
        assert_eq!(ready["ready"], true, "{ready}");
        Self {
            child,
            stdin,
            stdout,
            ready,
        }
    }

    fn call(&mut self, request: Value) -> Value {
        writeln!(self.stdin, "{request}").unwrap();
        let reply = read(&mut self.stdout);
        assert_eq!(reply["ok"], true, "{request} -> {reply}");
        reply
    }
}

impl Drop for Helia {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"op": "quit"}));
        let _ = self.child.wait();
    }
}

fn read(stdout: &mut BufReader<ChildStdout>) -> Value {
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("Helia printed {line:?}: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    kaichi_test_support::hex::encode(bytes)
}

fn unhex(text: &str) -> Vec<u8> {
    kaichi_test_support::hex::decode(text)
}

#[test]
fn helia_and_kaichi_exchange_blocks_over_bitswap_whatever_helias_key_type() {
    if interop_skipped() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (node, addr) = kaichi_node(&rt, 90);
    let (_, _, bob_doc) = identity(91);
    // Alice writes to Bob, who is offline: the entries sit in her store.
    let bob = rt.block_on(node.add_contact(bob_doc)).unwrap();
    let entries: Vec<(Cid, Vec<u8>)> = ["one", "two", "three"]
        .iter()
        .map(|text| {
            let cid = rt.block_on(node.send_dm(&bob, text)).unwrap().to_cid();
            (cid, rt.block_on(node.get_block(&cid)).unwrap())
        })
        .collect();

    // js-libp2p 2.x has no ECDSA PeerIds (`UnsupportedKeyTypeError`);
    // kaichi-transport/tests/ipfs_peers.rs covers ECDSA with rust-libp2p.
    for key_type in ["RSA", "secp256k1", "Ed25519"] {
        let mut helia = Helia::start(key_type);
        assert_eq!(helia.ready["keyType"], key_type);
        if key_type == "RSA" {
            let id = helia.ready["peerId"].as_str().unwrap();
            assert!(
                id.starts_with("Qm"),
                "an RSA PeerId is a Qm… multihash: {id}"
            );
        }
        helia.call(json!({"op": "dial", "addr": addr}));

        // Helia fetches Kaichi's entries by CID, over Bitswap.
        for (cid, block) in &entries {
            let got = helia.call(json!({"op": "get", "cid": cid.to_string()}));
            assert_eq!(got["bytes"], hex(block), "{key_type}: entry {cid}");
        }

        // Kaichi fetches a block Helia added.
        let bytes = format!("a block Helia ({key_type}) added").into_bytes();
        let put = helia.call(json!({"op": "put", "bytes": hex(&bytes)}));
        let cid: Cid = put["cid"].as_str().unwrap().parse().unwrap();
        let got = rt.block_on(node.get_block(&cid)).unwrap();
        assert_eq!(got, bytes, "{key_type}: Helia's block");
    }
    rt.block_on(node.shutdown());
}

/// Starts an in-memory Kaichi node of `seed` listening on loopback; returns
/// it and its full multiaddr.
fn kaichi_node(rt: &tokio::runtime::Runtime, seed: u8) -> (Node, String) {
    kaichi_node_with(rt, seed, |c| c)
}

/// [`kaichi_node`] with more configuration.
fn kaichi_node_with(
    rt: &tokio::runtime::Runtime,
    seed: u8,
    configure: impl FnOnce(kaichi_transport::NodeConfigBuilder) -> kaichi_transport::NodeConfigBuilder,
) -> (Node, String) {
    let (wallet, _) = kaichi_test_support::identity::keys(seed);
    let (node, mut events) = rt
        .block_on(
            Node::in_memory(&wallet)
                .configure(|c| {
                    configure(
                        c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
                            .dht_mode(kaichi_transport::DhtMode::Server),
                    )
                })
                .start(),
        )
        .unwrap();
    let addr: Multiaddr = rt.block_on(async {
        loop {
            if let Some(NodeEvent::Listening(a)) = events.recv().await {
                break a;
            }
        }
    });
    let addr = format!("{addr}/p2p/{}", node.peer_id());
    (node, addr)
}

#[test]
fn helia_and_kaichi_resolve_each_others_ipns_names_over_the_dht() {
    if interop_skipped() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Two Kaichi nodes are the DHT's servers; Helia is a DHT client.
    let (alice, alice_addr) = kaichi_node(&rt, 92);
    let (bob, _) = kaichi_node(&rt, 93);
    rt.block_on(bob.dial(alice_addr.parse().unwrap())).unwrap();
    // Each publishes its IPNS record once it meets a DHT peer.
    std::thread::sleep(Duration::from_secs(2));
    let mut helia = Helia::start("Ed25519");
    helia.call(json!({"op": "dial", "addr": alice_addr}));

    // Helia resolves Alice's name through the DHT, fetches the root it
    // points at over Bitswap, and the document the root links.
    let resolved = helia.call(json!({"op": "resolve", "name": alice.name().to_string()}));
    let value = resolved["value"].as_str().unwrap();
    let root_cid = kaichi_transport::dht::root_cid(value).expect("an /ipfs/ root path");
    let root = helia.call(json!({"op": "get", "cid": root_cid.to_string()}));
    let root = kaichi_privatelog::Root::decode(&unhex(root["bytes"].as_str().unwrap())).unwrap();
    let doc_cid = kaichi_privatelog::BlockCid::of(&alice.identity_document());
    assert_eq!(root.document(), doc_cid);
    let doc = helia.call(json!({"op": "get", "cid": doc_cid.to_string()}));
    assert_eq!(doc["bytes"], hex(&alice.identity_document()));

    // Helia publishes a name; Kaichi resolves it.
    let published = helia.call(json!({"op": "publish", "bytes": hex(b"published by Helia")}));
    let name: kaichi_identity::IpnsName = published["name"].as_str().unwrap().parse().unwrap();
    let record = rt.block_on(bob.resolve(name)).unwrap();
    assert_eq!(
        record.value_str(),
        Some(format!("/ipfs/{}", published["cid"].as_str().unwrap()).as_str())
    );
    drop(helia);
    rt.block_on(alice.shutdown());
    rt.block_on(bob.shutdown());
}

/// Helia pins a Kaichi identity's root recursively (the document and every
/// entry of its outbox, walked through the DAG-CBOR links); with the author
/// offline, a reader who knows only the author's wallet rebuilds the
/// conversation from the Helia node alone (a Kaichi node that holds none of
/// the blocks keeps the DHT).
#[test]
fn helia_pins_a_root_recursively_and_a_reader_rebuilds_from_helia_alone() {
    if interop_skipped() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (dht, dht_addr) = kaichi_node(&rt, 94);
    let (alice, alice_addr) = kaichi_node_with(&rt, 95, |c| {
        c.root_republish_interval(Duration::from_secs(1))
    });
    rt.block_on(alice.dial(dht_addr.parse().unwrap())).unwrap();
    let (_, bob_keys, bob_doc) = identity(96);
    rt.block_on(alice.add_contact(bob_doc)).unwrap();
    let sent: Vec<Cid> = (0..5)
        .map(|i| {
            let text = format!("message {i}");
            let cid = rt
                .block_on(alice.send_dm(bob_keys.wallet(), &text))
                .unwrap();
            cid.to_cid()
        })
        .collect();
    // Alice's record points at a root listing her latest entry.
    let root_cid = rt.block_on(async {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let Some(cid) = alice.root().await.unwrap() else {
                continue;
            };
            let block = alice.get_block(&cid.to_cid()).await.unwrap();
            let root = kaichi_privatelog::Root::decode(&block).unwrap();
            let latest = kaichi_privatelog::EntryCid::try_from(sent[4]).unwrap();
            if root.outboxes().any(|(_, heads)| heads.contains(&latest)) {
                break cid;
            }
        }
    });

    // Helia resolves Alice's name and pins the root recursively: the root,
    // the document and the five entries.
    let mut helia = Helia::start("Ed25519");
    helia.call(json!({"op": "dial", "addr": alice_addr}));
    helia.call(json!({"op": "dial", "addr": dht_addr}));
    let resolved = helia.call(json!({"op": "resolve", "name": alice.name().to_string()}));
    assert_eq!(resolved["value"], format!("/ipfs/{root_cid}"), "{resolved}");
    let pinned = helia.call(json!({"op": "pin", "cid": root_cid.to_string()}));
    assert_eq!(pinned["blocks"], 7, "{pinned}");
    for cid in &sent {
        let has = helia.call(json!({"op": "has", "cid": cid.to_string()}));
        assert_eq!(has["has"], true);
    }
    rt.block_on(alice.shutdown());

    // Bob, fresh, connected to the DHT node and Helia only, knows Alice's
    // wallet and syncs.
    let (bob, _) = kaichi_node(&rt, 96);
    rt.block_on(bob.dial(dht_addr.parse().unwrap())).unwrap();
    let helia_addr = helia.ready["addrs"][0].as_str().unwrap().to_owned();
    let helia_addr = format!(
        "{helia_addr}/p2p/{}",
        helia.ready["peerId"].as_str().unwrap()
    );
    rt.block_on(bob.dial(helia_addr.parse().unwrap())).unwrap();
    // Bob's DHT learns the DHT node (identify) before the lookup.
    std::thread::sleep(Duration::from_secs(1));
    let report = rt
        .block_on(bob.sync(kaichi_test_support::identity::keys(95).1.wallet()))
        .unwrap();
    assert_eq!(report.new_entries, 5);
    let page = rt
        .block_on(bob.read(kaichi_test_support::identity::keys(95).1.wallet(), 10))
        .unwrap();
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "message 4",
            "message 3",
            "message 2",
            "message 1",
            "message 0"
        ]
    );
    drop(helia);
    rt.block_on(bob.shutdown());
    rt.block_on(dht.shutdown());
}
