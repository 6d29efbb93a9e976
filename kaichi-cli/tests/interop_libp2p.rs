//! A js-libp2p node (npm `libp2p` 2.x with `@chainsafe/libp2p-gossipsub` 14,
//! noise, yamux, tcp) joins the mesh and carries gossipsub traffic between
//! two Kaichi nodes that are connected only through it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kaichi_identity::IdentityKeys;
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::{Multiaddr, Node, NodeConfig, NodeEvent, inbox_topic};
use support::interop_skipped;

fn identity(seed: u8) -> (IdentityKeys, Vec<u8>) {
    let (_, keys, doc) = kaichi_test_support::identity::identity(seed);
    (keys, doc)
}

async fn message(events: &mut tokio::sync::mpsc::Receiver<NodeEvent>) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("timed out")
        {
            Some(NodeEvent::MessageReceived { text, .. }) => return text,
            Some(_) => {}
            None => panic!("node stopped"),
        }
    }
}

/// A Kaichi node on 127.0.0.1 listening on `listen`, dialling `bootstrap`.
async fn kaichi_node(
    keys: IdentityKeys,
    doc: Vec<u8>,
    listen: &str,
    bootstrap: Option<Multiaddr>,
) -> (Node, tokio::sync::mpsc::Receiver<NodeEvent>) {
    let mut config = NodeConfig::builder()
        .listen(listen.parse().unwrap())
        .retry_interval(Duration::from_millis(100))
        .dht_mode(kaichi_transport::DhtMode::Server);
    if let Some(b) = bootstrap {
        config = config.bootstrap(b);
    }
    Node::start(
        config.build().unwrap(),
        keys,
        doc,
        Arc::new(SqliteStore::open_in_memory().unwrap()),
    )
    .await
    .unwrap()
}

#[test]
fn js_libp2p_relays_our_gossipsub_between_two_kaichi_nodes() {
    if interop_skipped() {
        return;
    }
    let dir = support::npm_project("interop/libp2p");
    let (alice_keys, alice_doc) = identity(80);
    let (bob_keys, bob_doc) = identity(81);
    let topics = [
        inbox_topic(&alice_keys.ipns().name()),
        inbox_topic(&bob_keys.ipns().name()),
    ];

    let mut js = Command::new("node")
        .arg("relay.mjs")
        .args(topics.iter().map(|t| t.hash().into_string()))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node (Node.js) is needed for the interop tests");
    let mut lines = BufReader::new(js.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"], "listening");
    let js_addr: Multiaddr = first["addrs"][0].as_str().unwrap().parse().unwrap();
    let (tx, forwarded) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            if v["event"] == "message" {
                let _ = tx.send(v);
            }
        }
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tcp = "/ip4/127.0.0.1/tcp/0";
        let start = |keys, doc| kaichi_node(keys, doc, tcp, Some(js_addr.clone()));
        let (alice, mut alice_events) = start(alice_keys.clone(), alice_doc).await;
        let (bob, mut bob_events) = start(bob_keys.clone(), bob_doc.clone()).await;
        // Let the gossipsub meshes form through the JS node.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        alice.add_contact(bob_doc).await.unwrap();
        alice
            .send_dm(&bob_keys.ipns().name().to_string(), "via js-libp2p")
            .await
            .unwrap();
        assert_eq!(message(&mut bob_events).await, "via js-libp2p");
        bob.send_dm(
            &alice_keys.ipns().name().to_string(),
            "and back via js-libp2p",
        )
        .await
        .unwrap();
        assert_eq!(message(&mut alice_events).await, "and back via js-libp2p");
        alice.shutdown().await;
        bob.shutdown().await;
    });

    // The JS node saw (and so forwarded) both sealed notifications.
    let seen: Vec<serde_json::Value> = forwarded.try_iter().collect();
    assert!(seen.len() >= 2, "js-libp2p forwarded {seen:?}");
    drop(js.stdin.take());
    let _ = js.kill();
    let _ = js.wait();
}

#[test]
fn a_browser_style_js_libp2p_node_over_websockets_carries_dms_between_kaichi_nodes() {
    if interop_skipped() {
        return;
    }
    let dir = support::npm_project("interop/libp2p");
    let (alice_keys, alice_doc) = identity(82);
    let (bob_keys, bob_doc) = identity(83);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Both Kaichi nodes listen on WebSocket only and know no one: the JS
        // node (WebSockets only, no listener, as in a page) dials both.
        let start = |keys: IdentityKeys, doc: Vec<u8>| async move {
            let (node, events) = kaichi_node(keys, doc, "/ip4/127.0.0.1/tcp/0/ws", None).await;
            let addr = loop {
                if let Some(a) = node.listen_addrs().await.unwrap().first() {
                    break format!("{a}/p2p/{}", node.peer_id());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            assert!(addr.contains("/ws/p2p/"), "{addr}");
            (node, events, addr)
        };
        let (alice, mut alice_events, alice_addr) = start(alice_keys.clone(), alice_doc).await;
        let (bob, mut bob_events, bob_addr) = start(bob_keys.clone(), bob_doc.clone()).await;
        let topics = [
            inbox_topic(&alice_keys.ipns().name()),
            inbox_topic(&bob_keys.ipns().name()),
        ];
        let mut js = Command::new("node")
            .arg("relay.mjs")
            .args(["--dial-ws", &format!("{alice_addr},{bob_addr}")])
            .args(topics.iter().map(|t| t.hash().into_string()))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node (Node.js) is needed for the interop tests");
        let mut lines = BufReader::new(js.stdout.take().unwrap()).lines();
        let mut connected = Vec::new();
        loop {
            let v: serde_json::Value =
                serde_json::from_str(&lines.next().expect("the JS node exited").unwrap()).unwrap();
            match v["event"].as_str() {
                Some("connected") => connected.push(v["peer"].as_str().unwrap().to_owned()),
                Some("listening") => break,
                _ => {}
            }
        }
        assert_eq!(
            connected,
            [alice.peer_id().to_string(), bob.peer_id().to_string()]
        );
        assert!(alice.connected_peers().await.unwrap().len() == 1);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        alice.add_contact(bob_doc).await.unwrap();
        alice
            .send_dm(&bob_keys.ipns().name().to_string(), "over websockets")
            .await
            .unwrap();
        assert_eq!(message(&mut bob_events).await, "over websockets");
        bob.send_dm(&alice_keys.ipns().name().to_string(), "and back")
            .await
            .unwrap();
        assert_eq!(message(&mut alice_events).await, "and back");
        alice.shutdown().await;
        bob.shutdown().await;
        drop(js.stdin.take());
        let _ = js.kill();
        let _ = js.wait();
    });
}
