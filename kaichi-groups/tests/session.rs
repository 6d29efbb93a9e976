//! `GroupSession`: received messages applied in epoch order whatever order
//! they arrive in, failures set aside without changing the group, the
//! sequencer's automatic commit of proposals with the membership diff.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_groups::{
    Candidate, GroupDatabase, GroupId, GroupSession, MemberSigner, NewGroup, NoBalances,
    SessionOutput, SharedBalanceSource, StandardPolicy,
};
use kaichi_identity::{IpnsKeypair, IpnsName};

type Session = GroupSession<StandardPolicy>;

fn member(seed: u8) -> Session {
    let balances: SharedBalanceSource = std::sync::Arc::new(NoBalances);
    GroupSession::open(
        GroupDatabase::open_in_memory().unwrap(),
        MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32])),
        StandardPolicy::new(balances),
    )
    .unwrap()
}

fn outputs(s: &mut Session) -> Vec<SessionOutput> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn published(outs: &[SessionOutput]) -> Vec<Vec<u8>> {
    outs.iter()
        .filter_map(|o| match o {
            SessionOutput::Publish { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Alice adds `invitee`; returns the commit. The invitee joins.
fn invite(alice: &mut Session, id: GroupId, invitee: &mut Session) -> Vec<u8> {
    let kp = invitee.key_package(false).unwrap();
    alice.add(id, &[Candidate::new(kp)]).unwrap();
    let outs = outputs(alice);
    let (welcome, tree, to) = outs
        .iter()
        .find_map(|o| match o {
            SessionOutput::Welcome {
                welcome,
                ratchet_tree,
                to,
                ..
            } => Some((welcome.clone(), ratchet_tree.clone(), to.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        to,
        vec![invitee.me().name()],
        "the Welcome is for the invitee"
    );
    assert!(outs.iter().any(|o| matches!(o,
        SessionOutput::Changed { added, removed, .. } if *added == to && removed.is_empty())));
    invitee.join(&welcome, Some(&tree), Some(id)).unwrap();
    outputs(invitee);
    published(&outs).remove(0)
}

fn texts(outs: &[SessionOutput]) -> Vec<String> {
    outs.iter()
        .filter_map(|o| match o {
            SessionOutput::Message { text, .. } => Some(String::from_utf8_lossy(text).into()),
            SessionOutput::Changed { epoch, added, .. } => {
                Some(format!("epoch {epoch} +{}", added.len()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn messages_apply_in_epoch_order_whatever_order_they_arrive_in() {
    let (mut alice, mut bob, mut carol) = (member(1), member(2), member(3));
    let id = alice.create(NewGroup::named("order")).unwrap();
    invite(&mut alice, id, &mut bob);
    alice.send(id, b"before", 0).unwrap();
    let before = published(&outputs(&mut alice)).remove(0);
    let commit = invite(&mut alice, id, &mut carol);
    alice.send(id, b"after", 0).unwrap();
    let after = published(&outputs(&mut alice)).remove(0);

    // Bob gets them newest first; nothing applies until the log can.
    for m in [&after, &commit, &before] {
        assert!(bob.receive(Some(id), m).unwrap().1, "new to the log");
    }
    assert!(
        !bob.receive(Some(id), &after).unwrap().1,
        "a duplicate is not new"
    );
    bob.drain(id, 0).unwrap();
    assert_eq!(
        texts(&outputs(&mut bob)),
        ["before", "epoch 2 +1", "after"],
        "applied in epoch order"
    );
    assert_eq!(bob.group(&id).unwrap().epoch(), 2);
    assert_eq!(
        bob.messages(&id, 10).unwrap().len(),
        2,
        "both messages kept"
    );
}

#[test]
fn a_bad_message_is_set_aside_and_changes_nothing() {
    let (mut alice, mut bob) = (member(1), member(2));
    let id = alice.create(NewGroup::named("bad")).unwrap();
    invite(&mut alice, id, &mut bob);
    alice.send(id, b"good", 0).unwrap();
    let good = published(&outputs(&mut alice)).remove(0);
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1; // the header still reads; the ciphertext does not open

    assert!(bob.receive(Some(id), b"not an MLS message").is_err());
    let other = GroupId::from_slice(&[9; 32]).unwrap();
    assert!(bob.receive(Some(other), &good).is_err(), "wrong topic");
    bob.receive(Some(id), &bad).unwrap();
    bob.drain(id, 0).unwrap();
    let outs = outputs(&mut bob);
    assert!(
        outs.iter()
            .any(|o| matches!(o, SessionOutput::Refused { .. })),
        "{outs:?}"
    );
    assert_eq!(bob.group(&id).unwrap().epoch(), 1);
    // The refused message does not block the log.
    bob.receive(Some(id), &good).unwrap();
    bob.drain(id, 0).unwrap();
    assert_eq!(texts(&outputs(&mut bob)), ["good"]);
}

#[test]
fn the_sequencer_commits_received_proposals_at_once() {
    let (mut alice, mut bob) = (member(1), member(2));
    alice.set_auto_commit(true);
    let id = alice.create(NewGroup::named("auto")).unwrap();
    invite(&mut alice, id, &mut bob);
    bob.leave(id).unwrap();
    let proposal = published(&outputs(&mut bob)).remove(0);
    alice.receive(Some(id), &proposal).unwrap();
    alice.drain(id, 0).unwrap();
    let outs = outputs(&mut alice);
    let bob_name: IpnsName = bob.me().name();
    assert!(
        outs.iter()
            .any(|o| matches!(o, SessionOutput::Proposal { .. }))
    );
    assert!(
        outs.iter().any(|o| matches!(o,
            SessionOutput::Changed { epoch: 2, removed, .. } if *removed == vec![bob_name])),
        "{outs:?}"
    );
    assert_eq!(published(&outs).len(), 1, "the commit is published");
    assert_eq!(alice.group(&id).unwrap().member_names().len(), 1);
}

#[test]
fn groups_are_found_by_id_or_unique_name() {
    let mut alice = member(1);
    let a = alice.create(NewGroup::named("same")).unwrap();
    assert_eq!(alice.find("same").unwrap(), a);
    assert_eq!(alice.find(a.to_string()).unwrap(), a);
    assert_eq!(alice.find(a).unwrap(), a);
    alice.create(NewGroup::named("same")).unwrap();
    assert!(matches!(
        alice.find("same"),
        Err(kaichi_groups::session::FindError::Ambiguous { count: 2, .. })
    ));
    assert!(matches!(
        alice.find("nope"),
        Err(kaichi_groups::session::FindError::NoSuchGroup(_))
    ));
}

#[test]
fn a_document_is_waited_for_until_its_lookup_ends() {
    use kaichi_groups::session::{DOCUMENT_WAIT_MS, DocumentWait};
    let mut alice = member(1);
    let name = kaichi_identity::IpnsKeypair::from_seed(&[9; 32]).name();
    assert_eq!(alice.wait_for_document(name, 0), DocumentWait::Ask);
    // Other drains while the lookup runs keep the message waiting.
    assert_eq!(alice.wait_for_document(name, 1_000), DocumentWait::Pending);
    // A lookup that never reports back is asked for again after the window.
    assert_eq!(
        alice.wait_for_document(name, DOCUMENT_WAIT_MS),
        DocumentWait::Ask
    );
    // Once it ended with the key still unknown, the message is set aside...
    alice.document_resolved(&name);
    assert_eq!(
        alice.wait_for_document(name, DOCUMENT_WAIT_MS + 1),
        DocumentWait::GiveUp
    );
    // ...and a later message starts a new wait.
    assert_eq!(
        alice.wait_for_document(name, DOCUMENT_WAIT_MS + 2),
        DocumentWait::Ask
    );
}
