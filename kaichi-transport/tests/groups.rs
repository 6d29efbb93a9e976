//! Group chats between real nodes on loopback: invitations through the
//! inbox, MLS messages on the group topic, catch-up from the group log,
//! removal, and a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Peer, next_group_message, start_member, wait_for};
use kaichi_transport::NodeEvent;

/// Connects every pair and makes them contacts of each other (an
/// invitation from a stranger would wait as a message request).
async fn mesh(peers: &[&Peer]) {
    for (i, a) in peers.iter().enumerate() {
        for b in &peers[i + 1..] {
            a.node.dial(b.addr.clone()).await.unwrap();
            a.node.add_contact(b.document.clone()).await.unwrap();
            b.node.add_contact(a.document.clone()).await.unwrap();
        }
    }
    // Let gossipsub exchange subscriptions.
    tokio::time::sleep(Duration::from_millis(800)).await;
}

/// KeyPackages (mls-rs engine) of `n` members who are not nodes, their
/// seeds `tag` and their number.
fn key_packages(tag: u8, n: u32) -> Vec<Vec<u8>> {
    use kaichi_groups::mlsrs::RsMember;
    use kaichi_groups::{AdminPolicy, MemberSigner, NoDevices};
    (0..n)
        .map(|i| {
            let mut seed = [tag; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            let signer = MemberSigner::identity(kaichi_identity::IpnsKeypair::from_seed(&seed));
            RsMember::new(&signer, AdminPolicy, std::sync::Arc::new(NoDevices))
                .key_package()
                .unwrap()
        })
        .collect()
}

async fn joined(p: &mut Peer) -> kaichi_groups::GroupId {
    wait_for(&mut p.events, |e| match e {
        NodeEvent::GroupJoined { group, .. } => Some(*group),
        _ => None,
    })
    .await
}

async fn at_epoch(p: &mut Peer, epoch: u64) {
    wait_for(&mut p.events, |e| match e {
        NodeEvent::GroupChanged { epoch: e, .. } if *e >= epoch => Some(()),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_chat_and_one_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = start_member(81, dir.path()).await;
    let mut bob = start_member(82, dir.path()).await;
    let mut carol = start_member(83, dir.path()).await;
    mesh(&[&alice, &bob, &carol]).await;

    let g = alice
        .node
        .create_group(kaichi_groups::NewGroup {
            name: "friends".into(),
            description: "old friends".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alice.node.invite("friends", &bob.wallet).await.unwrap(), 1);
    assert_eq!(joined(&mut bob).await, g.id);
    assert_eq!(
        alice.node.invite("friends", &carol.wallet).await.unwrap(),
        2
    );
    assert_eq!(joined(&mut carol).await, g.id);
    at_epoch(&mut bob, 2).await;

    bob.node
        .send_group("friends", "hello everyone")
        .await
        .unwrap();
    assert_eq!(
        next_group_message(&mut alice.events).await,
        "hello everyone"
    );
    assert_eq!(
        next_group_message(&mut carol.events).await,
        "hello everyone"
    );
    carol
        .node
        .send_group(&g.id.to_string(), "hi bob")
        .await
        .unwrap();
    assert_eq!(next_group_message(&mut bob.events).await, "hi bob");
    assert_eq!(next_group_message(&mut alice.events).await, "hi bob");

    let groups = bob.node.groups().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].members.len(), 3);
    assert_eq!(groups[0].name, "friends");
    assert_eq!(groups[0].description, "old friends");

    // Alice removes Carol; Carol learns it and reads nothing after.
    let carol_name = carol.node.name().to_string();
    assert_eq!(
        alice
            .node
            .remove_member("friends", &carol_name)
            .await
            .unwrap(),
        3
    );
    wait_for(&mut carol.events, |e| {
        matches!(e, NodeEvent::GroupRemoved { .. }).then_some(())
    })
    .await;
    at_epoch(&mut bob, 3).await;
    alice
        .node
        .send_group("friends", "just us now")
        .await
        .unwrap();
    assert_eq!(next_group_message(&mut bob.events).await, "just us now");
    let quiet = tokio::time::timeout(
        Duration::from_secs(1),
        next_group_message(&mut carol.events),
    )
    .await;
    assert!(quiet.is_err(), "a removed member read a message");
    assert!(carol.node.groups().await.unwrap().is_empty());

    let read = bob.node.read_group("friends", 10).await.unwrap();
    let texts: Vec<_> = read
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).to_string())
        .collect();
    assert_eq!(texts, ["hello everyone", "hi bob", "just us now"]);
    for p in [&alice, &bob, &carol] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_away_for_several_epochs_catches_up_and_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = start_member(84, dir.path()).await;
    let mut bob = start_member(85, dir.path()).await;
    let mut carol = start_member(86, dir.path()).await;
    let dave = start_member(87, dir.path()).await;
    mesh(&[&alice, &bob, &carol, &dave]).await;
    alice.node.create_group("club").await.unwrap();
    alice.node.invite("club", &bob.wallet).await.unwrap();
    joined(&mut bob).await;

    // Bob goes away; the group moves on two epochs and chats.
    let bob_wallet = bob.wallet.clone();
    bob.node.shutdown().await;
    alice.node.invite("club", &carol.wallet).await.unwrap();
    joined(&mut carol).await;
    alice.node.invite("club", &dave.wallet).await.unwrap();
    at_epoch(&mut carol, 3).await;
    carol
        .node
        .send_group("club", "while bob was away")
        .await
        .unwrap();
    assert_eq!(
        next_group_message(&mut alice.events).await,
        "while bob was away"
    );

    // Bob restarts from his database and catches up from the others.
    let mut bob = common::start_member(85, dir.path()).await;
    assert_eq!(bob.wallet, bob_wallet);
    assert_eq!(bob.node.groups().await.unwrap()[0].epoch, 1);
    bob.node.dial(alice.addr.clone()).await.unwrap();
    assert_eq!(
        next_group_message(&mut bob.events).await,
        "while bob was away"
    );
    let g = &bob.node.groups().await.unwrap()[0];
    assert_eq!(g.epoch, 3);
    assert_eq!(g.members.len(), 4);
    bob.node.send_group("club", "back").await.unwrap();
    assert_eq!(next_group_message(&mut carol.events).await, "back");
    for p in [&alice, &bob, &carol, &dave] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_connected_only_through_a_relay() {
    // alice, bob and carol each know only the relay; the relay forwards the
    // group topic without being able to read it; invitees' KeyPackages are
    // found through the DHT.
    let dir = tempfile::tempdir().unwrap();
    let relay = common::start_relay(90).await;
    let mut alice = start_member(91, dir.path()).await;
    let mut bob = start_member(92, dir.path()).await;
    let mut carol = start_member(93, dir.path()).await;
    for p in [&alice, &bob, &carol] {
        p.node.dial(relay.addr.clone()).await.unwrap();
    }
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    alice
        .node
        .add_contact(carol.document.clone())
        .await
        .unwrap();
    for p in [&bob, &carol] {
        p.node.add_contact(alice.document.clone()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let g = alice.node.create_group("hub").await.unwrap();
    alice.node.invite("hub", &bob.wallet).await.unwrap();
    assert_eq!(joined(&mut bob).await, g.id);
    alice.node.invite("hub", &carol.wallet).await.unwrap();
    assert_eq!(joined(&mut carol).await, g.id);
    at_epoch(&mut bob, 2).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    carol.node.send_group("hub", "via the relay").await.unwrap();
    assert_eq!(next_group_message(&mut alice.events).await, "via the relay");
    assert_eq!(next_group_message(&mut bob.events).await, "via the relay");
    for p in [&alice, &bob, &carol, &relay] {
        p.node.shutdown().await;
    }
}

#[test]
fn the_published_key_package_is_reused_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kp.db");
    let store = kaichi_privatelog::store::SqliteStore::open(
        &path,
        kaichi_privatelog::store::Durability::Normal,
    )
    .unwrap();
    let (_, keys, _) = common::identity(95);
    let first = kaichi_transport::prepare_key_package(&path, &store, &keys).unwrap();
    let again = kaichi_transport::prepare_key_package(&path, &store, &keys).unwrap();
    assert_eq!(first, again);
    // Another identity sharing the file gets its own.
    let (_, other, _) = common::identity(96);
    assert_ne!(
        kaichi_transport::prepare_key_package(&path, &store, &other).unwrap(),
        first
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_catches_up_from_a_relay_when_no_member_is_online() {
    let dir = tempfile::tempdir().unwrap();
    let relay = common::start_relay(97).await;
    let alice = start_member(98, dir.path()).await;
    let mut bob = start_member(99, dir.path()).await;
    for p in [&alice, &bob] {
        p.node.dial(relay.addr.clone()).await.unwrap();
    }
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    bob.node.add_contact(alice.document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    alice.node.create_group("held").await.unwrap();
    alice.node.invite("held", &bob.wallet).await.unwrap();
    joined(&mut bob).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    bob.node.shutdown().await;
    // The third is too large for gossip: it goes by reference, and the
    // relay pins its blob.
    let large = "x".repeat(300 * 1024);
    for text in ["first while away", "second while away", large.as_str()] {
        alice.node.send_group("held", text).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    alice.node.shutdown().await;
    // Past gossipsub's message cache: only the relay's held log has them.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Only the relay is there when Bob comes back.
    let mut bob = start_member(99, dir.path()).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    assert_eq!(
        next_group_message(&mut bob.events).await,
        "first while away"
    );
    assert_eq!(
        next_group_message(&mut bob.events).await,
        "second while away"
    );
    assert_eq!(next_group_message(&mut bob.events).await, large);
    bob.node.shutdown().await;
    relay.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_who_is_not_the_sequencer_invites_and_members_self_update() {
    // Bob knows Alice and Carol; Alice (the sequencer) knows nobody. Alice
    // invites Bob by IPNS name (document from the DHT); Bob invites Carol,
    // which is a proposal: Alice's node commits it and, knowing only
    // Carol's name from her KeyPackage, finds her document in the DHT and
    // sends her the invitation.
    let dir = tempfile::tempdir().unwrap();
    let mut alice = start_member(101, dir.path()).await;
    let mut bob = start_member(102, dir.path()).await;
    let mut carol = start_member(103, dir.path()).await;
    mesh(&[&bob, &alice, &carol]).await;
    tokio::time::sleep(Duration::from_millis(700)).await;

    let g = alice.node.create_group("club").await.unwrap();
    let bob_name = bob.node.name().to_string();
    assert_eq!(alice.node.invite("club", &bob_name).await.unwrap(), 1);
    assert_eq!(joined(&mut bob).await, g.id);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Only admins invite: Bob is refused until Alice makes him one.
    let err = bob.node.invite("club", &carol.wallet).await.unwrap_err();
    assert!(err.to_string().contains("not an admin"), "{err}");
    let carol_name = carol.node.name().to_string();
    let err = alice
        .node
        .set_group_admin("club", &carol_name, true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a member"), "{err}");
    assert_eq!(
        alice
            .node
            .set_group_admin("club", &bob_name, true)
            .await
            .unwrap(),
        2
    );
    at_epoch(&mut bob, 2).await;

    // A proposal: the epoch does not move yet.
    assert_eq!(bob.node.invite("club", &carol.wallet).await.unwrap(), 2);
    assert_eq!(joined(&mut carol).await, g.id);
    at_epoch(&mut bob, 3).await;
    let summary = &carol.node.groups().await.unwrap()[0];
    assert_eq!(summary.members.len(), 3);
    assert_eq!(summary.sequencer, Some(alice.node.name()));
    tokio::time::sleep(Duration::from_millis(500)).await;

    carol.node.send_group("club", "thanks, bob").await.unwrap();
    assert_eq!(next_group_message(&mut alice.events).await, "thanks, bob");
    assert_eq!(next_group_message(&mut bob.events).await, "thanks, bob");

    // Self-updates: Carol's is a proposal Alice's node commits; Alice's own
    // is a commit. Everyone follows, and keeps reading.
    assert_eq!(carol.node.update_group_keys("club").await.unwrap(), 3);
    at_epoch(&mut bob, 4).await;
    assert_eq!(alice.node.update_group_keys("club").await.unwrap(), 5);
    at_epoch(&mut carol, 5).await;
    at_epoch(&mut bob, 5).await;
    bob.node
        .send_group("club", "after the updates")
        .await
        .unwrap();
    assert_eq!(
        next_group_message(&mut carol.events).await,
        "after the updates"
    );
    assert_eq!(
        next_group_message(&mut alice.events).await,
        "after the updates"
    );

    // Inviting someone nobody can find fails with a clear error.
    let nobody = kaichi_identity::IpnsKeypair::from_seed(&[104; 32]).name();
    let err = alice
        .node
        .invite("club", &nobody.to_string())
        .await
        .unwrap_err();
    assert!(
        matches!(err, kaichi_transport::NodeError::DocumentNotFound(_)),
        "{err}"
    );
    for p in [&alice, &bob, &carol] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signing_with_a_device_key_joins_and_others_learn_the_grant_from_the_dht() {
    // Carol's node is a device of Carol: its leaf signs with the device's
    // own key, which Carol's document grants. Alice knows that document
    // (a contact); Bob does not, so the commit adding Carol is refused until
    // his node finds Carol's document in the DHT by name, then applies.
    let dir = tempfile::tempdir().unwrap();
    let mut alice = start_member(111, dir.path()).await;
    let mut bob = start_member(112, dir.path()).await;
    let mut carol = common::start_device_member(113, 114, dir.path()).await;
    mesh(&[&alice, &bob, &carol]).await;
    tokio::time::sleep(Duration::from_millis(700)).await;

    let g = alice.node.create_group("devices").await.unwrap();
    assert_eq!(alice.node.invite("devices", &bob.wallet).await.unwrap(), 1);
    assert_eq!(joined(&mut bob).await, g.id);
    assert_eq!(
        alice.node.invite("devices", &carol.wallet).await.unwrap(),
        2
    );
    assert_eq!(joined(&mut carol).await, g.id);
    at_epoch(&mut bob, 2).await;
    let members = &bob.node.groups().await.unwrap()[0].members;
    assert!(members.contains(&carol.node.name()), "{members:?}");

    carol
        .node
        .send_group("devices", "from my phone")
        .await
        .unwrap();
    assert_eq!(next_group_message(&mut alice.events).await, "from my phone");
    assert_eq!(next_group_message(&mut bob.events).await, "from my phone");
    // The device refreshes its keys (a proposal Alice's node commits).
    carol.node.update_group_keys("devices").await.unwrap();
    at_epoch(&mut bob, 3).await;
    bob.node
        .send_group("devices", "still there?")
        .await
        .unwrap();
    assert_eq!(next_group_message(&mut carol.events).await, "still there?");
    for p in [&alice, &bob, &carol] {
        p.node.shutdown().await;
    }
}

/// Balances from a fixed table (what an indexer snapshot would give).
struct Snapshot(std::collections::HashMap<kaichi_identity::WalletAddress, u64>);

impl kaichi_groups::BalanceSource for Snapshot {
    fn balance(
        &self,
        wallet: &kaichi_identity::WalletAddress,
        _mint: &kaichi_identity::WalletAddress,
    ) -> Result<u64, kaichi_groups::BalanceError> {
        Ok(self.0.get(wallet).copied().unwrap_or(0))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_holder_group_admits_only_holders() {
    let dir = tempfile::tempdir().unwrap();
    let (bob_wallet, carol_wallet) = (common::identity(122).0, common::identity(123).0);
    use kaichi_identity::wallet::WalletSigner as _;
    let balances = Snapshot(std::collections::HashMap::from([
        (bob_wallet.address(), 500),
        (carol_wallet.address(), 99),
    ]));
    let alice = common::start_member_with(121, dir.path(), |b| {
        b.balance_source(std::sync::Arc::new(balances))
    })
    .await;
    let mut bob = start_member(122, dir.path()).await;
    let carol = start_member(123, dir.path()).await;
    mesh(&[&alice, &bob, &carol]).await;

    let mint = common::identity(150).0.address();
    let g = alice
        .node
        .create_group(kaichi_groups::NewGroup::named("holders").token_gated(mint, 100))
        .await
        .unwrap();
    assert_eq!(g.token_gate.unwrap().minimum, 100);
    assert_eq!(alice.node.invite("holders", &bob.wallet).await.unwrap(), 1);
    assert_eq!(joined(&mut bob).await, g.id);
    let gate = bob.node.groups().await.unwrap()[0].token_gate.unwrap();
    assert_eq!((gate.mint, gate.minimum), (mint, 100));
    let err = alice
        .node
        .invite("holders", &carol.wallet)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs 100"), "{err}");
    assert_eq!(alice.node.groups().await.unwrap()[0].members.len(), 2);

    // Bob, made an admin, still cannot add: only the sequencer admits.
    let bob_name = bob.node.name().to_string();
    alice
        .node
        .set_group_admin("holders", &bob_name, true)
        .await
        .unwrap();
    at_epoch(&mut bob, 2).await;
    bob.node.add_contact(carol.document.clone()).await.unwrap();
    let err = bob.node.invite("holders", &carol.wallet).await.unwrap_err();
    assert!(err.to_string().contains("only the sequencer"), "{err}");
    alice
        .node
        .send_group("holders", "holders only")
        .await
        .unwrap();
    assert_eq!(next_group_message(&mut bob.events).await, "holders only");
    for p in [&alice, &bob, &carol] {
        p.node.shutdown().await;
    }
}

/// An invite whose invitee's node is offline (and no other peer holds
/// their KeyPackage) fails with a typed error after the fetch deadline,
/// and the group is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_a_member_whose_key_package_nobody_serves_fails_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let alice = start_member(93, dir.path()).await;
    let bob = start_member(94, dir.path()).await;
    let bob_document = bob.document.clone();
    bob.node.shutdown().await;
    alice.node.add_contact(bob_document).await.unwrap();
    alice.node.create_group("alone").await.unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(40),
        alice.node.invite("alone", &bob.wallet),
    )
    .await
    .expect("the invite never answered");
    match result {
        Err(kaichi_transport::NodeError::KeyPackageUnavailable { member, .. }) => {
            assert_eq!(member, bob.keys.ipns().name());
        }
        other => panic!("expected KeyPackageUnavailable, got {other:?}"),
    }
    let groups = alice.node.groups().await.unwrap();
    assert_eq!(groups[0].members.len(), 1);
    assert_eq!(groups[0].epoch, 0);
}

/// A group message too large for gossip (here a 400 KiB text; a commit
/// adding hundreds of members is as large) goes by reference: members fetch
/// it over Bitswap, and one away at the time gets it, by reference too,
/// from the log when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_too_large_for_gossip_go_by_reference_live_and_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut alice = start_member(88, dir.path()).await;
    let mut bob = start_member(89, dir.path()).await;
    let mut carol = start_member(90, dir.path()).await;
    mesh(&[&alice, &bob, &carol]).await;
    alice.node.create_group("big").await.unwrap();
    alice.node.invite("big", &bob.wallet).await.unwrap();
    joined(&mut bob).await;
    alice.node.invite("big", &carol.wallet).await.unwrap();
    joined(&mut carol).await;
    at_epoch(&mut bob, 2).await;

    let long: String = (0..400 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    alice.node.send_group("big", &long).await.unwrap();
    assert_eq!(next_group_message(&mut bob.events).await.len(), long.len());
    assert_eq!(next_group_message(&mut carol.events).await, long);

    // Carol is away for the next one; back, she has it from the log.
    carol.node.shutdown().await;
    let longer = format!("{long}{long}");
    bob.node.send_group("big", &longer).await.unwrap();
    assert_eq!(next_group_message(&mut alice.events).await, longer);
    let mut carol = start_member(90, dir.path()).await;
    carol.node.dial(alice.addr.clone()).await.unwrap();
    assert_eq!(next_group_message(&mut carol.events).await, longer);
    for p in [&alice, &bob, &carol] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_added_from_key_packages_in_hand_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let alice = start_member(91, dir.path()).await;
    let group = alice.node.create_group("roster").await.unwrap().id;
    let kps = key_packages(9, 300);
    assert_eq!(alice.node.add_members(group, kps).await.unwrap(), 1);
    let g = &alice.node.groups().await.unwrap()[0];
    assert_eq!((g.epoch, g.members.len()), (1, 301));
    // Bounded: an oversized KeyPackage is refused before it reaches the group.
    let e = alice
        .node
        .add_members(group, vec![vec![0; 64 * 1024 + 1]])
        .await
        .unwrap_err();
    assert!(
        matches!(e, kaichi_transport::NodeError::TooManyMembers { .. }),
        "{e}"
    );
    // Garbage is a typed error, and changes nothing.
    assert!(
        alice
            .node
            .add_members(group, vec![b"junk".to_vec()])
            .await
            .is_err()
    );
    assert_eq!(alice.node.groups().await.unwrap()[0].epoch, 1);
    alice.node.shutdown().await;
}

/// Alice and Bob connect to `relay` and become contacts; returns the
/// KeyPackage Bob's document lists (fetched from his node).
async fn meet_at_relay(relay: &common::Peer, alice: &common::Peer, bob: &common::Peer) -> Vec<u8> {
    for p in [alice, bob] {
        p.node.dial(relay.addr.clone()).await.unwrap();
    }
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    bob.node.add_contact(alice.document.clone()).await.unwrap();
    let doc = kaichi_identity::document::verify_document(
        &bob.document,
        kaichi_test_support::identity::now(),
    )
    .unwrap();
    let kp_cid = cid::Cid::try_from(doc.key_packages()[0].as_slice()).unwrap();
    bob.node.get_block(&kp_cid).await.unwrap()
}

/// The inviter pushes the Welcome and tree to its relay, which fetches and
/// pins them: a new member who comes online when the inviter is gone joins
/// from the relay alone (the invitation waited in its mailbox there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_member_joins_from_a_relay_after_the_inviter_left() {
    let dir = tempfile::tempdir().unwrap();
    let relay = common::start_relay(100).await;
    let alice = start_member(101, dir.path()).await;
    let bob = start_member(102, dir.path()).await;
    // Bob's KeyPackage, as his document lists it, taken before he goes.
    let kp = meet_at_relay(&relay, &alice, &bob).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    bob.node.shutdown().await;

    let group = alice.node.create_group("later").await.unwrap().id;
    alice.node.add_members(group, vec![kp]).await.unwrap();
    // The relay fetches and pins the Welcome and tree; then Alice goes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    alice.node.shutdown().await;

    let mut bob = start_member(102, dir.path()).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    assert_eq!(joined(&mut bob).await, group);
    bob.node.shutdown().await;
    relay.node.shutdown().await;
}

/// A Welcome for several new members sent split (header, one shard per
/// member here, and their index): the relay pins every part by walking
/// from what the inviter asks, and a new member who comes online after the
/// inviter left fetches the index, the header and its own shard from the
/// relay alone, and joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_welcome_is_joined_from_a_relay_after_the_inviter_left() {
    let dir = tempfile::tempdir().unwrap();
    let relay = common::start_relay(110).await;
    let alice = common::start_member_with(111, dir.path(), |c| c.split_welcomes(0, 1)).await;
    let bob = start_member(112, dir.path()).await;
    let mut kps = vec![meet_at_relay(&relay, &alice, &bob).await];
    // Five more members, so that Bob's secret is one shard of six.
    kps.extend(key_packages(11, 5));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    bob.node.shutdown().await;

    let group = alice.node.create_group("split").await.unwrap().id;
    alice.node.add_members(group, kps).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    alice.node.shutdown().await;

    let mut bob = start_member(112, dir.path()).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    assert_eq!(joined(&mut bob).await, group);
    let g = bob.node.groups().await.unwrap();
    assert_eq!((g[0].epoch, g[0].members.len()), (1, 7));
    bob.node.shutdown().await;
    relay.node.shutdown().await;
}

/// A group whose ratchet tree is over 1 MiB travels as a chunked blob: the
/// new member fetches its chunks a window at a time, decodes them as they
/// arrive, and joins from the tree decoded (its Welcome split, as a large
/// group's is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_of_several_chunks_is_streamed_into_a_join() {
    let dir = tempfile::tempdir().unwrap();
    let alice = start_member(121, dir.path()).await;
    let mut bob = start_member(122, dir.path()).await;
    mesh(&[&alice, &bob]).await;
    let group = alice.node.create_group("large").await.unwrap().id;
    // About 237 bytes a member: 5,000 members are a tree of five chunks.
    let kps = key_packages(12, 5_000);
    assert_eq!(alice.node.add_members(group, kps).await.unwrap(), 1);
    assert_eq!(alice.node.invite("large", &bob.wallet).await.unwrap(), 2);
    assert_eq!(joined(&mut bob).await, group);
    let g = bob.node.groups().await.unwrap();
    assert_eq!((g[0].epoch, g[0].members.len()), (2, 5_002));
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
