//! Forged and malformed notifications from a raw gossipsub peer are
//! rejected (the sender penalised through gossipsub validation), never a
//! panic, and the node keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{next_group_message, next_message, start, start_member, within};
use futures::StreamExt as _;
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::notification::Notification;
use kaichi_transport::{NodeEvent, inbox_topic};
use zeroize::Zeroizing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_notifications_are_rejected_and_the_node_carries_on() {
    let mut bob = start(50, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    let topic = inbox_topic(&bob.node.name());

    // A raw libp2p peer speaking only gossipsub.
    let mut mallory = common::raw_gossip_peer(9);
    mallory.dial(bob.addr.clone()).unwrap();
    // Wait until Bob's inbox subscription is known.
    common::until_subscribed(&mut mallory, &topic.hash()).await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_group_messages_change_nothing() {
    use kaichi_groups::openmls::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let alice = start_member(53, dir.path()).await;
    let mut bob = start_member(54, dir.path()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    bob.node.add_contact(alice.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let g = alice.node.create_group("guarded").await.unwrap();
    alice.node.invite("guarded", &bob.wallet).await.unwrap();
    common::wait_for(&mut bob.events, |e| {
        matches!(e, NodeEvent::GroupJoined { .. }).then_some(())
    })
    .await;
    let topic = kaichi_transport::group_topic(&g.id);

    let mut mallory = common::raw_gossip_peer(10);
    mallory.dial(bob.addr.clone()).unwrap();
    mallory.behaviour_mut().subscribe(&topic).unwrap();
    common::until_subscribed(&mut mallory, &topic.hash()).await;

    // Garbage; an MLSMessage that is not a group message; and a genuine
    // MLS PrivateMessage from Mallory's own group under the victim group's id.
    let provider = kaichi_groups::MemoryProvider::default();
    let signer =
        kaichi_groups::MemberSigner::identity(kaichi_identity::IpnsKeypair::from_seed(&[10; 32]));
    let kp = kaichi_groups::key_package(&provider, &signer, false).unwrap();
    let credential = CredentialWithKey {
        credential: BasicCredential::new(signer.name().to_string().into_bytes()).into(),
        signature_key: signer.public_key().to_vec().into(),
    };
    let mut fake = MlsGroup::builder()
        .with_group_id(GroupId::from_slice(g.id.as_bytes()))
        .ciphersuite(kaichi_groups::CIPHERSUITE)
        .build(&provider, &signer, credential)
        .unwrap();
    let forged = tls_codec::Serialize::tls_serialize_detached(
        &fake
            .create_message(&provider, &signer, b"let me in")
            .unwrap(),
    )
    .unwrap();
    for p in [vec![0xde, 0xad], kp, forged] {
        mallory.behaviour_mut().publish(topic.clone(), p).unwrap();
    }
    let driver = tokio::spawn(async move {
        use futures::StreamExt as _;
        loop {
            let _ = mallory.select_next_some().await;
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Bob's group is as it was and the next message he reads is Alice's.
    alice
        .node
        .send_group("guarded", "the real thing")
        .await
        .unwrap();
    assert_eq!(next_group_message(&mut bob.events).await, "the real thing");
    let groups = bob.node.groups().await.unwrap();
    assert_eq!((groups[0].epoch, groups[0].members.len()), (1, 2));
    driver.abort();
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
