//! Group message handling with arbitrary bytes: Bob's view of a group with
//! Alice processes fuzzer-chosen `MLSMessage` bytes. Anything refused is a
//! typed error that leaves Bob's epoch and membership as they were; Bob can
//! still read Alice afterwards.
#![no_main]

use std::sync::{LazyLock, Mutex};

use kaichi_groups::{
    AdminPolicy, Candidate, Group, GroupEvent, MemberSigner, MemoryProvider, NewGroup, NoDevices,
    Outgoing, key_package,
};
use kaichi_identity::IpnsKeypair;
use libfuzzer_sys::fuzz_target;

struct World {
    alice: (MemoryProvider, MemberSigner, Group),
    bob: (MemoryProvider, Group),
}

static WORLD: LazyLock<Mutex<World>> = LazyLock::new(|| {
    let ap = MemoryProvider::default();
    let alice = MemberSigner::identity(IpnsKeypair::from_seed(&[1; 32]));
    let bp = MemoryProvider::default();
    let bob = MemberSigner::identity(IpnsKeypair::from_seed(&[2; 32]));
    let mut g = Group::create(&ap, &alice, NewGroup::named("fuzz")).unwrap();
    let kp = key_package(&bp, &bob, false).unwrap();
    let Ok(Outgoing::Commit(out)) =
        g.add(&ap, &alice, &AdminPolicy, &NoDevices, &[Candidate::new(kp)])
    else {
        panic!("setup")
    };
    let bg = Group::join(
        &bp,
        out.welcome.as_deref().unwrap(),
        out.ratchet_tree.as_deref(),
        &NoDevices,
    )
    .unwrap();
    Mutex::new(World {
        alice: (ap, alice, g),
        bob: (bp, bg),
    })
});

fuzz_target!(|data: &[u8]| {
    let mut w = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    let World { alice, bob } = &mut *w;
    let (epoch, members) = (bob.1.epoch(), bob.1.member_names());
    match bob.1.process(&bob.0, &AdminPolicy, &NoDevices, data) {
        Ok(GroupEvent::Message { .. }) | Ok(GroupEvent::Proposal { .. }) => {}
        Ok(other) => panic!("a forged message changed the group: {other:?}"),
        Err(_) => {
            assert_eq!(bob.1.epoch(), epoch);
            assert_eq!(bob.1.member_names(), members);
        }
    }
    // Proposals a fuzzer could never forge; clear any queued one anyway.
    let msg = alice.2.send(&alice.0, &alice.1, b"still here").unwrap();
    match bob.1.process(&bob.0, &AdminPolicy, &NoDevices, &msg) {
        Ok(GroupEvent::Message { text, .. }) => assert_eq!(text, b"still here"),
        other => panic!("the group broke: {other:?}"),
    }
});
