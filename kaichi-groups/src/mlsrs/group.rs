//! One member's view of a group held by mls-rs: the operations and results
//! of [`crate::Group`], with Kaichi's rules applied by the engine's
//! [`KaichiRules`] and [`super::KaichiIdentity`].

use std::collections::{BTreeSet, HashMap};

use kaichi_identity::IpnsName;
use mls_rs::group::proposal::Proposal;
use mls_rs::group::{CommitEffect, ReceivedMessage};
use mls_rs::{Group, MlsMessage};

use super::rules::{KaichiRules, RosterMembers};
use super::{RsConfig, RuleError, metadata_of, rule_error};
use crate::group::{
    AddError, CommitOutput, GroupEvent, MemberInfo, Outgoing, ProcessError, RemoveError, SendError,
    UpdateError,
};
use crate::metadata::GroupMetadata;
use crate::policy::{Denied, PolicyContext};
use crate::wire::{MessageKind, message_info};
use crate::{Candidate, GroupId, MAX_MESSAGE_BYTES, MlsError};

/// One member's view of a group, held by mls-rs.
pub struct RsGroup<P: super::RsPolicy> {
    group: Group<RsConfig<P>>,
    id: GroupId,
    me: IpnsName,
    metadata: GroupMetadata,
    rules: KaichiRules<P>,
    active: bool,
    /// Each leaf's identity, kept in step with the commits (so a commit
    /// costs what it changes, not a pass over every leaf).
    names: HashMap<u32, IpnsName>,
    /// Whether the ratchet tree changed since it was last persisted.
    tree_changed: bool,
}

impl<P: super::RsPolicy> std::fmt::Debug for RsGroup<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsGroup")
            .field("id", &self.id)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

fn mls(e: impl std::fmt::Display) -> MlsError {
    MlsError::protocol(e)
}

impl<P: super::RsPolicy> RsGroup<P> {
    pub(super) fn new(
        group: Group<RsConfig<P>>,
        me: IpnsName,
        rules: KaichiRules<P>,
    ) -> Result<Self, RuleError> {
        let id = GroupId::from_slice(group.group_id()).map_err(|_| RuleError::GroupId)?;
        let metadata = metadata_of(group.context())?;
        // Every leaf was bound when it joined; one whose device its identity
        // revoked since still names that identity (until the sequencer
        // removes it), and must not keep the group from loading. Parsed in
        // parallel: at 100,000 members the names are a good part of a join.
        let members: Vec<(u32, mls_rs::identity::SigningIdentity)> = group
            .roster()
            .members_iter()
            .map(|m| (m.index, m.signing_identity))
            .collect();
        let devices = rules.devices();
        let names = {
            use rayon::prelude::*;
            members
                .par_iter()
                .map(|(index, id)| {
                    super::identity::bind(id, &**devices)
                        .or_else(|e| super::identity::named(id).ok_or(e))
                        .map(|name| (*index, name))
                        .map_err(RuleError::Credential)
                })
                .collect::<Result<HashMap<u32, IpnsName>, RuleError>>()?
        };
        Ok(Self {
            group,
            id,
            me,
            metadata,
            rules,
            active: true,
            names,
            tree_changed: true,
        })
    }

    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.id
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.group.current_epoch()
    }

    /// The metadata as of the current epoch.
    pub fn metadata(&self) -> &GroupMetadata {
        &self.metadata
    }

    /// Writes the group's state to its engine's [`super::RsStore`] (which
    /// journals it for the database) without the ratchet tree, and returns
    /// the tree, TLS-serialised, when it changed since the last call (it
    /// changes only with commits; application messages write only the
    /// small part of the state).
    pub fn persist(&mut self) -> Result<Option<Vec<u8>>, MlsError> {
        self.group
            .write_to_storage_without_ratchet_tree()
            .map_err(MlsError::storage)?;
        if !self.tree_changed {
            return Ok(None);
        }
        let tree = self.ratchet_tree()?;
        self.tree_changed = false;
        Ok(Some(tree))
    }

    pub(super) fn mark_saved(&mut self) {
        self.tree_changed = false;
    }

    /// Whether this member is still in the group (a commit removing it
    /// makes the group inactive).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The current epoch's authenticator (RFC 9420 §8.7).
    pub fn epoch_authenticator(&self) -> Result<Vec<u8>, MlsError> {
        self.group
            .epoch_authenticator()
            .map(|s| s.as_bytes().to_vec())
            .map_err(mls)
    }

    /// The members, one entry per leaf, by leaf index.
    pub fn members(&self) -> Vec<MemberInfo> {
        let mut out: Vec<MemberInfo> = self
            .names
            .iter()
            .map(|(&leaf, &name)| MemberInfo { name, leaf })
            .collect();
        out.sort_by_key(|m| m.leaf);
        out
    }

    /// The members' identities, each once, sorted.
    pub fn member_names(&self) -> Vec<IpnsName> {
        let names: BTreeSet<IpnsName> = self.names.values().copied().collect();
        names.into_iter().collect()
    }

    /// Whether `name` has a leaf.
    pub fn is_member(&self, name: &IpnsName) -> bool {
        self.names.values().any(|n| n == name)
    }

    /// This member's leaf index.
    pub fn own_leaf(&self) -> u32 {
        self.group.current_member_index()
    }

    /// The ratchet tree, TLS-serialised (for Welcomes sent out of band).
    pub fn ratchet_tree(&self) -> Result<Vec<u8>, MlsError> {
        self.group.export_tree().to_bytes().map_err(mls)
    }

    /// Whether this member is the sequencer (never, in a plain group).
    pub fn is_sequencer(&self) -> bool {
        self.metadata.is_sequencer(&self.me)
    }

    /// Whether this member commits its own operations (the sequencer, or
    /// anyone in a plain group).
    pub fn commits_directly(&self) -> bool {
        self.metadata.is_plain() || self.is_sequencer()
    }

    fn with_context<T>(&self, f: impl FnOnce(PolicyContext<'_>) -> T) -> T {
        let roster = self.group.roster();
        let members = RosterMembers {
            roster: &roster,
            devices: self.rules.devices(),
        };
        f(PolicyContext {
            metadata: &self.metadata,
            members: &members,
        })
    }

    /// Follows a commit's effect in the leaf names; returns the identities
    /// added and removed.
    fn follow(&mut self, effect: &CommitEffect) -> (Vec<IpnsName>, Vec<IpnsName>) {
        let applied = match effect {
            CommitEffect::NewEpoch(e) | CommitEffect::Removed { new_epoch: e, .. } => {
                &e.applied_proposals
            }
            CommitEffect::ReInit(_) => return (Vec::new(), Vec::new()),
        };
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for p in applied {
            if let Proposal::Remove(r) = &p.proposal
                && let Some(name) = self.names.remove(&r.to_remove())
            {
                removed.push(name);
            }
        }
        for p in applied {
            let Proposal::Add(a) = &p.proposal else {
                continue;
            };
            let id = a.signing_identity();
            let Ok(name) = super::identity::bind(id, &**self.rules.devices()) else {
                continue;
            };
            let key = super::identity::leaf_identity(
                name.to_string().as_bytes(),
                id.signature_key.as_bytes(),
            );
            if let Ok(m) = self.group.member_with_identity(&key) {
                self.names.insert(m.index, name);
                added.push(name);
            }
        }
        // An identity with another leaf left is still a member.
        removed.retain(|n| !self.names.values().any(|m| m == n));
        (added, removed)
    }

    fn commit_output(
        &mut self,
        out: mls_rs::group::CommitOutput,
    ) -> Result<CommitOutput, MlsError> {
        let applied = self.group.apply_pending_commit().map_err(mls)?;
        self.tree_changed = true;
        self.follow(&applied.effect);
        self.refresh_metadata();
        let commit = out.commit_message().to_bytes().map_err(mls)?;
        let welcome = out
            .welcome_messages()
            .first()
            .map(|w| w.to_bytes())
            .transpose()
            .map_err(mls)?;
        let ratchet_tree = match welcome {
            Some(_) => Some(self.ratchet_tree()?),
            None => None,
        };
        Ok(CommitOutput {
            commit,
            welcome,
            ratchet_tree,
            epoch: self.epoch(),
        })
    }

    fn refresh_metadata(&mut self) {
        if let Ok(m) = metadata_of(self.group.context()) {
            self.metadata = m;
        }
    }

    /// Adds members by KeyPackage, under the same checks as
    /// [`crate::Group::add`]. The sequencer commits; anyone else proposes.
    pub fn add(&mut self, candidates: &[Candidate]) -> Result<Outgoing, AddError> {
        if candidates.is_empty() {
            return Err(AddError::Empty);
        }
        let mut kps = Vec::with_capacity(candidates.len());
        for c in candidates {
            let bytes = c.key_package_bytes();
            if bytes.len() > MAX_MESSAGE_BYTES {
                return Err(crate::KeyPackageError::TooLarge.into());
            }
            let msg = MlsMessage::from_bytes(bytes).map_err(|_| crate::KeyPackageError::Decode)?;
            let kp = msg.as_key_package().ok_or(crate::KeyPackageError::Decode)?;
            let name = super::identity::bind(kp.signing_identity(), &**self.rules.devices())
                .map_err(crate::KeyPackageError::Credential)?;
            let policy = self.rules.policy().clone();
            self.with_context(|ctx| policy.may_add(ctx, &self.me, &name, c.wallet()))?;
            if self.metadata.token_gate.is_some() && c.wallet().is_none() {
                return Err(Denied::WalletUnknown(name).into());
            }
            kps.push(msg);
        }
        if !self.commits_directly() {
            let mut proposals = Vec::new();
            for kp in kps {
                let p = self
                    .group
                    .propose_add(kp, Vec::new())
                    .and_then(|m| m.to_bytes())
                    .map_err(|e| AddError::Mls(mls(e)))?;
                proposals.push(p);
            }
            return Ok(Outgoing::Proposals(proposals));
        }
        let mut builder = self.group.commit_builder();
        for kp in kps {
            builder = builder.add_member(kp).map_err(|e| AddError::Mls(mls(e)))?;
        }
        let out = builder.build().map_err(|e| AddError::Mls(mls(e)))?;
        self.commit_output(out)
            .map(Outgoing::Commit)
            .map_err(AddError::Mls)
    }

    /// Removes every leaf of the named identities. The sequencer commits;
    /// anyone else proposes.
    pub fn remove(&mut self, names: &[IpnsName]) -> Result<Outgoing, RemoveError> {
        let members = self.members();
        let policy = self.rules.policy().clone();
        let mut leaves = Vec::new();
        for name in names {
            let of: Vec<u32> = members
                .iter()
                .filter(|m| m.name == *name)
                .map(|m| m.leaf)
                .collect();
            if of.is_empty() {
                return Err(RemoveError::NotAMember(*name));
            }
            self.with_context(|ctx| policy.may_remove(ctx, &self.me, name))?;
            leaves.extend(of);
        }
        self.remove_leaves(leaves)
    }

    /// Removes the leaves of `name` that sign with one of `keys` (devices
    /// its identity revoked), as [`crate::Group::remove_devices`] does.
    pub fn remove_devices(
        &mut self,
        name: &IpnsName,
        keys: &[kaichi_identity::IpnsPublicKey],
    ) -> Result<Outgoing, RemoveError> {
        let leaves: Vec<u32> = self
            .group
            .roster()
            .members_iter()
            .filter(|m| {
                self.names.get(&m.index) == Some(name)
                    && keys.iter().any(|k| {
                        k.to_bytes().as_slice() == m.signing_identity.signature_key.as_bytes()
                    })
            })
            .map(|m| m.index)
            .collect();
        if leaves.is_empty() {
            return Ok(Outgoing::Proposals(Vec::new()));
        }
        let policy = self.rules.policy().clone();
        self.with_context(|ctx| policy.may_remove(ctx, &self.me, name))?;
        self.remove_leaves(leaves)
    }

    fn remove_leaves(&mut self, leaves: Vec<u32>) -> Result<Outgoing, RemoveError> {
        if !self.commits_directly() {
            let mut proposals = Vec::new();
            for leaf in leaves {
                let p = self
                    .group
                    .propose_remove(leaf, Vec::new())
                    .and_then(|m| m.to_bytes())
                    .map_err(|e| RemoveError::Mls(mls(e)))?;
                proposals.push(p);
            }
            return Ok(Outgoing::Proposals(proposals));
        }
        let mut builder = self.group.commit_builder();
        for leaf in leaves {
            builder = builder
                .remove_member(leaf)
                .map_err(|e| RemoveError::Mls(mls(e)))?;
        }
        let out = builder.build().map_err(|e| RemoveError::Mls(mls(e)))?;
        self.commit_output(out)
            .map(Outgoing::Commit)
            .map_err(RemoveError::Mls)
    }

    /// Refreshes this member's leaf keys. The sequencer commits; anyone
    /// else proposes an update.
    pub fn self_update(&mut self) -> Result<Outgoing, UpdateError> {
        if !self.commits_directly() {
            let p = self
                .group
                .propose_update(Vec::new())
                .and_then(|m| m.to_bytes())
                .map_err(|e| UpdateError::Mls(mls(e)))?;
            return Ok(Outgoing::Proposals(vec![p]));
        }
        let out = self
            .group
            .commit_builder()
            .build()
            .map_err(|e| UpdateError::Mls(mls(e)))?;
        self.commit_output(out)
            .map(Outgoing::Commit)
            .map_err(UpdateError::Mls)
    }

    /// Proposes this member's removal (the sequencer commits it); the
    /// sequencer must hand the role over first.
    pub fn leave(&mut self) -> Result<Vec<u8>, crate::LeaveError> {
        if self.is_sequencer() {
            return Err(crate::LeaveError::Sequencer);
        }
        let me = self.own_leaf();
        self.group
            .propose_remove(me, Vec::new())
            .and_then(|m| m.to_bytes())
            .map_err(|e| crate::LeaveError::Mls(mls(e)))
    }

    /// Replaces the metadata (rename, admins, or handing the sequencer role
    /// over). The sequencer commits; another admin proposes.
    pub fn set_metadata(
        &mut self,
        metadata: GroupMetadata,
    ) -> Result<Outgoing, crate::MetadataError> {
        let policy = self.rules.policy().clone();
        self.with_context(|ctx| policy.may_change_metadata(ctx, &self.me))?;
        metadata.validate().map_err(crate::MetadataError::Invalid)?;
        if let Some(s) = metadata.sequencer
            && !self.is_member(&s)
        {
            return Err(crate::MetadataError::SequencerNotAMember(s));
        }
        let mut extensions = self.group.context().extensions.clone();
        extensions.set(mls_rs::Extension::new(
            super::METADATA_TYPE,
            metadata.encode(),
        ));
        if !self.commits_directly() {
            let p = self
                .group
                .propose_group_context_extensions(extensions, Vec::new())
                .and_then(|m| m.to_bytes())
                .map_err(|e| crate::MetadataError::Mls(mls(e)))?;
            return Ok(Outgoing::Proposals(vec![p]));
        }
        let out = self
            .group
            .commit_builder()
            .set_group_context_ext(extensions)
            .and_then(|b| b.build())
            .map_err(|e| crate::MetadataError::Mls(mls(e)))?;
        self.commit_output(out)
            .map(Outgoing::Commit)
            .map_err(crate::MetadataError::Mls)
    }

    /// The sequencer commits every proposal it holds.
    pub fn commit_pending(&mut self) -> Result<CommitOutput, crate::CommitError> {
        let policy = self.rules.policy().clone();
        self.with_context(|ctx| policy.may_commit(ctx, &self.me))?;
        if self.group.get_cached_proposals().is_empty() {
            return Err(crate::CommitError::NothingPending);
        }
        let out = self
            .group
            .commit_builder()
            .build()
            .map_err(|e| crate::CommitError::Mls(mls(e)))?;
        self.commit_output(out).map_err(crate::CommitError::Mls)
    }

    /// An application message carrying `plaintext`, as `MLSMessage` bytes.
    pub fn send(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SendError> {
        if plaintext.len() > MAX_MESSAGE_BYTES / 2 {
            return Err(SendError::TooLarge);
        }
        if !self.active {
            return Err(SendError::Inactive);
        }
        self.group
            .encrypt_application_message(plaintext, Vec::new())
            .and_then(|m| m.to_bytes())
            .map_err(|e| SendError::Mls(mls(e)))
    }

    fn name_at(&self, leaf: u32) -> Option<IpnsName> {
        self.names.get(&leaf).copied()
    }

    /// Processes one received `MLSMessage`, as [`crate::Group::process`]
    /// does: commits in epoch order, from whoever the policy lets commit,
    /// with bound credentials; any error leaves the group as it was.
    pub fn process(&mut self, bytes: &[u8]) -> Result<GroupEvent, ProcessError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ProcessError::TooLarge);
        }
        let info = message_info(bytes).map_err(|e| match e {
            crate::MessageInfoError::TooLarge => ProcessError::TooLarge,
            crate::MessageInfoError::Decode => ProcessError::Decode,
            _ => ProcessError::NotAGroupMessage,
        })?;
        if info.group != self.id {
            return Err(ProcessError::WrongGroup);
        }
        let current = self.epoch();
        if info.kind != MessageKind::Application {
            if info.epoch < current {
                return Err(ProcessError::StaleEpoch {
                    message: info.epoch,
                    current,
                });
            }
            if info.epoch > current {
                return Err(ProcessError::FutureEpoch {
                    message: info.epoch,
                    current,
                });
            }
        }
        let message = MlsMessage::from_bytes(bytes).map_err(|_| ProcessError::Decode)?;
        let old_metadata = self.metadata.clone();
        let received =
            self.group
                .process_incoming_message(message)
                .map_err(|e| match rule_error(&e) {
                    Some(RuleError::Credential(c)) => ProcessError::Credential(c.clone()),
                    Some(RuleError::Denied(d)) => ProcessError::Policy(d.clone()),
                    Some(RuleError::Metadata(m)) => ProcessError::Metadata(m.clone()),
                    Some(RuleError::Unsupported | RuleError::External) => {
                        ProcessError::Unsupported("proposal type")
                    }
                    _ => ProcessError::Mls(mls(e)),
                })?;
        match received {
            ReceivedMessage::ApplicationMessage(a) => Ok(GroupEvent::Message {
                from: self
                    .name_at(a.sender_index)
                    .ok_or(ProcessError::Policy(Denied::EmptyLeaf))?,
                text: a.data().to_vec(),
                epoch: info.epoch,
            }),
            ReceivedMessage::Proposal(p) => {
                let mls_rs::group::ProposalSender::Member(leaf) = p.sender else {
                    return Err(ProcessError::Unsupported("external proposal"));
                };
                let from = self
                    .name_at(leaf)
                    .ok_or(ProcessError::Policy(Denied::EmptyLeaf))?;
                let policy = self.rules.policy().clone();
                self.with_context(|ctx| policy.may_propose(ctx, &from))?;
                Ok(GroupEvent::Proposal { from })
            }
            ReceivedMessage::Commit(c) => {
                // The committer's name before its commit applies (a commit
                // never removes its committer).
                let from = self.names.get(&c.committer).copied();
                self.tree_changed = true;
                let (added, removed) = self.follow(&c.effect);
                self.refresh_metadata();
                let from = from.ok_or(ProcessError::Policy(Denied::EmptyLeaf))?;
                if matches!(c.effect, CommitEffect::Removed { .. }) {
                    self.active = false;
                    return Ok(GroupEvent::RemovedSelf { from });
                }
                Ok(GroupEvent::Commit {
                    from,
                    epoch: self.epoch(),
                    added,
                    removed,
                    metadata_changed: self.metadata != old_metadata,
                })
            }
            _ => Err(ProcessError::NotAGroupMessage),
        }
    }
}
