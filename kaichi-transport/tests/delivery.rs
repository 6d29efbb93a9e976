//! Delivery receipts on 127.0.0.1: a stored message is acknowledged and
//! shows as delivered, then read; notifications lost on the way are sent
//! again until acknowledged (more than one notification carries), and
//! each arrives once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{memory_store, next_message, start, within};
use futures::StreamExt as _;
use kaichi_privatelog::EntryCid;
use kaichi_transport::{NodeEvent, inbox_topic};

/// Waits for the receipt that delivers `cid`.
async fn delivered(events: &mut tokio::sync::mpsc::Receiver<NodeEvent>, cid: EntryCid) {
    common::wait_for(events, |e| match e {
        NodeEvent::Delivered { entries, .. } if entries.contains(&cid) => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_message_is_acknowledged_then_read() {
    let mut alice = start(60, memory_store()).await;
    let mut bob = start(61, memory_store()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cid = alice
        .node
        .send_dm(&bob.wallet, "did you get this?")
        .await
        .unwrap();
    assert_eq!(next_message(&mut bob.events).await, "did you get this?");
    delivered(&mut alice.events, cid).await;
    let page = within(alice.node.read(&bob.wallet, 10)).await.unwrap();
    let m = &page.messages[0];
    assert!(m.mine && m.delivered && !m.read, "{m:?}");

    // Bob reads it: Alice's view says so.
    bob.node.mark_read(&alice.wallet, cid).await.unwrap();
    common::wait_for(&mut alice.events, |e| {
        matches!(e, NodeEvent::MessageChanged { .. }).then_some(())
    })
    .await;
    let page = within(alice.node.read(&bob.wallet, 10)).await.unwrap();
    assert!(page.messages[0].delivered && page.messages[0].read);
    // Bob's side: Alice's message is held (delivered) and read by him.
    let page = within(bob.node.read(&alice.wallet, 10)).await.unwrap();
    assert!(!page.messages[0].mine && page.messages[0].delivered && page.messages[0].read);
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

/// How many notifications the lossy forwarder loses.
const LOST: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_notifications_are_sent_again_until_acknowledged() {
    use libp2p::gossipsub::{Event, MessageAcceptance};
    let mut alice = start(62, memory_store()).await;
    let mut bob = start(63, memory_store()).await;
    let bob_topic = inbox_topic(&bob.node.name());
    let alice_topic = inbox_topic(&alice.node.name());
    // Alice and Bob reach each other only through the forwarder.
    let mut forwarder = common::validating_gossip_peer(64);
    forwarder
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    for t in [&bob_topic, &alice_topic] {
        forwarder.behaviour_mut().subscribe(t).unwrap();
    }
    forwarder.dial(bob.addr.clone()).unwrap();
    forwarder.dial(alice.addr.clone()).unwrap();
    common::until_subscribed(&mut forwarder, &bob_topic.hash()).await;
    let (dropped_tx, mut dropped_rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut dropped = 0;
        loop {
            if let libp2p::swarm::SwarmEvent::Behaviour(Event::Message {
                propagation_source,
                message_id,
                message,
            }) = forwarder.select_next_some().await
            {
                // The first LOST notifications to Bob are lost on the way.
                let verdict = if message.topic == bob_topic.hash() && dropped < LOST {
                    dropped += 1;
                    let _ = dropped_tx.send(());
                    MessageAcceptance::Ignore
                } else {
                    MessageAcceptance::Accept
                };
                forwarder.behaviour_mut().report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    verdict,
                );
            }
        }
    });
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;

    // More lost than one notification carries again (64 entries).
    let mut cids = Vec::new();
    for i in 0..LOST {
        cids.push(
            alice
                .node
                .send_dm(&bob.wallet, &format!("lost {i}"))
                .await
                .unwrap(),
        );
    }
    for _ in 0..LOST {
        within(dropped_rx.recv()).await.unwrap();
    }
    // Sent again on the schedule (no new subscriber, no new message):
    // Bob gets each once, and his receipts reach Alice.
    let mut got = std::collections::BTreeSet::new();
    while got.len() < LOST {
        got.insert(next_message(&mut bob.events).await);
    }
    for cid in cids.iter().rev() {
        if !within(alice.node.read(&bob.wallet, LOST))
            .await
            .unwrap()
            .messages
            .iter()
            .any(|m| m.cid == *cid && m.delivered)
        {
            delivered(&mut alice.events, *cid).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    while let Ok(e) = bob.events.try_recv() {
        assert!(
            !matches!(e, NodeEvent::MessageReceived { .. }),
            "delivered twice: {e:?}"
        );
    }
    let page = within(bob.node.read(&alice.wallet, 2 * LOST))
        .await
        .unwrap();
    assert_eq!(page.messages.len(), LOST);
    driver.abort();
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
