//! Relays: routing between nodes that are not directly connected, and
//! holding sealed notifications for recipients who are offline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::memory_store;

use std::time::Duration;

use common::{next_message, start, start_configured, start_relay};
use kaichi_transport::NodeEvent;

/// Waits until `peer`'s event stream reports a connection.
async fn connected(events: &mut tokio::sync::mpsc::Receiver<NodeEvent>) {
    loop {
        if let Some(NodeEvent::PeerConnected(_)) = common::within(events.recv()).await {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_recipient_catches_up_through_a_relay() {
    let relay = start_relay(20).await;
    let bob_store = memory_store();
    // Bob is online once, so the relay follows his inbox.
    let mut bob = start(22, bob_store.clone()).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut bob.events).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let bob_doc = bob.document.clone();
    let bob_wallet = bob.wallet.clone();
    bob.node.shutdown().await;

    let mut alice = start(21, memory_store()).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut alice.events).await;
    alice.node.add_contact(bob_doc).await.unwrap();
    alice
        .node
        .send_dm(&bob_wallet, "while you were out")
        .await
        .unwrap();
    // Give the relay time to receive and hold it, then stop Alice too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    alice.node.shutdown().await;

    // Bob comes back; only the relay is there.
    let mut bob = start(22, bob_store).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    assert_eq!(next_message(&mut bob.events).await, "while you were out");
    relay.node.shutdown().await;
    bob.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_nodes_deliver_between_ends_of_a_line() {
    // alice - r1 - r2 - ... - r8 - bob: alice and bob never connect directly.
    let mut relays = Vec::new();
    for i in 0..8 {
        relays.push(start_relay(30 + i).await);
    }
    for pair in relays.windows(2) {
        pair[1].node.dial(pair[0].addr.clone()).await.unwrap();
    }
    let mut alice = start(40, memory_store()).await;
    let mut bob = start(41, memory_store()).await;
    alice.node.dial(relays[0].addr.clone()).await.unwrap();
    bob.node.dial(relays[7].addr.clone()).await.unwrap();
    connected(&mut bob.events).await;
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    // The relays learn to follow Bob's inbox hop by hop; Alice's
    // notification waits in her queue until a route exists.
    alice
        .node
        .send_dm(&bob.wallet, "across nine hops")
        .await
        .unwrap();
    assert_eq!(next_message(&mut bob.events).await, "across nine hops");
    bob.node.send_dm(&alice.wallet, "and back").await.unwrap();
    assert_eq!(next_message(&mut alice.events).await, "and back");
    for r in &relays {
        r.node.shutdown().await;
    }
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

/// Found by the fan-out bench: with gossipsub's default IP-colocation
/// penalty, more than ten local peers on 127.0.0.1 scored each other out of
/// the mesh and nothing was forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sender_reaches_twenty_recipients_behind_a_relay() {
    let relay = start_relay(60).await;
    let mut sender = start(61, memory_store()).await;
    sender.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut sender.events).await;
    let mut recipients = Vec::new();
    for i in 0..20 {
        let r = start(62 + i, memory_store()).await;
        r.node.dial(relay.addr.clone()).await.unwrap();
        sender.node.add_contact(r.document.clone()).await.unwrap();
        recipients.push(r);
    }
    for r in &recipients {
        sender
            .node
            .send_dm(&r.wallet, "hello everyone")
            .await
            .unwrap();
    }
    for r in &mut recipients {
        assert_eq!(next_message(&mut r.events).await, "hello everyone");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_heals_and_both_sides_converge() {
    // alice - relay - bob; the relay goes away (the partition), both write,
    // the relay comes back and both re-dial it (the heal).
    let relay = start_relay(100).await;
    let mut alice = start(101, memory_store()).await;
    let mut bob = start(102, memory_store()).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    bob.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut bob.events).await;
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    alice.node.send_dm(&bob.wallet, "before").await.unwrap();
    assert_eq!(next_message(&mut bob.events).await, "before");
    let relay_id = relay.node.peer_id();
    relay.node.shutdown().await;
    // Both sides notice the relay is gone before they write.
    for events in [&mut alice.events, &mut bob.events] {
        loop {
            if let Some(NodeEvent::PeerDisconnected(p)) = common::within(events.recv()).await
                && p == relay_id
            {
                break;
            }
        }
    }

    // Partitioned: both write; the notifications wait in each sender's queue.
    for i in 0..3 {
        alice
            .node
            .send_dm(&bob.wallet, &format!("alice {i}"))
            .await
            .unwrap();
        bob.node
            .send_dm(&alice.wallet, &format!("bob {i}"))
            .await
            .unwrap();
    }

    // Heal: the relay is back (same identity, new address); both re-dial.
    let relay = start_relay(100).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    bob.node.dial(relay.addr.clone()).await.unwrap();
    let mut at_bob = Vec::new();
    while at_bob.len() < 3 {
        at_bob.push(next_message(&mut bob.events).await);
    }
    let mut at_alice = Vec::new();
    while at_alice.len() < 3 {
        at_alice.push(next_message(&mut alice.events).await);
    }
    at_bob.sort();
    at_alice.sort();
    assert_eq!(at_bob, ["alice 0", "alice 1", "alice 2"]);
    assert_eq!(at_alice, ["bob 0", "bob 1", "bob 2"]);
    // Both replicas hold the same conversation in the same order.
    let va = alice.node.read(&bob.wallet, 100).await.unwrap();
    let vb = bob.node.read(&alice.wallet, 100).await.unwrap();
    let texts = |p: &kaichi_privatelog::Page| {
        p.messages
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&va), texts(&vb));
    assert_eq!(va.messages.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_the_relay_dropped_is_found_through_provider_records() {
    // The relay keeps one notification per inbox: Bob, back online, gets
    // only the newest. The relay holds none of the blocks, so Bob asks the
    // DHT who provides the conversation's head and fetches the rest from
    // Alice, whom he has never connected to.
    let relay = start_configured(25, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .relay(Duration::from_secs(3600))
            .relay_limits(1, 100)
    })
    .await;
    let bob_store = memory_store();
    let mut bob = start(26, bob_store.clone()).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut bob.events).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (bob_doc, bob_wallet) = (bob.document.clone(), bob.wallet.clone());
    bob.node.shutdown().await;

    let mut alice = start(27, memory_store()).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut alice.events).await;
    alice.node.add_contact(bob_doc).await.unwrap();
    for text in ["one", "two", "three"] {
        alice.node.send_dm(&bob_wallet, text).await.unwrap();
    }
    // The relay holds the last notification; Alice's head reaches the DHT;
    // gossipsub's message cache (a few heartbeats) forgets the notifications.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let mut bob = start(26, bob_store).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_message(&mut bob.events).await);
    }
    got.sort();
    assert_eq!(got, ["one", "three", "two"]);
    let page = bob.node.read(&alice.wallet, 10).await.unwrap();
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["three", "two", "one"]);
    for n in [&alice.node, &bob.node, &relay.node] {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_pins_its_users_blocks_for_when_they_are_offline() {
    // The relay keeps one notification per inbox; Alice is offline by the
    // time Bob is back: the rest of her messages come from the blocks the
    // relay pinned for her.
    let relay = start_configured(110, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .relay(Duration::from_secs(3600))
            .relay_limits(1, 100)
    })
    .await;
    let bob_store = memory_store();
    let mut bob = start(111, bob_store.clone()).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut bob.events).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (bob_doc, bob_wallet) = (bob.document.clone(), bob.wallet.clone());
    bob.node.shutdown().await;

    let mut alice = start(112, memory_store()).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    connected(&mut alice.events).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.node.add_contact(bob_doc).await.unwrap();
    for text in ["one", "two", "three"] {
        alice.node.send_dm(&bob_wallet, text).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alice_wallet = alice.wallet.clone();
    alice.node.shutdown().await;
    // Past gossipsub's message cache.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut bob = start(111, bob_store).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_message(&mut bob.events).await);
    }
    got.sort();
    assert_eq!(got, ["one", "three", "two"]);
    let page = bob.node.read(&alice_wallet, 10).await.unwrap();
    assert_eq!(page.messages.len(), 3);
    bob.node.shutdown().await;
    relay.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_met_later_pins_what_was_written_before_at_once() {
    // The author joined the DHT and wrote before it knew any relay; its
    // root changes next only in ten minutes. Meeting a relay is enough:
    // the relay gets the current root at once and pins everything.
    let dht = start(113, memory_store()).await;
    let author = start_configured(114, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .root_republish_interval(Duration::from_secs(600))
    })
    .await;
    author.node.dial(dht.addr.clone()).await.unwrap();
    common::within(async {
        while author.node.root().await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let (_, reader_keys, reader_doc) = common::identity(115);
    author.node.add_contact(reader_doc).await.unwrap();
    let mut sent = Vec::new();
    for i in 0..3 {
        let text = format!("before the relay {i}");
        sent.push(
            author
                .node
                .send_dm(reader_keys.wallet(), &text)
                .await
                .unwrap(),
        );
    }
    let relay_store = memory_store();
    let relay = common::start_pinning_relay(116, relay_store.clone()).await;
    author.node.dial(relay.addr.clone()).await.unwrap();
    common::until_pinned(&relay_store, &sent).await;
}
