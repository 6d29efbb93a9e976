//! A flood at someone's inbox through a relay: a raw gossipsub peer
//! publishes 10,000 junk notifications at Bob's inbox while Alice sends
//! him 100 DMs through the same relay. Every DM arrives, the relay refuses
//! the flood past the publisher's rate and disconnects the flooder (whose
//! further publishing then fails: no peer takes the topic).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{memory_store, start, within};
use futures::StreamExt as _;
use kaichi_transport::{NodeEvent, RateLimit, Rejection, inbox_topic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_at_an_inbox_does_not_keep_a_contacts_messages_out() {
    let relay = common::start_configured(80, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .relay(Duration::from_secs(3600))
            .relay_rates(
                RateLimit {
                    per_second: 50,
                    burst: 200,
                },
                RateLimit {
                    per_second: 300,
                    burst: 600,
                },
            )
    })
    .await;
    let alice = start(81, memory_store()).await;
    let mut bob = start(82, memory_store()).await;
    for p in [&alice, &bob] {
        p.node.dial(relay.addr.clone()).await.unwrap();
    }
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    bob.node.add_contact(alice.document.clone()).await.unwrap();

    let topic = inbox_topic(&bob.node.name());
    let mut mallory = common::raw_gossip_peer(83);
    let mallory_id = *mallory.local_peer_id();
    mallory.dial(relay.addr.clone()).unwrap();
    common::until_subscribed(&mut mallory, &topic.hash()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Mallory floods (junk shaped like sealed notifications) from her own
    // task, while Alice writes to Bob.
    let flood = tokio::spawn(async move {
        let mut published = 0u32;
        for batch in 0..100u32 {
            for j in 0..100u32 {
                let mut junk = vec![1u8; 120];
                junk[1..5].copy_from_slice(&(batch * 100 + j).to_le_bytes());
                if mallory.behaviour_mut().publish(topic.clone(), junk).is_ok() {
                    published += 1;
                }
            }
            // Let the swarm write what it queued.
            while tokio::time::timeout(Duration::from_millis(2), mallory.select_next_some())
                .await
                .is_ok()
            {}
        }
        let disconnected = tokio::time::timeout(Duration::from_secs(15), async {
            while mallory.connected_peers().count() > 0 {
                let _ = mallory.select_next_some().await;
            }
        })
        .await
        .is_ok();
        (published, disconnected)
    });
    let mut sent = BTreeSet::new();
    for i in 0..100 {
        let text = format!("real message {i}");
        alice.node.send_dm(&bob.wallet, &text).await.unwrap();
        sent.insert(text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut got = BTreeSet::new();
    while got.len() < sent.len() {
        match within(bob.events.recv()).await {
            Some(NodeEvent::MessageReceived { text, .. }) => {
                got.insert(text);
            }
            Some(_) => {}
            None => panic!("bob stopped"),
        }
    }
    assert_eq!(got, sent);
    let (published, disconnected) = within(flood).await.unwrap();
    // Publishing fails once the relay hung up (no peer for the topic).
    assert!(
        published > 200 + 256,
        "more than the burst and the disconnect threshold went out: {published}"
    );
    assert!(disconnected, "the relay disconnected the flooder");
    let connected = relay.node.connected_peers().await.unwrap();
    assert!(!connected.contains(&mallory_id));
    let counts = relay.node.rejections().await.unwrap();
    assert_eq!(counts.get(&Rejection::RateLimited), Some(&1), "{counts:?}");
    for p in [&alice, &bob, &relay] {
        p.node.shutdown().await;
    }
}
