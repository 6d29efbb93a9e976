//! Three to five members: create, invite, chat, remove, self-update,
//! metadata and sequencer hand-over, catching up after several epochs,
//! and persistence in SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Client;
use kaichi_groups::{
    AdminPolicy, Group, GroupDatabase, GroupEvent, MemberSigner, NoDevices, Outgoing, ProcessError,
    key_package,
};
use kaichi_identity::IpnsKeypair;

#[test]
fn create_invite_chat_remove() {
    let (mut alice, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    alice.create("friends");
    let out = alice.add(&[&bob, &carol]);
    bob.join(&out);
    carol.join(&out);
    assert_eq!(bob.group.as_mut().unwrap().metadata().name, "friends");
    assert_eq!(
        bob.group.as_mut().unwrap().member_names(),
        alice.group.as_mut().unwrap().member_names()
    );
    assert_eq!(alice.group.as_mut().unwrap().epoch(), 1);

    let m = bob.send("hi all");
    assert_eq!(alice.read(&m), "hi all");
    assert_eq!(carol.read(&m), "hi all");

    // Alice removes Carol; Carol learns it, and cannot read what follows.
    let Outgoing::Commit(c) = alice
        .group
        .as_mut()
        .unwrap()
        .remove(&alice.provider, &alice.me, &AdminPolicy, &[carol.name()])
        .unwrap()
    else {
        panic!("the sequencer commits")
    };
    match bob.process(&c.commit).unwrap() {
        GroupEvent::Commit { removed, epoch, .. } => {
            assert_eq!(removed, vec![carol.name()]);
            assert_eq!(epoch, 2);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        carol.process(&c.commit).unwrap(),
        GroupEvent::RemovedSelf { .. }
    ));
    assert!(!carol.group.as_mut().unwrap().is_active());
    let secret = alice.send("carol cannot read this");
    assert_eq!(bob.read(&secret), "carol cannot read this");
    assert!(carol.process(&secret).is_err());
    assert!(
        carol
            .group
            .as_mut()
            .unwrap()
            .send(&carol.provider, &carol.me, b"x")
            .is_err()
    );
}

#[test]
fn members_propose_and_the_sequencer_commits() {
    let (mut alice, mut bob, mut carol, dave) = (
        Client::new(1),
        Client::new(2),
        Client::new(3),
        Client::new(4),
    );
    alice.create("g");
    let out = alice.add(&[&bob, &carol]);
    bob.join(&out);
    carol.join(&out);

    // Bob's self-update is a proposal; Alice commits it.
    let Outgoing::Proposals(ps) = bob
        .group
        .as_mut()
        .unwrap()
        .self_update(&bob.provider, &bob.me)
        .unwrap()
    else {
        panic!("a member proposes")
    };
    for p in &ps {
        assert!(matches!(
            alice.process(p).unwrap(),
            GroupEvent::Proposal { .. }
        ));
        assert!(matches!(
            carol.process(p).unwrap(),
            GroupEvent::Proposal { .. }
        ));
    }
    let c = alice
        .group
        .as_mut()
        .unwrap()
        .commit_pending(&alice.provider, &alice.me, &AdminPolicy)
        .unwrap();
    assert!(matches!(
        bob.process(&c.commit).unwrap(),
        GroupEvent::Commit { epoch: 2, .. }
    ));
    assert!(matches!(
        carol.process(&c.commit).unwrap(),
        GroupEvent::Commit { epoch: 2, .. }
    ));

    // A non-admin may not add; Alice makes Bob an admin and hands him the
    // sequencer role; then Bob adds Dave himself.
    let kp = dave.key_package();
    assert!(matches!(
        carol.group.as_mut().unwrap().add(
            &carol.provider,
            &carol.me,
            &AdminPolicy,
            &NoDevices,
            &[kaichi_groups::Candidate::new(kp.clone())]
        ),
        Err(kaichi_groups::AddError::Policy(_))
    ));
    let mut meta = alice.group.as_mut().unwrap().metadata().clone();
    meta.admins.push(bob.name());
    meta.sequencer = Some(bob.name());
    meta.name = "renamed".into();
    let Outgoing::Commit(c) = alice
        .group
        .as_mut()
        .unwrap()
        .set_metadata(&alice.provider, &alice.me, &AdminPolicy, meta)
        .unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        bob.process(&c.commit).unwrap(),
        GroupEvent::Commit {
            metadata_changed: true,
            ..
        }
    ));
    carol.process(&c.commit).unwrap();
    assert_eq!(carol.group.as_mut().unwrap().metadata().name, "renamed");
    assert!(bob.group.as_mut().unwrap().is_sequencer(&bob.me));

    let mut dave = dave;
    let out = bob.add(&[&dave]);
    dave.join(&out);
    alice.process(&out.commit).unwrap();
    carol.process(&out.commit).unwrap();
    let m = dave.send("hello from dave");
    for c in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(c.read(&m), "hello from dave");
    }
    // Alice's commits are refused now that she is not the sequencer.
    assert!(matches!(
        alice
            .group
            .as_mut()
            .unwrap()
            .self_update(&alice.provider, &alice.me)
            .unwrap(),
        Outgoing::Proposals(_)
    ));
}

#[test]
fn a_member_offline_for_several_epochs_catches_up_in_order() {
    let (mut alice, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    alice.create("g");
    let out = alice.add(&[&bob, &carol]);
    bob.join(&out);
    carol.join(&out);
    // Carol is away while four epochs pass.
    let mut log = Vec::new();
    for i in 0..4 {
        let c = alice.commit_update();
        bob.process(&c.commit).unwrap();
        log.push(c.commit);
        let m = alice.send(&format!("epoch {}", i + 2));
        assert_eq!(bob.read(&m), format!("epoch {}", i + 2));
        log.push(m);
    }
    // Out of order: a later commit first is refused, and changes nothing.
    assert!(matches!(
        carol.process(&log[2]),
        Err(ProcessError::FutureEpoch {
            message: 2,
            current: 1
        })
    ));
    assert_eq!(carol.group.as_mut().unwrap().epoch(), 1);
    // In order, everything applies and every message reads.
    for bytes in &log {
        carol.process(bytes).unwrap();
    }
    assert_eq!(carol.group.as_mut().unwrap().epoch(), 5);
    let m = carol.send("back");
    assert_eq!(alice.read(&m), "back");
}

#[test]
fn late_messages_read_within_the_past_epochs_kept() {
    let (mut alice, mut bob, mut carol) = (Client::new(1), Client::new(2), Client::new(3));
    alice.create("g");
    let out = alice.add(&[&bob, &carol]);
    bob.join(&out);
    carol.join(&out);
    assert_eq!(
        bob.group().past_epochs(),
        Some(kaichi_groups::DEFAULT_PAST_EPOCHS)
    );
    let cp = &carol.provider;
    carol
        .group
        .as_mut()
        .unwrap()
        .set_past_epochs(cp, 0)
        .unwrap();
    assert!(matches!(
        carol
            .group
            .as_mut()
            .unwrap()
            .set_past_epochs(cp, kaichi_groups::MAX_PAST_EPOCHS + 1),
        Err(kaichi_groups::SettingsError::TooManyPastEpochs(_))
    ));
    assert_eq!(
        carol.group().past_epochs(),
        Some(0),
        "a refused setting changes nothing"
    );

    // Alice sends, then commits; the message arrives after the commit.
    let late = alice.send("sent in epoch 1");
    let c = alice.commit_update();
    bob.process(&c.commit).unwrap();
    carol.process(&c.commit).unwrap();
    assert_eq!(bob.read(&late), "sent in epoch 1");
    assert!(
        carol.process(&late).is_err(),
        "no past epochs kept: the late message cannot be read"
    );
    let now = alice.send("epoch 2");
    assert_eq!(carol.read(&now), "epoch 2");
}

#[test]
fn state_survives_a_restart_in_sqlite() {
    let dir = std::env::temp_dir().join(format!("kaichi-groups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bob.db");
    let _ = std::fs::remove_file(&path);
    let mut alice = Client::new(1);
    alice.create("persisted");
    let bob_me = MemberSigner::identity(IpnsKeypair::from_seed(&[2; 32]));
    let id;
    {
        let bob_db = GroupDatabase::open(&path).unwrap();
        let bob_p = bob_db.provider();
        let kp = key_package(&bob_p, &bob_me, false).unwrap();
        let Outgoing::Commit(out) = alice
            .group
            .as_mut()
            .unwrap()
            .add(
                &alice.provider,
                &alice.me,
                &AdminPolicy,
                &NoDevices,
                &[kaichi_groups::Candidate::new(kp)],
            )
            .unwrap()
        else {
            panic!()
        };
        let mut bob = Group::join(
            &bob_p,
            out.welcome.as_deref().unwrap(),
            out.ratchet_tree.as_deref(),
            &NoDevices,
        )
        .unwrap();
        id = bob.id();
        bob.set_past_epochs(&bob_p, 2).unwrap();
        let m = alice.send("before restart");
        assert!(matches!(
            bob.process(&bob_p, &AdminPolicy, &NoDevices, &m).unwrap(),
            GroupEvent::Message { .. }
        ));
    }
    // A new process: reopen the file, load the group, carry on.
    let bob_db = GroupDatabase::open(&path).unwrap();
    let bob_p = bob_db.provider();
    let mut bob = Group::load(&bob_p, &id).unwrap().expect("stored");
    assert_eq!(bob.metadata().name, "persisted");
    assert_eq!(
        bob.past_epochs(),
        Some(2),
        "a local setting survives the restart"
    );
    let c = alice.commit_update();
    bob.process(&bob_p, &AdminPolicy, &NoDevices, &c.commit)
        .unwrap();
    let m = alice.send("after restart");
    match bob.process(&bob_p, &AdminPolicy, &NoDevices, &m).unwrap() {
        GroupEvent::Message { text, .. } => assert_eq!(text, b"after restart"),
        other => panic!("{other:?}"),
    }
    let reply = bob.send(&bob_p, &bob_me, b"still here").unwrap();
    assert_eq!(alice.read(&reply), "still here");
    let _ = std::fs::remove_dir_all(&dir);
}
