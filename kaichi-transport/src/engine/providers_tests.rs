//! The provider state, fed events directly (no DHT).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use kaichi_privatelog::{ConversationId, EntryCid};
use libp2p::PeerId;

use super::{HeadChanges, MAX_PROVIDER_QUERIES, PROVIDER_LOOKUP_INTERVAL, Providers};

fn cid(n: u8) -> EntryCid {
    EntryCid::of(&[n])
}

fn conversation(n: u8) -> ConversationId {
    ConversationId::from_bytes([n; 32])
}

#[test]
fn announces_new_heads_and_withdraws_superseded_ones() {
    let mut p = Providers::<u32>::new();
    let id = conversation(1);
    p.heads_changed(id);
    p.heads_changed(id);
    assert_eq!(p.take_changed(), vec![id]);
    assert!(p.take_changed().is_empty());
    assert_eq!(
        p.provide(id, vec![cid(1), cid(2)]),
        HeadChanges {
            start: vec![cid(1), cid(2)],
            stop: vec![]
        }
    );
    assert_eq!(
        p.provide(id, vec![cid(2), cid(3)]),
        HeadChanges {
            start: vec![cid(3)],
            stop: vec![cid(1)]
        }
    );
    assert_eq!(p.provide(id, vec![cid(2), cid(3)]), HeadChanges::default());
}

#[test]
fn lookups_are_rate_limited_per_conversation_and_bounded_in_all() {
    let mut p = Providers::<u32>::new();
    let t0 = Instant::now();
    assert!(p.may_look_up(conversation(1), t0));
    assert!(!p.may_look_up(conversation(1), t0 + Duration::from_secs(1)));
    assert!(p.may_look_up(conversation(1), t0 + PROVIDER_LOOKUP_INTERVAL));
    for q in 0..MAX_PROVIDER_QUERIES as u32 {
        p.query_started(q, conversation(2), PeerId::random());
    }
    assert!(!p.may_look_up(conversation(3), t0));
}

#[test]
fn found_providers_skip_this_node_and_the_peer_tried_and_end_with_the_query() {
    let mut p = Providers::<u32>::new();
    let (me, tried) = (PeerId::random(), PeerId::random());
    let others: Vec<PeerId> = (0..5).map(|_| PeerId::random()).collect();
    p.query_started(7, conversation(1), tried);
    let mut found = vec![me, tried];
    found.extend(&others);
    let (id, peers) = p.found(&7, found.clone(), false, &me).unwrap();
    assert_eq!(id, conversation(1));
    assert_eq!(peers, others[..3].to_vec());
    // The last step ends the query; a later step for it is not ours.
    assert!(p.found(&7, found.clone(), true, &me).is_some());
    assert!(p.found(&7, found, true, &me).is_none());
    assert!(p.found(&8, vec![], true, &me).is_none());
}
