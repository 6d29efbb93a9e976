//! The lookup state machine, fed results directly (no DHT).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use kaichi_identity::{IdentityPublic, WalletAddress};
use kaichi_privatelog::{BlockCid, Root, RootCid};
use kaichi_test_support::identity::keys;
use libp2p::PeerId;

use super::{Dropped, Lookups, MAX_CANDIDATES, MAX_LOOKUPS, Next, STEP_TIMEOUT};
use crate::peer::Peer;

fn public(seed: u8) -> IdentityPublic {
    keys(seed).1.public()
}

fn peer_id(seed: u8) -> PeerId {
    *public(seed).ipns_name().peer_id()
}

fn doc_cid(seed: u8) -> BlockCid {
    BlockCid::of(&[seed])
}

fn root_cid(seed: u8) -> RootCid {
    RootCid::of(&[seed])
}

#[test]
fn waiters_for_one_target_share_one_lookup() {
    let mut l = Lookups::<&str>::new();
    let now = Instant::now();
    let by_wallet = Peer::Wallet(public(1).wallet);
    let (id, next) = l
        .join(by_wallet, "first", now)
        .unwrap()
        .expect("a new lookup");
    assert_eq!(next, Next::Providers(public(1).wallet));
    assert!(l.join(by_wallet, "second", now).unwrap().is_none());
    let by_name = Peer::Name(public(2).ipns_name());
    let (other, next) = l.join(by_name, "other", now).unwrap().unwrap();
    assert_ne!(id, other);
    assert_eq!(next, Next::Record(public(2).ipns_name()));
    assert_eq!(l.finish(id).unwrap().waiters, vec!["first", "second"]);
    assert!(l.finish(id).is_none());
    assert!(l.join(by_wallet, "again", now).unwrap().is_some());
}

#[test]
fn a_wallet_is_found_through_its_provider_record_and_spoofers_are_dropped() {
    let mut l = Lookups::<()>::new();
    let now = Instant::now();
    let alice = public(1);
    let (id, _) = l
        .join(Peer::Wallet(alice.wallet), (), now)
        .unwrap()
        .unwrap();
    // A spoofer (seed 9) provides Alice's wallet key too, and is found first.
    let next = l.providers(id, [peer_id(9), peer_id(1), peer_id(9)], now);
    assert_eq!(next, Some(Next::Record(public(9).ipns_name())));
    assert_eq!(
        l.record(id, Some(root_cid(9)), now),
        Some(Next::Root(public(9).ipns_name(), root_cid(9)))
    );
    assert!(l.wants_root(id));
    assert_eq!(
        l.root(id, Some(Root::new(doc_cid(9))), now),
        Some(Next::Document(public(9).ipns_name(), doc_cid(9)))
    );
    assert!(!l.wants_root(id));
    // Its document is valid, but its own: dropped as a spoofer.
    assert_eq!(
        l.document(id, Some(public(9)), now),
        Some((
            Next::Record(alice.ipns_name()),
            Some((public(9).ipns_name(), Dropped::Spoofed))
        ))
    );
    assert_eq!(
        l.record(id, Some(root_cid(1)), now),
        Some(Next::Root(alice.ipns_name(), root_cid(1)))
    );
    assert_eq!(
        l.root(id, Some(Root::new(doc_cid(1))), now),
        Some(Next::Document(alice.ipns_name(), doc_cid(1)))
    );
    assert_eq!(
        l.document(id, Some(alice), now),
        Some((Next::Done(alice), None))
    );
}

#[test]
fn a_lookup_fails_when_no_candidate_is_left() {
    let mut l = Lookups::<()>::new();
    let now = Instant::now();
    let (id, _) = l
        .join(Peer::Wallet(public(1).wallet), (), now)
        .unwrap()
        .unwrap();
    assert_eq!(l.providers(id, [], now), Some(Next::Failed));
    let name = public(2).ipns_name();
    let (id, _) = l.join(Peer::Name(name), (), now).unwrap().unwrap();
    assert_eq!(l.record(id, None, now), Some(Next::Failed));
    let (id, _) = l
        .join(Peer::Name(public(3).ipns_name()), (), now)
        .unwrap()
        .unwrap();
    l.record(id, Some(root_cid(3)), now);
    l.root(id, Some(Root::new(doc_cid(3))), now);
    assert_eq!(
        l.document(id, None, now),
        Some((
            Next::Failed,
            Some((public(3).ipns_name(), Dropped::Unavailable))
        ))
    );
    // Results for a step the lookup is not at are ignored.
    assert_eq!(l.providers(id, [peer_id(1)], now), None);
    // A name whose root does not arrive (or is no root) moves on.
    let (id, _) = l
        .join(Peer::Name(public(4).ipns_name()), (), now)
        .unwrap()
        .unwrap();
    l.record(id, Some(root_cid(4)), now);
    assert_eq!(l.root(id, None, now), Some(Next::Failed));
}

#[test]
fn candidates_are_bounded_and_slow_steps_move_on() {
    let mut l = Lookups::<()>::new();
    let t0 = Instant::now();
    let (id, _) = l
        .join(Peer::Wallet(public(1).wallet), (), t0)
        .unwrap()
        .unwrap();
    let many: Vec<PeerId> = (0..20).map(|_| PeerId::random()).collect();
    let first = l.providers(id, many.clone(), t0).unwrap();
    assert_eq!(
        first,
        Next::Record(kaichi_identity::IpnsName::from_peer_id(many[0]))
    );
    assert!(l.timed_out(t0).is_empty());
    let mut tried = 1;
    let mut now = t0;
    loop {
        now += STEP_TIMEOUT;
        let late = l.timed_out(now);
        assert_eq!(late.len(), 1);
        match &late[0].1 {
            Next::Record(_) => tried += 1,
            Next::Failed => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(tried, MAX_CANDIDATES);
}

#[test]
fn too_many_lookups_give_the_waiter_back() {
    let mut l = Lookups::<u32>::new();
    let now = Instant::now();
    for i in 0..MAX_LOOKUPS {
        let mut bytes = [0; 32];
        bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let target = Peer::Wallet(WalletAddress::from_bytes(bytes));
        assert!(l.join(target, 1, now).unwrap().is_some());
    }
    assert_eq!(
        l.join(Peer::Wallet(public(9).wallet), 42, now).err(),
        Some(42)
    );
}
