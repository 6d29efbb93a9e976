//! A proposal the group's policy refuses never rides in on the sequencer's
//! next commit (mls-rs caches every proposal it receives, refused or not).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use kaichi_groups::mlsrs::RsMember;
use kaichi_groups::policy::Denied;
use kaichi_groups::{
    AdminPolicy, Candidate, GroupPolicy, MemberSigner, NewGroup, NoDevices, Outgoing, PolicyContext,
};
use kaichi_identity::{IpnsKeypair, IpnsName, WalletAddress};

/// A member whose own client lets it do anything (its local checks are
/// its own business; the group's rules are the others').
#[derive(Clone)]
struct Anything;

impl GroupPolicy for Anything {
    fn may_add(
        &self,
        _: PolicyContext<'_>,
        _: &IpnsName,
        _: &IpnsName,
        _: Option<&WalletAddress>,
    ) -> Result<(), Denied> {
        Ok(())
    }

    fn may_remove(&self, _: PolicyContext<'_>, _: &IpnsName, _: &IpnsName) -> Result<(), Denied> {
        Ok(())
    }
}

fn signer(b: u8) -> MemberSigner {
    MemberSigner::identity(IpnsKeypair::from_seed(&[b; 32]))
}

#[test]
fn a_refused_remove_proposal_is_not_committed_by_the_sequencer() {
    let alice = RsMember::new(&signer(1), AdminPolicy, Arc::new(NoDevices));
    let bob = RsMember::new(&signer(2), AdminPolicy, Arc::new(NoDevices));
    let carol = RsMember::new(&signer(3), Anything, Arc::new(NoDevices));
    let mut a = alice.create(NewGroup::named("club")).unwrap();
    let Outgoing::Commit(out) = a
        .add(&[
            Candidate::new(bob.key_package().unwrap()),
            Candidate::new(carol.key_package().unwrap()),
        ])
        .unwrap()
    else {
        panic!("the creator commits")
    };
    let (welcome, tree) = (out.welcome.unwrap(), out.ratchet_tree.unwrap());
    let mut b = bob.join(&welcome, Some(&tree)).unwrap();
    let mut c = carol.join(&welcome, Some(&tree)).unwrap();

    // Carol, no admin, proposes to remove Bob; the group's rules refuse it.
    let bob_name = signer(2).name();
    let Outgoing::Proposals(proposals) = c.remove(&[bob_name]).unwrap() else {
        panic!("a member who is not the sequencer proposes")
    };
    for p in &proposals {
        let _ = a.process(p);
        let _ = b.process(p);
    }
    // Alice's next commit (a key update) leaves it out: Bob stays, and the
    // members agree.
    let Outgoing::Commit(update) = a.self_update().unwrap() else {
        panic!("the sequencer commits")
    };
    b.process(&update.commit).unwrap();
    c.process(&update.commit).unwrap();
    for g in [&a.members(), &b.members(), &c.members()] {
        assert!(g.iter().any(|m| m.name == bob_name), "{g:?}");
        assert_eq!(g.len(), 3);
    }
    assert_eq!(a.epoch_authenticator(), b.epoch_authenticator());
}
