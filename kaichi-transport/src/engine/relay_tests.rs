//! The relay state, fed events directly (no swarm).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use kaichi_groups::{GroupId, MessageInfo, MessageKind};
use kaichi_identity::IpnsName;
use kaichi_privatelog::{Conversation, Message};
use kaichi_test_support::identity::keys;
use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, TopicHash};

use super::{Follow, Relay, RelayLimits};
use crate::engine::{group_topic, inbox_topic};

const LIMITS: RelayLimits = RelayLimits {
    retention: Duration::from_secs(60),
    max_per_topic: 3,
    max_topics: 2,
    max_bytes: 1 << 20,
    publisher_rate: crate::config::RateLimit {
        per_second: 10,
        burst: 20,
    },
    inbox_rate: crate::config::RateLimit {
        per_second: 100,
        burst: 100,
    },
    connection_rate: crate::config::RateLimit {
        per_second: 50,
        burst: 50,
    },
};

/// Something shaped like a sealed notification, told apart by `i`.
fn sealed(i: u8) -> Vec<u8> {
    let mut v = vec![1u8; 60];
    v[1] = i;
    v
}

/// Sent directly by a publisher.
fn direct(seed: u8) -> (Option<PeerId>, PeerId) {
    let peer = inbox(seed).0;
    (Some(peer), peer)
}

/// Signed by `publisher`, sent by `from`.
fn forwarded(publisher: u8, from: u8) -> (Option<PeerId>, PeerId) {
    (Some(inbox(publisher).0), inbox(from).0)
}

fn relay() -> Relay {
    Relay::new(Some(LIMITS))
}

/// A peer and its inbox topic.
fn inbox(seed: u8) -> (PeerId, TopicHash) {
    let (_, k) = keys(seed);
    let peer = k.ipns().public().to_libp2p().to_peer_id();
    (peer, inbox_topic(&IpnsName::from_peer_id(peer)).hash())
}

fn followed_inbox(relay: &mut Relay, seed: u8) -> (PeerId, TopicHash) {
    let (peer, topic) = inbox(seed);
    let own = inbox(99).1;
    assert_eq!(relay.to_follow(&topic, &own), Some(Follow::Inbox));
    relay.followed(topic.clone(), Follow::Inbox);
    (peer, topic)
}

#[test]
fn a_node_that_is_not_a_relay_follows_and_holds_nothing() {
    let mut r = Relay::new(None);
    let (peer, topic) = inbox(1);
    assert_eq!(r.to_follow(&topic, &inbox(99).1), None);
    assert_eq!(r.gossip(&topic, sealed(1), direct(5), Instant::now()), None);
    assert!(r.drain_mailbox(&peer, Instant::now()).is_empty());
    let now = kaichi_test_support::identity::now();
    assert!(r.admit_pins(&peer, &[vec![0; 8]], now).is_empty());
}

#[test]
fn follows_inboxes_and_groups_but_not_its_own_inbox_nor_past_the_limit() {
    let mut r = relay();
    let own = inbox(99).1;
    assert_eq!(r.to_follow(&own, &own), None);
    assert_eq!(r.to_follow(&TopicHash::from_raw("/other/1"), &own), None);
    let group = group_topic(&GroupId::from_bytes([7; 32])).hash();
    assert_eq!(r.to_follow(&group, &own), Some(Follow::Group));
    followed_inbox(&mut r, 1);
    followed_inbox(&mut r, 2);
    // Already followed, and the third inbox is past `max_topics`.
    assert_eq!(r.to_follow(&inbox(1).1, &own), None);
    assert_eq!(r.to_follow(&inbox(3).1, &own), None);
}

#[test]
fn a_mailbox_keeps_the_newest_unexpired_notifications_for_its_owner_only() {
    let mut r = relay();
    let (owner, topic) = followed_inbox(&mut r, 1);
    let (stranger, _) = inbox(2);
    let t0 = Instant::now();
    for i in 0..5u8 {
        let at = t0 + Duration::from_secs(u64::from(i));
        assert_eq!(
            r.gossip(&topic, sealed(i), direct(5), at),
            Some(MessageAcceptance::Accept)
        );
    }
    // Only the owner's PeerId opens its mailbox.
    assert!(r.drain_mailbox(&stranger, t0).is_empty());
    // At most three, the oldest dropped; the one held at t0+2 s expires
    // 60 s later.
    let later = t0 + Duration::from_secs(62) + Duration::from_millis(500);
    assert_eq!(r.drain_mailbox(&owner, later), vec![sealed(3), sealed(4)]);
    // Drained: empty now.
    assert!(r.drain_mailbox(&owner, later).is_empty());
}

#[test]
fn a_group_topic_refuses_what_is_not_a_group_message() {
    let mut r = relay();
    let group = group_topic(&GroupId::from_bytes([7; 32])).hash();
    r.followed(group.clone(), Follow::Group);
    assert_eq!(
        r.gossip(&group, b"not mls".to_vec(), direct(5), Instant::now()),
        Some(MessageAcceptance::Reject)
    );
    assert!(r.held_group_log(&[7; 32], 0).is_empty());
}

#[test]
fn a_held_group_log_comes_back_in_apply_order_from_the_asked_epoch() {
    let mut r = relay();
    let id = GroupId::from_bytes([7; 32]);
    let topic = group_topic(&id).hash();
    r.followed(topic.clone(), Follow::Group);
    let now = Instant::now();
    let held = [
        (2, MessageKind::Commit, 1u8),
        (2, MessageKind::Application, 2),
        (1, MessageKind::Commit, 3),
    ];
    for (epoch, kind, byte) in held {
        let info = MessageInfo {
            group: id,
            epoch,
            kind,
        };
        r.hold_group_message(&topic, info, vec![byte], now);
    }
    assert_eq!(
        r.held_group_log(id.as_bytes(), 0),
        vec![vec![3], vec![2], vec![1]]
    );
    assert_eq!(r.held_group_log(id.as_bytes(), 2), vec![vec![2], vec![1]]);
    assert!(r.held_group_log(&[8; 32], 0).is_empty());
    assert!(r.held_group_log(b"short", 0).is_empty());
}

#[test]
fn pins_only_signed_entries_within_the_peer_limit() {
    let (_, alice) = keys(1);
    let (_, bob) = keys(2);
    let mut conv = Conversation::new(&alice, &bob.public()).unwrap();
    let entry = conv
        .append(
            alice.ipns(),
            &Message::text(String::from("hi"), 1),
            &[0; 16],
        )
        .unwrap();
    let mut r = relay();
    let (p1, p2, p3) = (inbox(1).0, inbox(2).0, inbox(3).0);
    let now = kaichi_test_support::identity::now();
    let (_, _, doc) = kaichi_test_support::identity::identity(1);
    let admitted = r.admit_pins(
        &p1,
        &[b"junk".to_vec(), entry.block().to_vec(), doc.clone()],
        now,
    );
    assert_eq!(
        admitted,
        vec![
            (entry.cid().to_cid(), entry.block().to_vec(), None),
            (kaichi_privatelog::BlockCid::of(&doc).to_cid(), doc, None)
        ]
    );
    assert_eq!(r.admit_pins(&p2, &[entry.block().to_vec()], now).len(), 1);
    // A third pinning peer is past `max_topics`.
    assert!(r.admit_pins(&p3, &[entry.block().to_vec()], now).is_empty());
    // One request carries at most MAX_PIN_BYTES.
    let big = vec![entry.block().to_vec(); super::MAX_PIN_BYTES / entry.block().len() + 2];
    assert!(r.admit_pins(&p1, &big, now).len() < big.len());
}

#[test]
fn relays_used_are_bounded_and_forgotten_on_disconnect() {
    let mut r = Relay::new(None);
    let peers: Vec<PeerId> = (0..20).map(|_| PeerId::random()).collect();
    for p in &peers {
        r.relay_identified(*p);
    }
    assert_eq!(r.pin_targets().count(), super::MAX_RELAYS);
    for p in &peers {
        r.disconnected(p);
    }
    assert_eq!(r.pin_targets().count(), 0);
}

#[test]
fn an_inbox_takes_only_sealed_shapes_from_a_known_publisher() {
    let mut r = relay();
    let (_, topic) = followed_inbox(&mut r, 1);
    let now = Instant::now();
    for junk in [vec![], vec![1; 10], vec![2; 60]] {
        assert_eq!(
            r.gossip(&topic, junk, direct(5), now),
            Some(MessageAcceptance::Reject)
        );
    }
    assert_eq!(
        r.gossip(&topic, sealed(0), (None, inbox(5).0), now),
        Some(MessageAcceptance::Reject),
        "an anonymous message"
    );
    assert_eq!(r.held_bytes(&topic), 0);
}

#[test]
fn a_flooding_publisher_is_refused_then_disconnected_and_others_go_on() {
    let mut r = relay();
    let (_, topic) = followed_inbox(&mut r, 1);
    let now = Instant::now();
    let flooder = direct(5);
    let accepted = (0..super::DISCONNECT_AFTER + 100)
        .filter(|i| {
            r.gossip(&topic, sealed(*i as u8), flooder, now) == Some(MessageAcceptance::Accept)
        })
        .count();
    assert_eq!(accepted, 20, "the burst, then nothing");
    assert_eq!(r.take_abusers(), vec![flooder.0.unwrap()]);
    assert!(r.take_abusers().is_empty(), "once");
    // Another publisher still gets through; one forwarded past its rate is
    // ignored, not held against the forwarder.
    assert_eq!(
        r.gossip(&topic, sealed(1), direct(6), now),
        Some(MessageAcceptance::Accept)
    );
    assert_eq!(
        r.gossip(&topic, sealed(1), forwarded(5, 7), now),
        Some(MessageAcceptance::Ignore)
    );
    // A second later, ten more from the flooder.
    let later = now + Duration::from_secs(1);
    let again = (0..50)
        .filter(|i| r.gossip(&topic, sealed(*i), flooder, later) == Some(MessageAcceptance::Accept))
        .count();
    assert_eq!(again, 10);
}

/// Many publisher keys made up by one peer, all sent over its one
/// connection: past the connection's budget every one is refused, whoever
/// signed it, and the peer is disconnected; another peer's notification to
/// the same inbox still gets through.
#[test]
fn many_keys_over_one_connection_share_one_budget() {
    let mut r = relay();
    let (_, topic) = followed_inbox(&mut r, 1);
    let (_, topic2) = followed_inbox(&mut r, 2);
    let now = Instant::now();
    let sybil = 40u8;
    let mut accepted = 0;
    let mut rejected = 0;
    // 50 keys, each well under its own publisher rate, spread over two
    // inboxes: only the connection's budget binds.
    for i in 0..(super::DISCONNECT_AFTER as usize + 50) {
        let key = 100 + (i % 50) as u8;
        let t = if i % 2 == 0 { &topic } else { &topic2 };
        match r.gossip(t, sealed(i as u8), forwarded(key, sybil), now) {
            Some(MessageAcceptance::Accept) => accepted += 1,
            Some(MessageAcceptance::Reject) => rejected += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, 50, "the connection's burst");
    assert_eq!(rejected, super::DISCONNECT_AFTER as usize);
    assert_eq!(r.take_abusers(), vec![inbox(sybil).0]);
    assert_eq!(
        r.gossip(&topic, sealed(3), direct(6), now),
        Some(MessageAcceptance::Accept),
        "an honest publisher is not held back"
    );
}
