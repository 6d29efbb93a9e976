//! The session with both engines: new groups in mls-rs by default or in
//! the engine asked for; a joined group in the engine whose KeyPackage its
//! Welcome names; every group's state in the SQLite file, back after a
//! restart; the published (last-resort) KeyPackage serving several
//! invitations; a failed operation leaving the group as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kaichi_groups::{
    AdminPolicy, Candidate, GroupDatabase, GroupEngine, GroupId, GroupSession, MemberSigner,
    NewGroup, SessionOutput,
};
use kaichi_identity::IpnsKeypair;

type Session = GroupSession<AdminPolicy>;

fn open(dir: &Path, seed: u8, engine: GroupEngine) -> Session {
    let mut s = GroupSession::open(
        GroupDatabase::open(&dir.join(format!("{seed}.db"))).unwrap(),
        MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32])),
        AdminPolicy,
    )
    .unwrap();
    s.set_engine(engine);
    s
}

fn outputs(s: &mut Session) -> Vec<SessionOutput> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn publish(outs: &[SessionOutput]) -> Vec<Vec<u8>> {
    outs.iter()
        .filter_map(|o| match o {
            SessionOutput::Publish { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn welcome(outs: &[SessionOutput]) -> (Vec<u8>, Vec<u8>) {
    outs.iter()
        .find_map(|o| match o {
            SessionOutput::Welcome {
                welcome,
                ratchet_tree,
                ..
            } => Some((welcome.clone(), ratchet_tree.clone())),
            _ => None,
        })
        .expect("a Welcome")
}

/// `by` adds `kp`'s owner, who joins; every other member applies the commit.
fn add(
    by: &mut Session,
    id: GroupId,
    kp: Vec<u8>,
    joiner: &mut Session,
    others: &mut [&mut Session],
) {
    by.add(id, &[Candidate::new(kp)]).unwrap();
    let outs = outputs(by);
    let (w, t) = welcome(&outs);
    for o in others.iter_mut() {
        for m in publish(&outs) {
            o.receive(Some(id), &m).unwrap();
        }
        o.drain(id, 0).unwrap();
        outputs(o);
    }
    joiner.join(&w, Some(&t), Some(id)).unwrap();
    outputs(joiner);
}

/// `from` sends `text`; every one of `to` reads it.
fn chat(from: &mut Session, id: GroupId, text: &str, to: &mut [&mut Session]) {
    from.send(id, text.as_bytes(), 0).unwrap();
    let sent = publish(&outputs(from));
    for s in to.iter_mut() {
        for m in &sent {
            s.receive(Some(id), m).unwrap();
        }
        s.drain(id, 0).unwrap();
        let got: Vec<String> = outputs(s)
            .into_iter()
            .filter_map(|o| match o {
                SessionOutput::Message { text, .. } => Some(String::from_utf8(text).unwrap()),
                _ => None,
            })
            .collect();
        assert_eq!(got, [text.to_owned()], "{}", s.me().name());
    }
}

#[test]
fn new_groups_use_mls_rs_by_default_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = open(d, 1, GroupEngine::default());
    let mut bob = open(d, 2, GroupEngine::default());
    let id = alice.create(NewGroup::named("restart")).unwrap();
    assert_eq!(alice.group(&id).unwrap().engine(), GroupEngine::MlsRs);
    let kp = bob.key_package(false).unwrap();
    add(&mut alice, id, kp, &mut bob, &mut []);
    assert_eq!(bob.group(&id).unwrap().engine(), GroupEngine::MlsRs);
    chat(&mut alice, id, "before the restart", &mut [&mut bob]);
    let auth = alice.group(&id).unwrap().epoch_authenticator();

    drop((alice, bob));
    let mut alice = open(d, 1, GroupEngine::default());
    let mut bob = open(d, 2, GroupEngine::default());
    for s in [&alice, &bob] {
        let g = s.group(&id).expect("loaded again");
        assert_eq!(g.engine(), GroupEngine::MlsRs);
        assert_eq!(g.epoch(), 1);
        assert_eq!(g.epoch_authenticator(), auth);
        assert_eq!(g.metadata().name, "restart");
    }
    chat(&mut bob, id, "after the restart", &mut [&mut alice]);
    chat(&mut alice, id, "and back", &mut [&mut bob]);
    // A commit after the restart (the tree was stored apart from the state).
    alice.update(id).unwrap();
    let commit = publish(&outputs(&mut alice));
    bob.receive(Some(id), &commit[0]).unwrap();
    bob.drain(id, 0).unwrap();
    assert_eq!(bob.group(&id).unwrap().epoch(), 2);
    assert_eq!(
        bob.group(&id).unwrap().epoch_authenticator(),
        alice.group(&id).unwrap().epoch_authenticator()
    );
}

#[test]
fn each_group_keeps_its_engine_and_joins_follow_the_key_package() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = open(d, 1, GroupEngine::default());
    // Bob's KeyPackages come from openmls; Carol's from mls-rs.
    let mut bob = open(d, 2, GroupEngine::OpenMls);
    let mut carol = open(d, 3, GroupEngine::MlsRs);
    let old = alice
        .create_with(NewGroup::named("on openmls"), GroupEngine::OpenMls)
        .unwrap();
    let new = alice.create(NewGroup::named("on mls-rs")).unwrap();
    for id in [old, new] {
        let kp = bob.key_package(false).unwrap();
        add(&mut alice, id, kp, &mut bob, &mut []);
        let kp = carol.key_package(false).unwrap();
        add(&mut alice, id, kp, &mut carol, &mut [&mut bob]);
        chat(&mut carol, id, "mixed", &mut [&mut alice, &mut bob]);
        assert_eq!(bob.group(&id).unwrap().engine(), GroupEngine::OpenMls);
        assert_eq!(carol.group(&id).unwrap().engine(), GroupEngine::MlsRs);
    }
    assert_eq!(alice.group(&old).unwrap().engine(), GroupEngine::OpenMls);
    assert_eq!(alice.group(&new).unwrap().engine(), GroupEngine::MlsRs);

    drop((alice, bob, carol));
    let mut alice = open(d, 1, GroupEngine::default());
    let mut bob = open(d, 2, GroupEngine::OpenMls);
    let mut carol = open(d, 3, GroupEngine::MlsRs);
    for id in [old, new] {
        chat(&mut alice, id, "still here", &mut [&mut bob, &mut carol]);
    }
    assert_eq!(alice.group(&old).unwrap().engine(), GroupEngine::OpenMls);
    assert_eq!(bob.group(&new).unwrap().engine(), GroupEngine::OpenMls);
}

#[test]
fn the_published_mls_rs_key_package_serves_several_invitations_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = open(d, 1, GroupEngine::default());
    let mut bob = open(d, 2, GroupEngine::MlsRs);
    let kp = bob.published_key_package().unwrap();
    assert_eq!(
        bob.published_key_package().unwrap(),
        kp,
        "reused, not remade"
    );
    let first = alice.create(NewGroup::named("first")).unwrap();
    add(&mut alice, first, kp.clone(), &mut bob, &mut []);
    drop(bob);
    let mut bob = open(d, 2, GroupEngine::MlsRs);
    assert_eq!(
        bob.published_key_package().unwrap(),
        kp,
        "kept after a join"
    );
    let second = alice.create(NewGroup::named("second")).unwrap();
    add(&mut alice, second, kp, &mut bob, &mut []);
    for id in [first, second] {
        chat(&mut alice, id, "hello", &mut [&mut bob]);
    }
}

#[test]
fn a_failed_operation_leaves_an_mls_rs_group_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = open(d, 1, GroupEngine::default());
    let mut bob = open(d, 2, GroupEngine::default());
    let id = alice.create(NewGroup::named("sturdy")).unwrap();
    let kp = bob.key_package(false).unwrap();
    add(&mut alice, id, kp, &mut bob, &mut []);
    let before = bob.group(&id).unwrap().epoch_authenticator();
    // Bob, not an admin, may not remove Alice: refused, nothing changes.
    assert!(bob.remove(id, &[alice.me().name()]).is_err());
    // A tampered message is refused; the group still reads the next one.
    alice.send(id, b"real", 0).unwrap();
    let mut msg = publish(&outputs(&mut alice)).remove(0);
    let last = msg.len() - 1;
    msg[last] ^= 1;
    assert!(bob.apply(id, &msg, 0).is_err());
    assert_eq!(bob.group(&id).unwrap().epoch_authenticator(), before);
    chat(&mut alice, id, "after the refusals", &mut [&mut bob]);
    drop(bob);
    let bob = open(d, 2, GroupEngine::default());
    assert_eq!(bob.group(&id).unwrap().epoch_authenticator(), before);
}

#[test]
fn a_member_removed_from_an_mls_rs_group_leaves_it_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = open(d, 1, GroupEngine::default());
    let mut carol = open(d, 3, GroupEngine::default());
    let id = alice.create(NewGroup::named("leaving")).unwrap();
    let kp = carol.key_package(false).unwrap();
    add(&mut alice, id, kp, &mut carol, &mut []);
    alice.remove(id, &[carol.me().name()]).unwrap();
    let commit = publish(&outputs(&mut alice));
    carol.receive(Some(id), &commit[0]).unwrap();
    carol.drain(id, 0).unwrap();
    let outs = outputs(&mut carol);
    assert!(
        outs.iter()
            .any(|o| matches!(o, SessionOutput::Removed { .. })),
        "{outs:?}"
    );
    assert!(carol.group(&id).is_none());
    drop(carol);
    let carol = open(d, 3, GroupEngine::default());
    assert!(
        carol.group(&id).is_none(),
        "not loaded again after a restart"
    );
}
