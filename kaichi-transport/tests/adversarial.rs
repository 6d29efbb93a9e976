//! Forged and malformed notifications from a raw gossipsub peer are
//! rejected (the sender penalised through gossipsub validation), never a
//! panic, and the node keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{next_message, start, within};
use futures::StreamExt as _;
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::notification::Notification;
use kaichi_transport::{NodeEvent, inbox_topic};
use libp2p::gossipsub::{self, MessageAuthenticity};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux};
use zeroize::Zeroizing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_notifications_are_rejected_and_the_node_carries_on() {
    let mut bob = start(50, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    let topic = inbox_topic(&bob.node.name());

    // A raw libp2p peer speaking only gossipsub.
    let mut seed = [9u8; 32];
    let key = libp2p::identity::Keypair::ed25519_from_bytes(&mut seed).unwrap();
    let behaviour: gossipsub::Behaviour = gossipsub::Behaviour::new(
        MessageAuthenticity::Signed(key.clone()),
        gossipsub::ConfigBuilder::default()
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut mallory = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| behaviour)
        .unwrap()
        .build();
    mallory.dial(bob.addr.clone()).unwrap();
    // Wait until Bob's inbox subscription is known.
    within(async {
        loop {
            if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { topic: t, .. }) =
                mallory.select_next_some().await
                && t == topic.hash()
            {
                break;
            }
        }
    })
    .await;

    // Garbage, a notification sealed to Bob with a forged document, and one
    // sealed to someone else.
    let forged = Notification {
        sender_document: vec![1, 2, 3],
        conversation: vec![0; 32],
        heads: vec![],
        blocks: vec![vec![0xff; 100]],
        ..Default::default()
    };
    let (_, bob_keys, _) = common::identity(50);
    let (_, other, _) = common::identity(51);
    let payloads = vec![
        vec![0xde, 0xad, 0xbe, 0xef],
        forged
            .seal(&bob_keys.dm().public(), Zeroizing::new([3; 32]))
            .unwrap(),
        forged
            .seal(&other.dm().public(), Zeroizing::new([4; 32]))
            .unwrap(),
    ];
    for p in payloads {
        mallory.behaviour_mut().publish(topic.clone(), p).unwrap();
    }
    // Keep Mallory's swarm running while Bob reports.
    let driver = tokio::spawn(async move {
        loop {
            let _ = mallory.select_next_some().await;
        }
    });
    let mut rejected = 0;
    while rejected < 3 {
        match within(bob.events.recv()).await {
            Some(NodeEvent::Rejected { .. }) => rejected += 1,
            Some(NodeEvent::MessageReceived { .. }) => panic!("a forged message was accepted"),
            Some(_) => {}
            None => panic!("bob stopped"),
        }
    }
    driver.abort();

    // Bob still works.
    let mut alice = start(52, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    alice
        .node
        .send_dm(&bob.wallet, "still here?")
        .await
        .unwrap();
    assert_eq!(next_message(&mut bob.events).await, "still here?");
    let _ = &mut alice.events;
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
