//! Bad input: commits from non-sequencers and non-members, replays,
//! reordering, two commits for one epoch, malformed bytes, unbound
//! credentials. Each is a typed error that leaves the group as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Client;
use kaichi_groups::{
    AdminPolicy, Candidate, GroupEvent, KeyPackageError, MemberSigner, NoDevices, Outgoing,
    ProcessError, key_package,
};
use kaichi_identity::{IpnsKeypair, IpnsName, IpnsPublicKey};
use openmls::treesync::LeafNodeParameters;

/// alice (sequencer), bob, carol in one group at epoch 1.
fn three() -> (Client, Client, Client) {
    let (mut alice, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    alice.create("g");
    let out = alice.add(&[&bob, &carol]);
    bob.join(&out);
    carol.join(&out);
    (alice, bob, carol)
}

/// The group still works: `from` sends, `to` reads.
fn still_works(from: &mut Client, to: &mut Client) {
    let m = from.send("still fine");
    assert_eq!(to.read(&m), "still fine");
}

#[test]
fn a_commit_from_a_member_who_is_not_the_sequencer_is_refused() {
    let (mut alice, mut bob, mut carol) = three();
    // Bob goes around the API and commits directly through openmls.
    let g = bob.group.as_mut().unwrap();
    let bundle = g
        .as_mls_mut()
        .self_update(&bob.provider, &bob.me, LeafNodeParameters::default())
        .unwrap();
    let (commit, _, _) = bundle.into_contents();
    let bytes = tls_codec::Serialize::tls_serialize_detached(&commit).unwrap();
    for c in [&mut alice, &mut carol] {
        assert!(matches!(c.process(&bytes), Err(ProcessError::Policy(_))));
        assert_eq!(c.group.as_mut().unwrap().epoch(), 1);
    }
    still_works(&mut alice, &mut carol);
}

#[test]
fn two_commits_for_one_epoch_the_sequencers_wins_everywhere() {
    let (mut alice, mut bob, mut carol) = three();
    let dave = Client::new(4);
    // A rogue commit by Bob and the sequencer's commit, both for epoch 1.
    let rogue = {
        let g = bob.group.as_mut().unwrap();
        let (c, _, _) = g
            .as_mls_mut()
            .self_update(&bob.provider, &bob.me, LeafNodeParameters::default())
            .unwrap()
            .into_contents();
        tls_codec::Serialize::tls_serialize_detached(&c).unwrap()
    };
    let good = alice.add(&[&dave]);
    // Carol sees the sequencer's first: the rogue one is stale after it.
    carol.process(&good.commit).unwrap();
    assert!(matches!(
        carol.process(&rogue),
        Err(ProcessError::StaleEpoch { .. })
    ));
    // Bob (his pending commit discarded) gets his own rogue commit back
    // first: refused (openmls does not process its own messages), then the
    // sequencer's applies.
    bob.group
        .as_mut()
        .unwrap()
        .as_mls_mut()
        .clear_pending_commit(openmls_traits::OpenMlsProvider::storage(&bob.provider))
        .unwrap();
    assert!(bob.process(&rogue).is_err());
    assert_eq!(bob.group.as_mut().unwrap().epoch(), 1);
    bob.process(&good.commit).unwrap();
    assert_eq!(bob.group.as_mut().unwrap().epoch(), 2);
    assert_eq!(carol.group.as_mut().unwrap().epoch(), 2);
    still_works(&mut bob, &mut carol);
}

#[test]
fn replays_and_reordering() {
    let (mut alice, mut bob, _carol) = three();
    let m1 = alice.send("one");
    let m2 = alice.send("two");
    // Reordered application messages both read.
    assert_eq!(bob.read(&m2), "two");
    assert_eq!(bob.read(&m1), "one");
    // A replayed application message is refused.
    assert!(matches!(bob.process(&m1), Err(ProcessError::Mls(_))));
    // A replayed commit is stale.
    let c = alice.commit_update();
    bob.process(&c.commit).unwrap();
    assert!(matches!(
        bob.process(&c.commit),
        Err(ProcessError::StaleEpoch { .. })
    ));
    still_works(&mut alice, &mut bob);
}

#[test]
fn malformed_bytes_are_typed_errors_and_change_nothing() {
    let (mut alice, mut bob, _carol) = three();
    let good = alice.send("intact");
    let epoch = bob.group.as_mut().unwrap().epoch();
    assert!(matches!(bob.process(&[]), Err(ProcessError::Decode)));
    assert!(matches!(bob.process(b"garbage"), Err(ProcessError::Decode)));
    assert!(matches!(
        bob.process(&good[..good.len() / 2]),
        Err(ProcessError::Decode)
    ));
    // A KeyPackage is an MLSMessage, but not a group message.
    let kp = Client::new(9).key_package();
    assert!(matches!(
        bob.process(&kp),
        Err(ProcessError::NotAGroupMessage)
    ));
    // Every single-bit flip is refused (or, in padding, still authentic).
    for i in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        if let Ok(GroupEvent::Message { text, .. }) = bob.process(&bad) {
            panic!("a corrupted message read as {text:?}");
        }
    }
    // A message for another group.
    let mut other = Client::new(5);
    other.create("other");
    let foreign = other.send("elsewhere");
    assert!(matches!(
        bob.process(&foreign),
        Err(ProcessError::WrongGroup)
    ));
    assert_eq!(bob.group.as_mut().unwrap().epoch(), epoch);
    assert_eq!(bob.read(&good), "intact");
}

#[test]
fn a_non_member_cannot_inject_messages() {
    let (mut alice, mut bob, _carol) = three();
    // Mallory copies the group id into a group of her own.
    let mut mallory = Client::new(66);
    mallory.create("fake");
    let forged = mallory.send("let me in");
    assert!(bob.process(&forged).is_err());
    still_works(&mut alice, &mut bob);
}

struct Vouch(IpnsName, IpnsPublicKey);

impl kaichi_groups::DeviceDirectory for Vouch {
    fn is_device_of(&self, identity: &IpnsName, key: &IpnsPublicKey) -> bool {
        *identity == self.0 && *key == self.1
    }
}

#[test]
fn credentials_must_bind_names_to_keys() {
    let mut alice = Client::new(1);
    alice.create("g");
    // Mallory's key under Bob's name.
    let bob_name = IpnsKeypair::from_seed(&[2; 32]).name();
    let mallory_key = IpnsKeypair::from_seed(&[66; 32]);
    let mallory_pub = mallory_key.public();
    let impostor = MemberSigner::device(bob_name, mallory_key);
    let kp = key_package(&alice.provider, &impostor, false).unwrap();
    let err = alice
        .group
        .as_mut()
        .unwrap()
        .add(
            &alice.provider,
            &alice.me,
            &AdminPolicy,
            &NoDevices,
            &[Candidate::new(kp.clone())],
        )
        .unwrap_err();
    assert!(matches!(
        err,
        kaichi_groups::AddError::KeyPackage(KeyPackageError::Credential(_))
    ));
    assert_eq!(alice.group.as_mut().unwrap().epoch(), 0);
    // The same key, granted as Bob's device, is accepted.
    let out = alice
        .group
        .as_mut()
        .unwrap()
        .add(
            &alice.provider,
            &alice.me,
            &AdminPolicy,
            &Vouch(bob_name, mallory_pub),
            &[Candidate::new(kp)],
        )
        .unwrap();
    assert!(matches!(out, Outgoing::Commit(_)));
}

#[test]
fn a_welcome_with_an_unbound_member_is_refused() {
    let mut alice = Client::new(1);
    alice.create("g");
    let impostor = MemberSigner::device(
        IpnsKeypair::from_seed(&[2; 32]).name(),
        IpnsKeypair::from_seed(&[66; 32]),
    );
    let victim_p = kaichi_groups::MemoryProvider::default();
    let kp = key_package(&victim_p, &impostor, false).unwrap();
    // Alice vouches for the device; a joiner without that knowledge refuses.
    let Outgoing::Commit(out) = alice
        .group
        .as_mut()
        .unwrap()
        .add(
            &alice.provider,
            &alice.me,
            &AdminPolicy,
            &Vouch(
                impostor.name(),
                IpnsPublicKey::from_bytes(&impostor.public_key()).unwrap(),
            ),
            &[Candidate::new(kp)],
        )
        .unwrap()
    else {
        panic!()
    };
    let err = kaichi_groups::Group::join(
        &victim_p,
        out.welcome.as_deref().unwrap(),
        out.ratchet_tree.as_deref(),
        &NoDevices,
    )
    .unwrap_err();
    assert!(matches!(err, kaichi_groups::JoinError::Credential { .. }));
}
