//! Random operation sequences against a membership model: after every
//! step, every member agrees with the model on who is in the group, on the
//! epoch, and reads every message; refused operations change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::Client;
use kaichi_groups::{
    AddError, AdminPolicy, Candidate, GroupEvent, NoDevices, Outgoing, RemoveError,
};
use proptest::prelude::*;

const PEOPLE: usize = 6;

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
    clients: Vec<Client>,
    model: BTreeSet<usize>,
    epoch: u64,
    sent: usize,
}

impl World {
    fn new() -> Self {
        let mut clients: Vec<Client> = (0..PEOPLE).map(|i| Client::new(i as u8 + 1)).collect();
        clients[0].create("model");
        Self {
            clients,
            model: BTreeSet::from([0]),
            epoch: 0,
            sent: 0,
        }
    }

    /// Delivers a commit to every member but `from`, and welcomes `joined`.
    fn deliver_commit(&mut self, from: usize, out: &kaichi_groups::CommitOutput, joined: &[usize]) {
        for &m in self
            .model
            .clone()
            .iter()
            .filter(|&&m| m != from && !joined.contains(&m))
        {
            match self.clients[m].process(&out.commit).unwrap() {
                GroupEvent::Commit { epoch, .. } => assert_eq!(epoch, out.epoch),
                GroupEvent::RemovedSelf { .. } => {}
                other => panic!("{other:?}"),
            }
        }
        for &j in joined {
            self.clients[j].join(out);
        }
        self.epoch = out.epoch;
    }

    /// Alice, the sequencer, takes proposals from `from` and commits them.
    fn sequence(&mut self, from: usize, proposals: &[Vec<u8>]) {
        for p in proposals {
            for &m in self.model.clone().iter().filter(|&&m| m != from) {
                assert!(matches!(
                    self.clients[m].process(p).unwrap(),
                    GroupEvent::Proposal { .. }
                ));
            }
        }
        let alice = &mut self.clients[0];
        let out = alice
            .group
            .as_mut()
            .unwrap()
            .commit_pending(&alice.provider, &alice.me, &AdminPolicy)
            .unwrap();
        self.deliver_commit(0, &out, &[]);
    }

    /// `by` picks among the current members.
    fn member(&self, by: usize) -> usize {
        let members: Vec<usize> = self.model.iter().copied().collect();
        members[by % members.len()]
    }

    fn apply(&mut self, op: &Op) {
        let op = &match *op {
            Op::Add { by, who } => Op::Add {
                by: self.member(by),
                who,
            },
            Op::Remove { by, who } => Op::Remove {
                by: self.member(by),
                who,
            },
            Op::Update { by } => Op::Update {
                by: self.member(by),
            },
            Op::Send { by } => Op::Send {
                by: self.member(by),
            },
        };
        match *op {
            Op::Add { by, who } => {
                if !self.model.contains(&by) {
                    return;
                }
                let kp = self.clients[who].key_package();
                let c = &mut self.clients[by];
                let result = c.group.as_mut().unwrap().add(
                    &c.provider,
                    &c.me,
                    &AdminPolicy,
                    &NoDevices,
                    &[Candidate::new(kp)],
                );
                match result {
                    Ok(Outgoing::Commit(out)) => {
                        assert!(by == 0 && !self.model.contains(&who));
                        self.model.insert(who);
                        self.deliver_commit(by, &out, &[who]);
                    }
                    Err(AddError::Policy(_)) => assert_ne!(by, 0),
                    Err(_) => assert!(self.model.contains(&who), "add refused: {op:?}"),
                    Ok(other) => panic!("{other:?}"),
                }
            }
            Op::Remove { by, who } => {
                if !self.model.contains(&by) || (by == 0 && who == 0) {
                    return;
                }
                let name = self.clients[who].name();
                let c = &mut self.clients[by];
                let result =
                    c.group
                        .as_mut()
                        .unwrap()
                        .remove(&c.provider, &c.me, &AdminPolicy, &[name]);
                match result {
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
                if !self.model.contains(&by) {
                    return;
                }
                let c = &mut self.clients[by];
                match c
                    .group
                    .as_mut()
                    .unwrap()
                    .self_update(&c.provider, &c.me)
                    .unwrap()
                {
                    Outgoing::Commit(out) => self.deliver_commit(by, &out, &[]),
                    Outgoing::Proposals(ps) => self.sequence(by, &ps),
                    other => panic!("{other:?}"),
                }
            }
            Op::Send { by } => {
                if !self.model.contains(&by) {
                    return;
                }
                self.sent += 1;
                let text = format!("message {}", self.sent);
                let bytes = self.clients[by].send(&text);
                for &m in self.model.clone().iter().filter(|&&m| m != by) {
                    assert_eq!(self.clients[m].read(&bytes), text);
                }
            }
        }
    }

    fn check(&mut self) {
        let expected: BTreeSet<_> = self
            .model
            .iter()
            .map(|&i| self.clients[i].name().to_bytes())
            .collect();
        for i in 0..PEOPLE {
            let member = self.model.contains(&i);
            let Some(g) = self.clients[i].group.as_mut() else {
                assert!(!member);
                continue;
            };
            assert_eq!(g.is_active(), member, "client {i}");
            if member {
                let names: BTreeSet<_> = g.member_names().iter().map(|n| n.to_bytes()).collect();
                assert_eq!(names, expected, "client {i}");
                assert_eq!(g.epoch(), self.epoch, "client {i}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24), ..ProptestConfig::default() })]

    #[test]
    fn members_agree_with_the_model(ops in proptest::collection::vec(op(), 1..24)) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
            world.check();
        }
    }
}

#[test]
fn a_long_fixed_sequence_exercises_every_path() {
    let mut world = World::new();
    let ops = [
        Op::Add { by: 0, who: 1 },
        Op::Add { by: 0, who: 2 },
        Op::Add { by: 1, who: 3 }, // bob is not an admin
        Op::Add { by: 0, who: 3 },
        Op::Add { by: 0, who: 3 }, // already a member
        Op::Send { by: 2 },
        Op::Update { by: 1 }, // a proposal, committed by alice
        Op::Update { by: 0 },
        Op::Remove { by: 2, who: 1 }, // carol may not remove bob
        Op::Remove { by: 3, who: 3 }, // dave leaves
        Op::Remove { by: 0, who: 2 },
        Op::Remove { by: 0, who: 5 }, // not a member
        Op::Add { by: 0, who: 2 },    // carol again
        Op::Send { by: 1 },
    ];
    for op in &ops {
        world.apply(op);
        world.check();
    }
    assert_eq!(world.model, BTreeSet::from([0, 1, 2]));
    assert_eq!(world.epoch, 8);
}
