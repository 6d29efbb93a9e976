//! Nodes on 127.0.0.1 exchanging direct messages over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::memory_store;

use std::sync::Arc;

use common::{next_message, start, within};
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::NodeEvent;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_dm_both_ways() {
    let mut alice = start(1, memory_store()).await;
    let mut bob = start(2, memory_store()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    // Alice knows Bob's document; Bob learns Alice's from her first message.
    alice.node.add_contact(bob.document.clone()).await.unwrap();

    let bob_name = bob.node.name().to_string();
    alice.node.send_dm(&bob_name, "hello bob").await.unwrap();
    assert_eq!(next_message(&mut bob.events).await, "hello bob");

    bob.node.send_dm(&alice.wallet, "hi alice").await.unwrap();
    assert_eq!(next_message(&mut alice.events).await, "hi alice");

    for i in 0..20 {
        alice
            .node
            .send_dm(&bob.wallet, &format!("m{i}"))
            .await
            .unwrap();
    }
    for i in 0..20 {
        assert_eq!(next_message(&mut bob.events).await, format!("m{i}"));
    }

    let at_alice = within(alice.node.read(&bob_name, 100)).await.unwrap();
    let at_bob = within(bob.node.read(&alice.wallet, 100)).await.unwrap();
    assert_eq!(at_alice.messages.len(), 22);
    let texts = |p: &kaichi_privatelog::Page| {
        p.messages
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&at_alice), texts(&at_bob));
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_before_the_peer_connects_is_delivered_on_connect() {
    let alice = start(3, memory_store()).await;
    let mut bob = start(4, memory_store()).await;
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    // Not connected yet: the notification waits in Alice's queue.
    alice
        .node
        .send_dm(&bob.wallet, "are you there?")
        .await
        .unwrap();
    bob.node.dial(alice.addr.clone()).await.unwrap();
    assert_eq!(next_message(&mut bob.events).await, "are you there?");
    // Bob learned Alice as a contact from her signed document.
    let page = bob.node.read(&alice.wallet, 10).await.unwrap();
    assert_eq!(page.messages[0].text, "are you there?");
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_history_is_fetched_from_the_sender() {
    // Alice writes three messages while Bob is away; only the last
    // notification reaches him; he fetches the rest by CID.
    let dir = tempfile::tempdir().unwrap();
    let alice_store =
        Arc::new(SqliteStore::open(&dir.path().join("a.db"), Default::default()).unwrap());
    let alice = start(5, alice_store.clone()).await;
    let (_, bob_keys, bob_doc) = common::identity(6);
    alice.node.add_contact(bob_doc).await.unwrap();
    alice
        .node
        .send_dm(&bob_keys.ipns().name().to_string(), "one")
        .await
        .unwrap();
    alice
        .node
        .send_dm(&bob_keys.ipns().name().to_string(), "two")
        .await
        .unwrap();
    alice.node.shutdown().await;

    // Alice restarts from her store (her queue is gone), Bob comes online.
    let alice = start(5, alice_store).await;
    let mut bob = start(6, memory_store()).await;
    bob.node.dial(alice.addr.clone()).await.unwrap();
    alice.node.send_dm(&bob.wallet, "three").await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(next_message(&mut bob.events).await);
    }
    got.sort();
    assert_eq!(got, ["one", "three", "two"]);
    let page = bob.node.read(&alice.wallet, 10).await.unwrap();
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["three", "two", "one"]);
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_recipients_are_refused() {
    let alice = start(7, memory_store()).await;
    let err = alice
        .node
        .send_dm(
            "k51qzi5uqu5dlcmsdc1ws1r0akfs2mfyvmxy6h9xntd6aq59bvdeu9f04w0tt8",
            "x",
        )
        .await;
    assert!(matches!(
        err,
        Err(kaichi_transport::NodeError::NotAContact(_))
    ));
    let mut events = alice.events;
    alice.node.shutdown().await;
    // The event stream ends when the node stops.
    while let Some(e) = within(events.recv()).await {
        assert!(!matches!(e, NodeEvent::MessageReceived { .. }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_over_quic() {
    use kaichi_transport::{Node, NodeConfig};
    let mut nodes = Vec::new();
    for seed in [70u8, 71] {
        let (_, keys, doc) = common::identity(seed);
        let config = NodeConfig::builder()
            .listen("/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap())
            .retry_interval(std::time::Duration::from_millis(100))
            .dht_mode(kaichi_transport::DhtMode::Server)
            .build()
            .unwrap();
        let (node, mut events) = Node::start(config, keys, doc.clone(), memory_store())
            .await
            .unwrap();
        let addr = loop {
            if let Some(NodeEvent::Listening(a)) = within(events.recv()).await {
                break a;
            }
        };
        assert!(addr.to_string().contains("quic-v1"), "{addr}");
        nodes.push((node, events, addr, doc));
    }
    let (b_node, mut b_events, b_addr, b_doc) = nodes.pop().unwrap();
    let (a_node, _a_events, _, _) = nodes.pop().unwrap();
    a_node.dial(b_addr).await.unwrap();
    a_node.add_contact(b_doc).await.unwrap();
    a_node
        .send_dm(&b_node.name().to_string(), "over quic")
        .await
        .unwrap();
    assert_eq!(next_message(&mut b_events).await, "over quic");
    a_node.shutdown().await;
    b_node.shutdown().await;
}
