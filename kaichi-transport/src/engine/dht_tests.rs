//! The lookup state, fed events directly (no DHT).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_test_support::identity::keys;

use super::{LOOKUP_RETRIES, Lookups, MAX_LOOKUPS};
use crate::peer::Peer;
use kaichi_identity::WalletAddress;

fn target(seed: u8) -> Peer {
    Peer::Wallet(keys(seed).1.wallet())
}

#[test]
fn waiters_for_one_target_share_one_lookup() {
    let mut l = Lookups::<u32, &str>::new();
    let lookup = l.join(target(1), "first").unwrap().expect("a new lookup");
    l.started(7, lookup);
    assert!(l.join(target(1), "second").unwrap().is_none());
    let other = l.join(target(2), "other").unwrap().expect("another target");
    l.started(8, other);
    let done = l.finished(&7).unwrap();
    assert_eq!(done.target, target(1));
    assert_eq!(done.waiters, vec!["first", "second"]);
    assert!(l.finished(&7).is_none());
    // Finished: the next waiter starts a new lookup.
    assert!(l.join(target(1), "again").unwrap().is_some());
}

#[test]
fn too_many_lookups_give_the_waiter_back() {
    let mut l = Lookups::<usize, u32>::new();
    for i in 0..MAX_LOOKUPS {
        let mut bytes = [0; 32];
        bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let target = Peer::Wallet(WalletAddress::from_bytes(bytes));
        let lookup = l.join(target, 1).unwrap().expect("a new lookup");
        l.started(i, lookup);
    }
    assert_eq!(l.join(target(9), 42).err(), Some(42));
}

#[test]
fn a_lookup_is_for_its_target_only_and_retries_a_bounded_number_of_times() {
    let mut l = Lookups::<u32, ()>::new();
    let mut lookup = l.join(target(1), ()).unwrap().unwrap();
    assert!(lookup.is_for(&keys(1).1.public()));
    assert!(!lookup.is_for(&keys(2).1.public()));
    let by_name = Peer::Name(keys(1).1.ipns().name());
    assert!(
        l.join(by_name, ())
            .unwrap()
            .unwrap()
            .is_for(&keys(1).1.public())
    );
    for _ in 0..LOOKUP_RETRIES {
        lookup = lookup.retry().ok().expect("tries left");
    }
    assert!(lookup.retry().is_err());
}
