//! The mls-rs engine's message handling with arbitrary bytes: Bob's view
//! (`RsGroup`) of a group with Alice and Carol processes fuzzer-chosen
//! `MLSMessage` bytes. Anything refused is a typed error that leaves Bob's
//! epoch and membership as they were; Bob can still read Alice afterwards.
//! Built with debug assertions (cargo-fuzz's default), mls-rs also decodes
//! every update path's ciphertexts the way it did before Kaichi's patch 14
//! and fails on any difference (`third_party/mls-rs/KAICHI.md`).
#![no_main]

use std::sync::{Arc, LazyLock, Mutex};

use kaichi_groups::mlsrs::{RsGroup, RsMember};
use kaichi_groups::{
    AdminPolicy, Candidate, GroupEvent, MemberSigner, NewGroup, NoDevices, Outgoing,
};
use kaichi_identity::IpnsKeypair;
use libfuzzer_sys::fuzz_target;

struct World {
    alice: RsGroup<AdminPolicy>,
    bob: RsGroup<AdminPolicy>,
}

fn member(seed: u8) -> RsMember<AdminPolicy> {
    let me = MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32]));
    RsMember::new(&me, AdminPolicy, Arc::new(NoDevices))
}

static WORLD: LazyLock<Mutex<World>> = LazyLock::new(|| {
    let (a, b, c) = (member(1), member(2), member(3));
    let mut alice = a.create(NewGroup::named("fuzz")).unwrap();
    let candidates = [
        Candidate::new(b.key_package().unwrap()),
        Candidate::new(c.key_package().unwrap()),
    ];
    let Ok(Outgoing::Commit(out)) = alice.add(&candidates) else {
        panic!("setup")
    };
    let bob = b
        .join(out.welcome.as_deref().unwrap(), out.ratchet_tree.as_deref())
        .unwrap();
    Mutex::new(World { alice, bob })
});

fuzz_target!(|data: &[u8]| {
    let mut w = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    let World { alice, bob } = &mut *w;
    let (epoch, members) = (bob.epoch(), bob.member_names());
    match bob.process(data) {
        Ok(GroupEvent::Message { .. }) | Ok(GroupEvent::Proposal { .. }) => {}
        Ok(other) => panic!("a forged message changed the group: {other:?}"),
        Err(_) => {
            assert_eq!(bob.epoch(), epoch);
            assert_eq!(bob.member_names(), members);
        }
    }
    let msg = alice.send(b"still here").unwrap();
    match bob.process(&msg) {
        Ok(GroupEvent::Message { text, .. }) => assert_eq!(text, b"still here"),
        other => panic!("the group broke: {other:?}"),
    }
});
