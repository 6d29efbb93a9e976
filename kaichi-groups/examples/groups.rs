//! Three members in one MLS group, in memory: Alice creates it, invites Bob
//! and Carol, they chat, Alice removes Carol, who can no longer read.
//!
//! `cargo run -p kaichi-groups --example groups`

use kaichi_groups::{
    Candidate, GroupDatabase, GroupId, GroupSession, MemberSigner, NewGroup, NoBalances,
    SessionOutput, SharedBalanceSource, StandardPolicy,
};
use kaichi_identity::IpnsKeypair;

type Session = GroupSession<StandardPolicy>;
/// A Welcome and its ratchet tree, when an add produced one.
type Welcome = Option<(Vec<u8>, Vec<u8>)>;
/// What a session asked to deliver: group messages, and a Welcome.
type Delivery = (Vec<Vec<u8>>, Welcome);
type Error = Box<dyn std::error::Error>;

fn member(seed: u8) -> Result<Session, Box<dyn std::error::Error>> {
    let balances: SharedBalanceSource = std::sync::Arc::new(NoBalances);
    Ok(GroupSession::open(
        GroupDatabase::open_in_memory()?,
        MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32])),
        StandardPolicy::new(balances),
    )?)
}

/// What a session asked to deliver: group messages, and a Welcome + tree.
fn outputs(s: &mut Session) -> Delivery {
    let (mut messages, mut welcome) = (Vec::new(), None);
    while let Some(o) = s.poll_output() {
        match o {
            SessionOutput::Publish { message, .. } => messages.push(message),
            SessionOutput::Welcome {
                welcome: w,
                ratchet_tree,
                ..
            } => welcome = Some((w, ratchet_tree)),
            SessionOutput::Message { from, text, .. } => {
                println!(
                    "  {} reads {from}: {}",
                    s.me().name(),
                    String::from_utf8_lossy(&text)
                );
            }
            SessionOutput::Changed {
                epoch,
                added,
                removed,
                ..
            } => println!(
                "  {} sees epoch {epoch}: +{} -{}",
                s.me().name(),
                added.len(),
                removed.len()
            ),
            SessionOutput::Removed { .. } => println!("  {} was removed", s.me().name()),
            _ => {}
        }
    }
    (messages, welcome)
}

/// Delivers `messages` to `to` through its log, as the network would.
fn deliver(
    to: &mut Session,
    id: GroupId,
    messages: &[Vec<u8>],
) -> Result<(), Box<dyn std::error::Error>> {
    for m in messages {
        to.receive(Some(id), m)?;
    }
    to.drain(id, 0)?;
    outputs(to);
    Ok(())
}

/// The sequencer adds `invitee` by its KeyPackage; returns the commit and Welcome.
fn invite(sequencer: &mut Session, id: GroupId, invitee: &Session) -> Result<Delivery, Error> {
    let kp = invitee.key_package(false)?;
    sequencer.add(id, &[Candidate::new(kp)])?;
    Ok(outputs(sequencer))
}

fn join(
    invitee: &mut Session,
    id: GroupId,
    welcome: Welcome,
) -> Result<(), Box<dyn std::error::Error>> {
    let (welcome, tree) = welcome.ok_or("the sequencer's add carries a Welcome")?;
    invitee.join(&welcome, Some(&tree), Some(id))?;
    outputs(invitee);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut alice, mut bob, mut carol) = (member(1)?, member(2)?, member(3)?);
    let id = alice.create(NewGroup::named("friends"))?;
    println!("alice created {id}");

    // Bob joins: the commit goes to nobody else yet.
    let (_, welcome) = invite(&mut alice, id, &bob)?;
    join(&mut bob, id, welcome)?;
    // Carol joins: Bob applies the commit that adds her.
    let (commit, welcome) = invite(&mut alice, id, &carol)?;
    deliver(&mut bob, id, &commit)?;
    join(&mut carol, id, welcome)?;

    bob.send(id, b"hello, friends", 0)?;
    let (sent, _) = outputs(&mut bob);
    deliver(&mut alice, id, &sent)?;
    deliver(&mut carol, id, &sent)?;

    alice.remove(id, &[carol.me().name()])?;
    let (commit, _) = outputs(&mut alice);
    deliver(&mut bob, id, &commit)?;
    deliver(&mut carol, id, &commit)?;

    alice.send(id, b"just us now", 0)?;
    let (sent, _) = outputs(&mut alice);
    deliver(&mut bob, id, &sent)?;
    match carol.receive(Some(id), &sent[0]) {
        Err(e) => println!("  carol cannot read it: {e}"),
        Ok(_) => return Err("a removed member still receives".into()),
    }
    Ok(())
}
