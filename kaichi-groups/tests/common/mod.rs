//! Members with their own in-memory openmls providers.
#![allow(
    dead_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use kaichi_groups::{
    AdminPolicy, Candidate, CommitOutput, Group, GroupEvent, MemberSigner, MemoryProvider,
    NewGroup, NoDevices, Outgoing, key_package,
};
use kaichi_identity::{IpnsKeypair, IpnsName};

pub struct Client {
    pub provider: MemoryProvider,
    pub me: MemberSigner,
    pub group: Option<Group>,
}

impl Client {
    pub fn new(seed: u8) -> Self {
        Self {
            provider: MemoryProvider::default(),
            me: MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32])),
            group: None,
        }
    }

    pub fn name(&self) -> IpnsName {
        self.me.name()
    }

    pub fn group(&mut self) -> &mut Group {
        self.group.as_mut().expect("in a group")
    }

    pub fn create(&mut self, name: &str) {
        self.group = Some(Group::create(&self.provider, &self.me, NewGroup::named(name)).unwrap());
    }

    pub fn key_package(&self) -> Vec<u8> {
        key_package(&self.provider, &self.me, false).unwrap()
    }

    pub fn join(&mut self, out: &CommitOutput) {
        self.group = Some(
            Group::join(
                &self.provider,
                out.welcome.as_deref().unwrap(),
                out.ratchet_tree.as_deref(),
                &NoDevices,
            )
            .unwrap(),
        );
    }

    /// Sequencer: adds `others` and returns the commit output.
    pub fn add(&mut self, others: &[&Client]) -> CommitOutput {
        let candidates: Vec<Candidate> = others
            .iter()
            .map(|o| Candidate::new(o.key_package()))
            .collect();
        let (p, me) = (&self.provider, &self.me);
        match self
            .group
            .as_mut()
            .unwrap()
            .add(p, me, &AdminPolicy, &NoDevices, &candidates)
            .unwrap()
        {
            Outgoing::Commit(c) => c,
            other => panic!("expected a commit, got {other:?}"),
        }
    }

    /// Sequencer: refreshes its keys and returns the commit.
    pub fn commit_update(&mut self) -> CommitOutput {
        let (p, me) = (&self.provider, &self.me);
        match self.group.as_mut().unwrap().self_update(p, me).unwrap() {
            Outgoing::Commit(c) => c,
            other => panic!("expected a commit, got {other:?}"),
        }
    }

    pub fn send(&mut self, text: &str) -> Vec<u8> {
        let (p, me) = (&self.provider, &self.me);
        self.group
            .as_mut()
            .unwrap()
            .send(p, me, text.as_bytes())
            .unwrap()
    }

    pub fn process(&mut self, bytes: &[u8]) -> Result<GroupEvent, kaichi_groups::ProcessError> {
        let p = &self.provider;
        self.group
            .as_mut()
            .unwrap()
            .process(p, &AdminPolicy, &NoDevices, bytes)
    }

    pub fn read(&mut self, bytes: &[u8]) -> String {
        match self.process(bytes).unwrap() {
            GroupEvent::Message { text, .. } => String::from_utf8(text).unwrap(),
            other => panic!("expected a message, got {other:?}"),
        }
    }
}
