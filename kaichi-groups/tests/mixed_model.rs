//! Random operation sequences against a membership model, and the
//! differential test of the two MLS engines: the members of each group run
//! openmls or mls-rs (chosen per member by the test, the sequencer
//! included; all one engine among the cases). After every step every member agrees with
//! the model on membership and epoch, every member's epoch authenticator is
//! the same, every message is read by everyone, and refused operations
//! change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::Client;
use kaichi_groups::mlsrs::{RsGroup, RsMember};
use kaichi_groups::{
    AddError, AdminPolicy, Candidate, CommitOutput, GroupEvent, MemberSigner, NewGroup, NoDevices,
    Outgoing, ProcessError, RemoveError,
};
use kaichi_identity::{IpnsKeypair, IpnsName};
use proptest::prelude::*;

const PEOPLE: usize = 5;

/// One person, on one engine (a handful live for one test case: their
/// sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Person {
    OpenMls(Client),
    MlsRs {
        me: MemberSigner,
        engine: RsMember<AdminPolicy>,
        group: Option<RsGroup<AdminPolicy>>,
    },
}

impl Person {
    fn new(seed: u8, mls_rs: bool) -> Self {
        if !mls_rs {
            return Self::OpenMls(Client::new(seed));
        }
        let me = MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32]));
        let engine = RsMember::new(&me, AdminPolicy, Arc::new(NoDevices));
        Self::MlsRs {
            me,
            engine,
            group: None,
        }
    }

    fn name(&self) -> IpnsName {
        match self {
            Self::OpenMls(c) => c.name(),
            Self::MlsRs { me, .. } => me.name(),
        }
    }

    fn create(&mut self) {
        match self {
            Self::OpenMls(c) => c.create("mixed model"),
            Self::MlsRs { engine, group, .. } => {
                *group = Some(engine.create(NewGroup::named("mixed model")).unwrap());
            }
        }
    }

    fn key_package(&self) -> Vec<u8> {
        match self {
            Self::OpenMls(c) => c.key_package(),
            Self::MlsRs { engine, .. } => engine.key_package().unwrap(),
        }
    }

    fn join(&mut self, out: &CommitOutput) {
        match self {
            Self::OpenMls(c) => c.join(out),
            Self::MlsRs { engine, group, .. } => {
                *group = Some(
                    engine
                        .join(out.welcome.as_deref().unwrap(), out.ratchet_tree.as_deref())
                        .unwrap(),
                );
            }
        }
    }

    fn in_group(&self) -> bool {
        match self {
            Self::OpenMls(c) => c.group.is_some(),
            Self::MlsRs { group, .. } => group.is_some(),
        }
    }

    fn process(&mut self, bytes: &[u8]) -> Result<GroupEvent, ProcessError> {
        match self {
            Self::OpenMls(c) => c.process(bytes),
            Self::MlsRs { group, .. } => group.as_mut().unwrap().process(bytes),
        }
    }

    fn send(&mut self, text: &str) -> Vec<u8> {
        match self {
            Self::OpenMls(c) => c.send(text),
            Self::MlsRs { group, .. } => group.as_mut().unwrap().send(text.as_bytes()).unwrap(),
        }
    }

    fn add(&mut self, kp: Vec<u8>) -> Result<Outgoing, AddError> {
        let candidates = [Candidate::new(kp)];
        match self {
            Self::OpenMls(c) => c.group.as_mut().unwrap().add(
                &c.provider,
                &c.me,
                &AdminPolicy,
                &NoDevices,
                &candidates,
            ),
            Self::MlsRs { group, .. } => group.as_mut().unwrap().add(&candidates),
        }
    }

    fn remove(&mut self, who: IpnsName) -> Result<Outgoing, RemoveError> {
        match self {
            Self::OpenMls(c) => {
                c.group
                    .as_mut()
                    .unwrap()
                    .remove(&c.provider, &c.me, &AdminPolicy, &[who])
            }
            Self::MlsRs { group, .. } => group.as_mut().unwrap().remove(&[who]),
        }
    }

    fn update(&mut self) -> Outgoing {
        match self {
            Self::OpenMls(c) => c
                .group
                .as_mut()
                .unwrap()
                .self_update(&c.provider, &c.me)
                .unwrap(),
            Self::MlsRs { group, .. } => group.as_mut().unwrap().self_update().unwrap(),
        }
    }

    fn commit_pending(&mut self) -> CommitOutput {
        match self {
            Self::OpenMls(c) => c
                .group
                .as_mut()
                .unwrap()
                .commit_pending(&c.provider, &c.me, &AdminPolicy)
                .unwrap(),
            Self::MlsRs { group, .. } => group.as_mut().unwrap().commit_pending().unwrap(),
        }
    }

    /// (active, epoch, member names, epoch authenticator)
    fn state(&self) -> (bool, u64, BTreeSet<IpnsName>, Vec<u8>) {
        match self {
            Self::OpenMls(c) => {
                let g = c.group.as_ref().unwrap();
                (
                    g.is_active(),
                    g.epoch(),
                    g.member_names().into_iter().collect(),
                    g.epoch_authenticator(),
                )
            }
            Self::MlsRs { group, .. } => {
                let g = group.as_ref().unwrap();
                (
                    g.is_active(),
                    g.epoch(),
                    g.member_names().into_iter().collect(),
                    g.epoch_authenticator().unwrap(),
                )
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add { by: usize, who: usize },
    Remove { by: usize, who: usize },
    Update { by: usize },
    Send { by: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..PEOPLE, 0..PEOPLE).prop_map(|(by, who)| Op::Add { by, who }),
        (0..PEOPLE, 0..PEOPLE).prop_map(|(by, who)| Op::Remove { by, who }),
        (0..PEOPLE).prop_map(|by| Op::Update { by }),
        (0..PEOPLE).prop_map(|by| Op::Send { by }),
    ]
}

struct World {
    people: Vec<Person>,
    model: BTreeSet<usize>,
    epoch: u64,
    sent: usize,
}

impl World {
    fn new(engines: &[bool]) -> Self {
        let mut people: Vec<Person> = (0..PEOPLE)
            .map(|i| Person::new(i as u8 + 1, engines[i]))
            .collect();
        people[0].create();
        Self {
            people,
            model: BTreeSet::from([0]),
            epoch: 0,
            sent: 0,
        }
    }

    fn deliver_commit(&mut self, from: usize, out: &CommitOutput, joined: &[usize]) {
        for m in self.model.clone() {
            if m == from || joined.contains(&m) {
                continue;
            }
            match self.people[m].process(&out.commit).unwrap() {
                GroupEvent::Commit { epoch, .. } => assert_eq!(epoch, out.epoch),
                GroupEvent::RemovedSelf { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        for &j in joined {
            self.people[j].join(out);
        }
        self.epoch = out.epoch;
    }

    /// The sequencer (person 0) takes `from`'s proposals and commits them.
    fn sequence(&mut self, from: usize, proposals: &[Vec<u8>]) {
        for p in proposals {
            for m in self.model.clone() {
                if m != from {
                    let event = self.people[m].process(p).unwrap();
                    assert!(matches!(event, GroupEvent::Proposal { .. }), "{event:?}");
                }
            }
        }
        let out = self.people[0].commit_pending();
        self.deliver_commit(0, &out, &[]);
    }

    fn member(&self, by: usize) -> usize {
        let members: Vec<usize> = self.model.iter().copied().collect();
        members[by % members.len()]
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Add { by, who } => {
                let by = self.member(by);
                let kp = self.people[who].key_package();
                match self.people[by].add(kp) {
                    Ok(Outgoing::Commit(out)) => {
                        assert!(by == 0 && !self.model.contains(&who));
                        self.model.insert(who);
                        self.deliver_commit(by, &out, &[who]);
                    }
                    Err(AddError::Policy(_)) => assert_ne!(by, 0),
                    Err(e) => assert!(self.model.contains(&who), "add refused: {op:?}: {e}"),
                    Ok(other) => panic!("{other:?}"),
                }
            }
            Op::Remove { by, who } => {
                let by = self.member(by);
                if by == 0 && who == 0 {
                    return;
                }
                let name = self.people[who].name();
                match self.people[by].remove(name) {
                    Ok(Outgoing::Commit(out)) => {
                        assert!(by == 0 && self.model.contains(&who));
                        self.deliver_commit(0, &out, &[]);
                        self.model.remove(&who);
                    }
                    Ok(Outgoing::Proposals(ps)) => {
                        assert!(by == who && by != 0);
                        self.sequence(by, &ps);
                        self.model.remove(&who);
                    }
                    Err(RemoveError::NotAMember(_)) => assert!(!self.model.contains(&who)),
                    Err(RemoveError::Policy(_)) => assert!(by != 0 && by != who),
                    Err(e) => panic!("{op:?}: {e}"),
                    Ok(other) => panic!("{other:?}"),
                }
            }
            Op::Update { by } => {
                let by = self.member(by);
                match self.people[by].update() {
                    Outgoing::Commit(out) => self.deliver_commit(by, &out, &[]),
                    Outgoing::Proposals(ps) => self.sequence(by, &ps),
                    other => panic!("{other:?}"),
                }
            }
            Op::Send { by } => {
                let by = self.member(by);
                self.sent += 1;
                let text = format!("message {}", self.sent);
                let bytes = self.people[by].send(&text);
                for m in self.model.clone() {
                    if m == by {
                        continue;
                    }
                    match self.people[m].process(&bytes).unwrap() {
                        GroupEvent::Message { text: got, .. } => {
                            assert_eq!(String::from_utf8(got).unwrap(), text);
                        }
                        other => panic!("{other:?}"),
                    }
                }
            }
        }
    }

    fn check(&self) {
        let expected: BTreeSet<IpnsName> =
            self.model.iter().map(|&i| self.people[i].name()).collect();
        let mut authenticator = None;
        for (i, p) in self.people.iter().enumerate() {
            let member = self.model.contains(&i);
            if !p.in_group() {
                assert!(!member, "person {i}");
                continue;
            }
            let (active, epoch, names, auth) = p.state();
            assert_eq!(active, member, "person {i}");
            if member {
                assert_eq!(names, expected, "person {i}");
                assert_eq!(epoch, self.epoch, "person {i}");
                let a = authenticator.get_or_insert_with(|| auth.clone());
                assert_eq!(*a, auth, "person {i}'s epoch authenticator");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24), ..ProptestConfig::default() })]

    #[test]
    fn both_engines_agree_in_mixed_groups(
        engines in proptest::collection::vec(any::<bool>(), PEOPLE),
        ops in proptest::collection::vec(op(), 1..24),
    ) {
        let mut world = World::new(&engines);
        for op in &ops {
            world.apply(op);
            world.check();
        }
    }
}

#[test]
fn a_fixed_sequence_alternating_engines_exercises_every_path() {
    for engines in [
        [false; PEOPLE],
        [true; PEOPLE],
        [false, true, false, true, false],
        [true, false, true, false, true],
    ] {
        let mut world = World::new(&engines);
        let ops = [
            Op::Add { by: 0, who: 1 },
            Op::Add { by: 0, who: 2 },
            Op::Add { by: 1, who: 3 }, // not an admin
            Op::Add { by: 0, who: 3 },
            Op::Add { by: 0, who: 3 }, // already a member
            Op::Send { by: 2 },
            Op::Update { by: 1 }, // a proposal, committed by the sequencer
            Op::Update { by: 0 },
            Op::Remove { by: 2, who: 1 }, // may not remove another
            Op::Remove { by: 3, who: 3 }, // leaves
            Op::Remove { by: 0, who: 2 },
            Op::Remove { by: 0, who: 4 }, // not a member
            Op::Add { by: 0, who: 2 },    // back again
            Op::Send { by: 1 },
        ];
        for op in &ops {
            world.apply(op);
            world.check();
        }
        assert_eq!(world.model, BTreeSet::from([0, 1, 2]), "{engines:?}");
        assert_eq!(world.epoch, 8, "{engines:?}");
    }
}
