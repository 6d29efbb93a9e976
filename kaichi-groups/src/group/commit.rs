//! Changing the group: adds, removes, updates, metadata. The sequencer
//! commits (and merges at once: its commit defines the next epoch); any
//! other member proposes, and the sequencer commits the proposals later.

use super::MlsError;
use kaichi_identity::{IpnsName, WalletAddress};
use openmls::prelude::{KeyPackage, LeafNodeIndex, MlsMessageOut};
use openmls::treesync::LeafNodeParameters;
use openmls_traits::OpenMlsProvider;

use super::{
    AddError, CommitError, Group, LeaveError, MetadataError, RemoveError, UpdateError, serialize,
};
use crate::credential::DeviceDirectory;
use crate::keypackage::parse_key_package;
use crate::metadata::GroupMetadata;
use crate::policy::{Denied, GroupPolicy};
use crate::signer::MemberSigner;

/// Someone to add: a KeyPackage (`MLSMessage` bytes) and, when known from
/// their verified identity document, their wallet (for token policies).
#[derive(Debug, Clone)]
pub struct Candidate {
    key_package: Vec<u8>,
    wallet: Option<WalletAddress>,
}

impl Candidate {
    /// The KeyPackage (`MLSMessage` bytes).
    pub(crate) fn key_package_bytes(&self) -> &[u8] {
        &self.key_package
    }

    /// The wallet the caller vouched for, if any.
    pub(crate) fn wallet(&self) -> Option<&WalletAddress> {
        self.wallet.as_ref()
    }

    /// A candidate by KeyPackage alone.
    pub fn new(key_package: Vec<u8>) -> Self {
        Self {
            key_package,
            wallet: None,
        }
    }

    /// Adds the wallet that owns the KeyPackage's identity (the caller
    /// verified it, e.g. from the identity document).
    pub fn with_wallet(mut self, wallet: WalletAddress) -> Self {
        self.wallet = Some(wallet);
        self
    }
}

/// What a commit produced: deliver `commit` to the group, and `welcome`
/// with `ratchet_tree` to the new members.
#[derive(Debug, Clone)]
pub struct CommitOutput {
    /// The commit, as `MLSMessage` bytes.
    pub commit: Vec<u8>,
    /// A Welcome for new members, as `MLSMessage` bytes.
    pub welcome: Option<Vec<u8>>,
    /// The ratchet tree new members need beside the Welcome.
    pub ratchet_tree: Option<Vec<u8>>,
    /// The epoch the group is now at.
    pub epoch: u64,
}

/// What an operation produced: a commit (by the sequencer) or a proposal
/// (by anyone else) for the sequencer to commit.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outgoing {
    /// Committed and merged.
    Commit(CommitOutput),
    /// Proposals, each as `MLSMessage` bytes, for the group to deliver.
    Proposals(Vec<Vec<u8>>),
}

impl Group {
    fn finish_commit(
        &mut self,
        provider: &impl OpenMlsProvider,
        commit: &MlsMessageOut,
        welcome: Option<&MlsMessageOut>,
    ) -> Result<CommitOutput, MlsError> {
        let commit = serialize(commit)?;
        let welcome = welcome.map(serialize).transpose()?;
        self.mls
            .merge_pending_commit(provider)
            .map_err(MlsError::protocol)?;
        self.refresh_metadata();
        let ratchet_tree = welcome.as_ref().map(|_| self.ratchet_tree());
        Ok(CommitOutput {
            commit,
            welcome,
            ratchet_tree,
            epoch: self.epoch(),
        })
    }

    pub(super) fn refresh_metadata(&mut self) {
        if let Ok(m) = GroupMetadata::from_context(&self.id, self.mls.extensions()) {
            self.metadata = m;
        }
    }

    /// Adds members by KeyPackage. Each KeyPackage must be valid and bind
    /// its credential to its key, and `policy` must allow `me` to add each
    /// identity; in a token-holder group each candidate must carry its
    /// wallet ([`Candidate::with_wallet`]), or the add is
    /// [`Denied::WalletUnknown`]. The sequencer commits (the output carries the Welcome);
    /// anyone else proposes.
    pub fn add(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        policy: &impl GroupPolicy,
        devices: &(impl DeviceDirectory + ?Sized),
        candidates: &[Candidate],
    ) -> Result<Outgoing, AddError> {
        if candidates.is_empty() {
            return Err(AddError::Empty);
        }
        let mut kps: Vec<KeyPackage> = Vec::with_capacity(candidates.len());
        for c in candidates {
            let (kp, name) = parse_key_package(provider, &c.key_package, devices)?;
            self.with_context(|ctx| policy.may_add(ctx, &me.name(), &name, c.wallet.as_ref()))?;
            // A policy cannot tell a local add without a wallet from a
            // received commit (whose sequencer checked it): the gate is
            // enforced here for local adds.
            if self.metadata.token_gate.is_some() && c.wallet.is_none() {
                return Err(Denied::WalletUnknown(name).into());
            }
            kps.push(kp);
        }
        if !self.commits_directly(me) {
            let mut proposals = Vec::new();
            for kp in &kps {
                let (out, _) = self
                    .mls
                    .propose_add_member(provider, me, kp)
                    .map_err(|e| AddError::Mls(MlsError::protocol(e)))?;
                proposals.push(serialize(&out).map_err(AddError::Mls)?);
            }
            return Ok(Outgoing::Proposals(proposals));
        }
        let (commit, welcome, _) = self
            .mls
            .add_members(provider, me, &kps)
            .map_err(|e| AddError::Mls(MlsError::protocol(e)))?;
        self.finish_commit(provider, &commit, Some(&welcome))
            .map(Outgoing::Commit)
            .map_err(AddError::Mls)
    }

    fn leaves_of(&self, name: &IpnsName) -> Vec<LeafNodeIndex> {
        self.members()
            .into_iter()
            .filter(|m| m.name == *name)
            .map(|m| LeafNodeIndex::new(m.leaf))
            .collect()
    }

    /// Removes every leaf of the named identities. The sequencer commits;
    /// anyone else proposes.
    pub fn remove(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        policy: &impl GroupPolicy,
        names: &[IpnsName],
    ) -> Result<Outgoing, RemoveError> {
        let mut leaves = Vec::new();
        for name in names {
            let of = self.leaves_of(name);
            if of.is_empty() {
                return Err(RemoveError::NotAMember(*name));
            }
            self.with_context(|ctx| policy.may_remove(ctx, &me.name(), name))?;
            leaves.extend(of);
        }
        self.remove_leaves(provider, me, leaves)
    }

    /// Removes the leaves of `name` that sign with one of `keys` (devices
    /// its identity revoked), under the same rule as [`Self::remove`].
    /// Nothing to remove is an empty proposal list.
    pub fn remove_devices(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        policy: &impl GroupPolicy,
        name: &IpnsName,
        keys: &[kaichi_identity::IpnsPublicKey],
    ) -> Result<Outgoing, RemoveError> {
        let leaves: Vec<LeafNodeIndex> = self
            .mls
            .members()
            .filter(|m| {
                super::credential_name(&m.credential).ok() == Some(*name)
                    && keys
                        .iter()
                        .any(|k| k.to_bytes().as_slice() == m.signature_key.as_slice())
            })
            .map(|m| m.index)
            .collect();
        if leaves.is_empty() {
            return Ok(Outgoing::Proposals(Vec::new()));
        }
        self.with_context(|ctx| policy.may_remove(ctx, &me.name(), name))?;
        self.remove_leaves(provider, me, leaves)
    }

    fn remove_leaves(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        leaves: Vec<LeafNodeIndex>,
    ) -> Result<Outgoing, RemoveError> {
        if !self.commits_directly(me) {
            let mut proposals = Vec::new();
            for leaf in leaves {
                let (out, _) = self
                    .mls
                    .propose_remove_member(provider, me, leaf)
                    .map_err(|e| RemoveError::Mls(MlsError::protocol(e)))?;
                proposals.push(serialize(&out).map_err(RemoveError::Mls)?);
            }
            return Ok(Outgoing::Proposals(proposals));
        }
        let (commit, welcome, _) = self
            .mls
            .remove_members(provider, me, &leaves)
            .map_err(|e| RemoveError::Mls(MlsError::protocol(e)))?;
        self.finish_commit(provider, &commit, welcome.as_ref())
            .map(Outgoing::Commit)
            .map_err(RemoveError::Mls)
    }

    /// Refreshes this member's leaf keys (post-compromise security). The
    /// sequencer commits; anyone else proposes an update.
    pub fn self_update(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
    ) -> Result<Outgoing, UpdateError> {
        if !self.commits_directly(me) {
            let (out, _) = self
                .mls
                .propose_self_update(provider, me, LeafNodeParameters::default())
                .map_err(|e| UpdateError::Mls(MlsError::protocol(e)))?;
            return serialize(&out)
                .map(|p| Outgoing::Proposals(vec![p]))
                .map_err(UpdateError::Mls);
        }
        let bundle = self
            .mls
            .self_update(provider, me, LeafNodeParameters::default())
            .map_err(|e| UpdateError::Mls(MlsError::protocol(e)))?;
        let (commit, welcome, _) = bundle.into_contents();
        let welcome = welcome
            .map(|w| MlsMessageOut::from_welcome(w, openmls::prelude::ProtocolVersion::Mls10));
        self.finish_commit(provider, &commit, welcome.as_ref())
            .map(Outgoing::Commit)
            .map_err(UpdateError::Mls)
    }

    /// Proposes this member's removal (the sequencer commits it). The
    /// sequencer must transfer the role first.
    pub fn leave(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
    ) -> Result<Vec<u8>, LeaveError> {
        if self.is_sequencer(me) {
            return Err(LeaveError::Sequencer);
        }
        let out = self
            .mls
            .leave_group(provider, me)
            .map_err(|e| LeaveError::Mls(MlsError::protocol(e)))?;
        serialize(&out).map_err(LeaveError::Mls)
    }

    /// Sequencer: commits every pending proposal (each was checked against
    /// the policy when it arrived).
    pub fn commit_pending(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        policy: &impl GroupPolicy,
    ) -> Result<CommitOutput, CommitError> {
        self.with_context(|ctx| policy.may_commit(ctx, &me.name()))?;
        if self.mls.pending_proposals().next().is_none() {
            return Err(CommitError::NothingPending);
        }
        let (commit, welcome, _) = self
            .mls
            .commit_to_pending_proposals(provider, me)
            .map_err(|e| CommitError::Mls(MlsError::protocol(e)))?;
        self.finish_commit(provider, &commit, welcome.as_ref())
            .map_err(CommitError::Mls)
    }

    /// Replaces the metadata (rename, admins, or handing the sequencer role
    /// to another member). The sequencer commits; another admin proposes.
    pub fn set_metadata(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        policy: &impl GroupPolicy,
        metadata: GroupMetadata,
    ) -> Result<Outgoing, MetadataError> {
        self.with_context(|ctx| policy.may_change_metadata(ctx, &me.name()))?;
        metadata.validate().map_err(MetadataError::Invalid)?;
        if let Some(s) = metadata.sequencer
            && !self.is_member(&s)
        {
            return Err(MetadataError::SequencerNotAMember(s));
        }
        let extensions = metadata.to_extensions().map_err(MetadataError::Mls)?;
        if !self.commits_directly(me) {
            let (out, _) = self
                .mls
                .propose_group_context_extensions(provider, extensions, me)
                .map_err(|e| MetadataError::Mls(MlsError::protocol(e)))?;
            return serialize(&out)
                .map(|p| Outgoing::Proposals(vec![p]))
                .map_err(MetadataError::Mls);
        }
        let (commit, welcome, _) = self
            .mls
            .update_group_context_extensions(provider, extensions, me)
            .map_err(|e| MetadataError::Mls(MlsError::protocol(e)))?;
        self.finish_commit(provider, &commit, welcome.as_ref())
            .map(Outgoing::Commit)
            .map_err(MetadataError::Mls)
    }
}
