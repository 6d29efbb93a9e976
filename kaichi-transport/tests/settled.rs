//! A node keeps only the newest entries of a long conversation in memory
//! (a small window here): messages, receipts and reads still work, older
//! pages come from the store, and after a restart the conversation loads
//! settled and goes on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{memory_store, start, start_configured, within};
use kaichi_transport::NodeEvent;

const WINDOW: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_settles_out_of_memory_and_reads_whole() {
    let store = memory_store();
    let small = |b: kaichi_transport::NodeConfigBuilder| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .conversation_window(WINDOW)
    };
    let mut alice = start_configured(65, store.clone(), small).await;
    let mut bob = start(66, memory_store()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    bob.node.add_contact(alice.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 60 from Alice, 30 from Bob, interleaved.
    let mut sent = Vec::new();
    for i in 0..60 {
        sent.push(
            alice
                .node
                .send_dm(&bob.wallet, &format!("a{i}"))
                .await
                .unwrap(),
        );
        if i % 2 == 1 {
            bob.node
                .send_dm(&alice.wallet, &format!("b{i}"))
                .await
                .unwrap();
        }
    }
    let (mut from_bob, mut delivered) = (0, std::collections::HashSet::new());
    within(async {
        while from_bob < 30 || delivered.len() < sent.len() {
            match alice.events.recv().await.unwrap() {
                NodeEvent::MessageReceived { .. } => from_bob += 1,
                NodeEvent::Delivered { entries, .. } => delivered.extend(entries),
                _ => {}
            }
        }
    })
    .await;
    let status = alice.node.status().await.unwrap();
    assert!(
        status.held_entries <= 2 * WINDOW + 2,
        "{} entries held",
        status.held_entries
    );
    // The newest few come from memory, all 90 from the store, as Bob sees them.
    let few = within(alice.node.read(&bob.wallet, 3)).await.unwrap();
    assert_eq!(few.messages.len(), 3);
    let all = within(alice.node.read(&bob.wallet, 200)).await.unwrap();
    assert_eq!(all.messages.len(), 90);
    assert_eq!(all.messages[..3], few.messages[..]);
    assert!(all.messages.iter().filter(|m| m.mine).all(|m| m.delivered));
    let theirs = within(bob.node.read(&alice.wallet, 200)).await.unwrap();
    let texts = |p: &kaichi_privatelog::Page| {
        p.messages
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&all), texts(&theirs));

    // After a restart the conversation loads settled and goes on.
    alice.node.shutdown().await;
    let alice = start_configured(65, store, small).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.node.send_dm(&bob.wallet, "after").await.unwrap();
    common::wait_for(&mut bob.events, |e| {
        matches!(e, NodeEvent::MessageReceived { text, .. } if text == "after").then_some(())
    })
    .await;
    let all = within(alice.node.read(&bob.wallet, 200)).await.unwrap();
    assert_eq!(all.messages.len(), 91);
    assert_eq!(all.messages[0].text, "after");
    let status = alice.node.status().await.unwrap();
    assert!(
        status.held_entries <= 2 * WINDOW + 2,
        "{}",
        status.held_entries
    );
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
