//! Message requests and blocking on 127.0.0.1: a stranger's message is
//! kept as a request until accepted (or answered); a stranger's group
//! invitation waits until then, across a restart; a blocked wallet's notifications are
//! refused, keep nothing, and stay refused after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{memory_store, next_message, start, start_member, wait_for, within};
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::{NodeEvent, Rejection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_message_is_a_request_until_answered() {
    let alice = start(70, memory_store()).await;
    let mut bob = start(71, memory_store()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    alice
        .node
        .send_dm(&bob.wallet, "hi, we have not met")
        .await
        .unwrap();
    let from = wait_for(&mut bob.events, |e| match e {
        NodeEvent::MessageRequest { wallet, .. } => Some(wallet.to_string()),
        NodeEvent::ContactAdded { .. } => panic!("a stranger became a contact"),
        _ => None,
    })
    .await;
    assert_eq!(from, alice.wallet);
    // The message is kept, and readable.
    assert_eq!(next_message(&mut bob.events).await, "hi, we have not met");
    let requests = bob.node.requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].wallet.to_string(), alice.wallet);
    // Answering accepts it.
    bob.node.send_dm(&alice.wallet, "hello").await.unwrap();
    assert!(bob.node.requests().await.unwrap().is_empty());
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_invitation_waits_until_the_request_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let alice = start_member(72, dir.path()).await;
    let mut bob = start_member(73, dir.path()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let g = alice.node.create_group("strangers").await.unwrap();
    alice.node.invite("strangers", &bob.wallet).await.unwrap();
    wait_for(&mut bob.events, |e| match e {
        NodeEvent::MessageRequest { .. } => Some(()),
        NodeEvent::GroupJoined { .. } => panic!("joined a stranger's group unasked"),
        _ => None,
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(bob.node.groups().await.unwrap().is_empty());

    // Bob's node restarts before he answers: the invitation was kept.
    bob.node.shutdown().await;
    let mut bob = start_member(73, dir.path()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(bob.node.groups().await.unwrap().is_empty());
    assert_eq!(bob.node.requests().await.unwrap().len(), 1);

    let accepted = bob.node.accept_request(&alice.wallet).await.unwrap();
    assert_eq!(accepted.wallet.to_string(), alice.wallet);
    let joined = wait_for(&mut bob.events, |e| match e {
        NodeEvent::GroupJoined { group, .. } => Some(*group),
        _ => None,
    })
    .await;
    assert_eq!(joined, g.id);
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

/// Waits until a notification is refused as from a blocked wallet; nothing
/// of it may be kept meanwhile.
async fn refused(events: &mut tokio::sync::mpsc::Receiver<NodeEvent>) {
    loop {
        match within(events.recv()).await {
            Some(NodeEvent::Rejected {
                reason: Rejection::Blocked,
                ..
            }) => return,
            Some(NodeEvent::MessageReceived { text, .. }) => panic!("kept {text:?}"),
            Some(NodeEvent::MessageRequest { .. }) => panic!("a blocked wallet's request"),
            Some(_) => {}
            None => panic!("bob stopped"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_wallet_is_refused_and_stays_refused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bob_db = dir.path().join("bob.db");
    let open = || Arc::new(SqliteStore::open(&bob_db, Default::default()).unwrap());
    let alice = start(74, memory_store()).await;
    let mut bob = start(75, open()).await;
    let blocked = bob.node.block(&alice.wallet).await.unwrap();
    assert_eq!(blocked.to_string(), alice.wallet);
    alice.node.dial(bob.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    alice.node.send_dm(&bob.wallet, "let me in").await.unwrap();
    refused(&mut bob.events).await;
    assert!(bob.node.requests().await.unwrap().is_empty());
    assert!(
        bob.node.read(&alice.wallet, 10).await.is_err(),
        "nothing kept"
    );

    // After a restart: still refused.
    bob.node.shutdown().await;
    let mut bob = start(75, open()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.node.send_dm(&bob.wallet, "and now?").await.unwrap();
    refused(&mut bob.events).await;

    // Unblocked: what Alice sends arrives (the unacknowledged ones too,
    // re-sent), as a request.
    bob.node.unblock(blocked).await.unwrap();
    alice.node.send_dm(&bob.wallet, "third time").await.unwrap();
    let page = loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Ok(page) = bob.node.read(&alice.wallet, 10).await
            && page.messages.len() == 3
        {
            break page;
        }
    };
    assert_eq!(page.messages[0].text, "third time");
    assert_eq!(bob.node.requests().await.unwrap().len(), 1);
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
