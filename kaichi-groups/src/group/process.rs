//! Receiving group messages: decode, order, authorise, then apply.

use super::MlsError;
use kaichi_identity::IpnsName;
use openmls::prelude::{
    ContentType, MlsMessageIn, ProcessedMessageContent, Proposal, ProtocolMessage, QueuedProposal,
    Sender, StagedCommit,
};
use openmls_traits::OpenMlsProvider;
use tls_codec::Deserialize as _;

use super::{Group, ProcessError};
use crate::MAX_MESSAGE_BYTES;
use crate::credential::{DeviceDirectory, credential_name, verify_binding};
use crate::metadata::GroupMetadata;
use crate::policy::{Denied, GroupPolicy};

/// What a received message did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupEvent {
    /// An application message.
    Message {
        /// The sender's identity.
        from: IpnsName,
        /// The plaintext.
        text: Vec<u8>,
        /// The epoch it was sent in.
        epoch: u64,
    },
    /// A proposal, checked and queued for the sequencer's next commit.
    Proposal {
        /// The proposer.
        from: IpnsName,
    },
    /// A commit, checked and applied.
    Commit {
        /// The committer.
        from: IpnsName,
        /// The epoch the group is now at.
        epoch: u64,
        /// Identities that joined.
        added: Vec<IpnsName>,
        /// Identities that left or were removed.
        removed: Vec<IpnsName>,
        /// Whether the metadata changed.
        metadata_changed: bool,
    },
    /// A commit removed this member: the group is inactive now.
    RemovedSelf {
        /// The committer.
        from: IpnsName,
    },
}

impl Group {
    /// Processes one received `MLSMessage`. Commits apply strictly in epoch
    /// order: a commit for a past epoch is [`ProcessError::StaleEpoch`], one
    /// for a later epoch [`ProcessError::FutureEpoch`]. A commit must come
    /// from the sequencer, and every proposal in it must be allowed by
    /// `policy` and carry bound credentials. Any error leaves the group as
    /// it was.
    pub fn process(
        &mut self,
        provider: &impl OpenMlsProvider,
        policy: &impl GroupPolicy,
        devices: &(impl DeviceDirectory + ?Sized),
        bytes: &[u8],
    ) -> Result<GroupEvent, ProcessError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ProcessError::TooLarge);
        }
        let message =
            MlsMessageIn::tls_deserialize_exact(bytes).map_err(|_| ProcessError::Decode)?;
        let message: ProtocolMessage = message
            .try_into_protocol_message()
            .map_err(|_| ProcessError::NotAGroupMessage)?;
        if message.group_id() != self.mls.group_id() {
            return Err(ProcessError::WrongGroup);
        }
        let (at, current) = (message.epoch().as_u64(), self.epoch());
        if at > current {
            return Err(ProcessError::FutureEpoch {
                message: at,
                current,
            });
        }
        if at < current && message.content_type() != ContentType::Application {
            return Err(ProcessError::StaleEpoch {
                message: at,
                current,
            });
        }
        let processed = self
            .mls
            .process_message(provider, message)
            .map_err(|e| ProcessError::Mls(MlsError::protocol(e)))?;
        let from = credential_name(processed.credential())?;
        let epoch = processed.epoch().as_u64();
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(m) => Ok(GroupEvent::Message {
                from,
                text: m.into_bytes(),
                epoch,
            }),
            ProcessedMessageContent::ProposalMessage(proposal) => {
                self.with_context(|ctx| policy.may_propose(ctx, &from))?;
                self.check_proposal(policy, devices, &proposal)?;
                self.mls
                    .store_pending_proposal(provider.storage(), *proposal)
                    .map_err(|e| ProcessError::Mls(MlsError::storage(e)))?;
                Ok(GroupEvent::Proposal { from })
            }
            ProcessedMessageContent::ExternalJoinProposalMessage(_) => {
                Err(ProcessError::Unsupported("external join proposals"))
            }
            ProcessedMessageContent::StagedCommitMessage(commit) => {
                self.apply_commit(provider, policy, devices, from, *commit)
            }
            _ => Err(ProcessError::Unsupported("message kind")),
        }
    }

    fn check_proposal(
        &self,
        policy: &impl GroupPolicy,
        devices: &(impl DeviceDirectory + ?Sized),
        proposal: &QueuedProposal,
    ) -> Result<(), ProcessError> {
        let by = self
            .sender_name(proposal.sender())
            .ok_or(ProcessError::Unsupported("proposals from non-members"))?;
        match proposal.proposal() {
            Proposal::Add(add) => {
                let leaf = add.key_package().leaf_node();
                let name =
                    verify_binding(leaf.credential(), leaf.signature_key().as_slice(), devices)?;
                self.with_context(|ctx| policy.may_add(ctx, &by, &name, None))?;
            }
            Proposal::Remove(remove) => {
                let name = self.name_at(remove.removed()).ok_or(Denied::EmptyLeaf)?;
                self.with_context(|ctx| policy.may_remove(ctx, &by, &name))?;
            }
            Proposal::Update(update) => {
                let leaf = update.leaf_node();
                let name =
                    verify_binding(leaf.credential(), leaf.signature_key().as_slice(), devices)?;
                if name != by {
                    return Err(Denied::ForeignLeaf {
                        by,
                        named: Box::new(name),
                    }
                    .into());
                }
            }
            Proposal::GroupContextExtensions(gce) => {
                self.with_context(|ctx| policy.may_change_metadata(ctx, &by))?;
                // A Kaichi group keeps its metadata (dropping it is refused);
                // a plain group may stay plain or gain valid metadata.
                let new = if self.metadata.is_plain() {
                    GroupMetadata::from_context(&self.id, gce.extensions())?
                } else {
                    GroupMetadata::from_extensions(gce.extensions())?
                };
                if let Some(s) = new.sequencer
                    && !self.is_member(&s)
                {
                    return Err(Denied::SequencerNotAMember(s).into());
                }
            }
            Proposal::SelfRemove => {}
            _ => return Err(ProcessError::Unsupported("proposal type")),
        }
        Ok(())
    }

    fn apply_commit(
        &mut self,
        provider: &impl OpenMlsProvider,
        policy: &impl GroupPolicy,
        devices: &(impl DeviceDirectory + ?Sized),
        from: IpnsName,
        commit: StagedCommit,
    ) -> Result<GroupEvent, ProcessError> {
        self.with_context(|ctx| policy.may_commit(ctx, &from))?;
        for proposal in commit.queued_proposals() {
            // Proposals by value are the committer's own.
            if let Sender::Member(_) = proposal.sender() {
                self.check_proposal(policy, devices, proposal)?;
            } else {
                return Err(ProcessError::Unsupported("proposals from non-members"));
            }
        }
        if let Some(leaf) = commit.update_path_leaf_node() {
            let name = verify_binding(leaf.credential(), leaf.signature_key().as_slice(), devices)?;
            if name != from {
                return Err(Denied::ForeignLeaf {
                    by: from,
                    named: Box::new(name),
                }
                .into());
            }
        }
        if commit.self_removed() {
            self.mls
                .merge_staged_commit(provider, commit)
                .map_err(|e| ProcessError::Mls(MlsError::protocol(e)))?;
            return Ok(GroupEvent::RemovedSelf { from });
        }
        // Who joins and leaves, from the proposals (no scan of the tree).
        let added: Vec<IpnsName> = commit
            .add_proposals()
            .filter_map(|a| {
                credential_name(a.add_proposal().key_package().leaf_node().credential()).ok()
            })
            .collect();
        let removed_leaves: Vec<IpnsName> = commit
            .remove_proposals()
            .filter_map(|r| self.name_at(r.remove_proposal().removed()))
            .collect();
        let old_metadata = self.metadata.clone();
        self.mls
            .merge_staged_commit(provider, commit)
            .map_err(|e| ProcessError::Mls(MlsError::protocol(e)))?;
        self.refresh_metadata();
        // An identity is removed when its last leaf goes.
        let mut removed = Vec::new();
        for name in removed_leaves {
            if !removed.contains(&name) && !self.is_member(&name) {
                removed.push(name);
            }
        }
        Ok(GroupEvent::Commit {
            from,
            epoch: self.epoch(),
            added,
            removed,
            metadata_changed: self.metadata != old_metadata,
        })
    }
}
