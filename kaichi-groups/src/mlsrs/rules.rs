//! Kaichi's group rules as mls-rs' [`MlsRules`]: every received commit is
//! checked against the group's [`GroupPolicy`] (who may commit, add, remove
//! and change the metadata) before mls-rs applies it, as the openmls engine
//! checks a staged commit before merging it. Handshake messages are
//! encrypted (PrivateMessage) and the ratchet tree travels out of band.

use kaichi_identity::IpnsName;
use mls_rs::client_builder::PaddingMode;
use mls_rs::group::proposal::{AddProposal, RemoveProposal};
use mls_rs::group::{GroupContext, Roster, Sender};
use mls_rs::mls_rules::ProposalInfo;
use mls_rs::mls_rules::{
    CommitDirection, CommitOptions, CommitSource, EncryptionOptions, ProposalBundle,
};
use mls_rs::{ExtensionList, MlsRules};

use super::identity::SharedDevices;
use super::{RuleError, metadata_of};
use crate::metadata::GroupMetadata;
use crate::policy::{Denied, GroupPolicy, Members, PolicyContext};

/// The policy and device directory a member's mls-rs engine applies.
#[derive(Clone)]
pub struct KaichiRules<P> {
    policy: P,
    devices: SharedDevices,
}

impl<P> std::fmt::Debug for KaichiRules<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KaichiRules").finish_non_exhaustive()
    }
}

impl<P> KaichiRules<P> {
    /// Rules applying `policy`, with device keys from `devices`.
    pub fn new(policy: P, devices: SharedDevices) -> Self {
        Self { policy, devices }
    }

    /// The policy.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The device directory.
    pub(crate) fn devices(&self) -> &SharedDevices {
        &self.devices
    }
}

/// A roster as the policy's member list.
pub(crate) struct RosterMembers<'a> {
    pub(crate) roster: &'a Roster<'a>,
    pub(crate) devices: &'a SharedDevices,
}

impl Members for RosterMembers<'_> {
    fn has_member(&self, name: &IpnsName) -> bool {
        let wanted = name.to_string();
        self.roster
            .members_iter()
            .any(|m| match &m.signing_identity.credential {
                mls_rs::identity::Credential::Basic(b) => b.identifier == wanted.as_bytes(),
                _ => false,
            })
    }

    fn names(&self) -> Vec<IpnsName> {
        self.roster
            .members_iter()
            .filter_map(|m| super::identity::bind(&m.signing_identity, &**self.devices).ok())
            .collect()
    }
}

impl<P: GroupPolicy + Clone + Send + Sync> KaichiRules<P> {
    fn name_of(&self, roster: &Roster<'_>, sender: &Sender) -> Result<IpnsName, RuleError> {
        let Sender::Member(leaf) = sender else {
            return Err(RuleError::External);
        };
        let member = roster
            .member_with_index(*leaf)
            .map_err(|_| RuleError::Denied(Denied::EmptyLeaf))?;
        super::identity::bind(&member.signing_identity, &*self.devices)
            .map_err(RuleError::Credential)
    }

    /// Checks a received commit's proposals against the policy, as of the
    /// epoch before it.
    fn check(
        &self,
        source: &CommitSource,
        roster: &Roster<'_>,
        context: &GroupContext,
        proposals: &ProposalBundle,
    ) -> Result<(), RuleError> {
        self.in_context(roster, context, |ctx| {
            self.check_in(ctx, source, roster, proposals)
        })
    }

    /// Runs `f` with the policy's view of the group: its metadata and
    /// roster (members bound through the known device grants).
    fn in_context<T>(
        &self,
        roster: &Roster<'_>,
        context: &GroupContext,
        f: impl FnOnce(PolicyContext<'_>) -> Result<T, RuleError>,
    ) -> Result<T, RuleError> {
        let metadata = metadata_of(context)?;
        let members = RosterMembers {
            roster,
            devices: &self.devices,
        };
        f(PolicyContext {
            metadata: &metadata,
            members: &members,
        })
    }

    fn check_in(
        &self,
        ctx: PolicyContext<'_>,
        source: &CommitSource,
        roster: &Roster<'_>,
        proposals: &ProposalBundle,
    ) -> Result<(), RuleError> {
        let by = match source {
            CommitSource::ExistingMember(m) => {
                super::identity::bind(&m.signing_identity, &*self.devices)
                    .map_err(RuleError::Credential)?
            }
            CommitSource::NewMember(_) => return Err(RuleError::External),
        };
        self.policy.may_commit(ctx, &by)?;
        for p in proposals.add_proposals() {
            self.check_add(ctx, roster, p)?;
        }
        for p in proposals.remove_proposals() {
            self.check_remove(ctx, roster, p)?;
        }
        for p in proposals.group_context_ext_proposals() {
            self.check_metadata(ctx, roster, p)?;
        }
        if !proposals.reinit_proposals().is_empty()
            || !proposals.external_init_proposals().is_empty()
        {
            return Err(RuleError::Unsupported);
        }
        Ok(())
    }

    fn check_add(
        &self,
        ctx: PolicyContext<'_>,
        roster: &Roster<'_>,
        p: &ProposalInfo<AddProposal>,
    ) -> Result<(), RuleError> {
        let proposer = self.name_of(roster, &p.sender)?;
        let name = super::identity::bind(p.proposal.signing_identity(), &*self.devices)
            .map_err(RuleError::Credential)?;
        self.policy.may_add(ctx, &proposer, &name, None)?;
        Ok(())
    }

    fn check_remove(
        &self,
        ctx: PolicyContext<'_>,
        roster: &Roster<'_>,
        p: &ProposalInfo<RemoveProposal>,
    ) -> Result<(), RuleError> {
        let proposer = self.name_of(roster, &p.sender)?;
        let member = roster
            .member_with_index(p.proposal.to_remove())
            .map_err(|_| RuleError::Denied(Denied::EmptyLeaf))?;
        // The leaf going need not bind any more (a device its identity
        // revoked): the identity its credential names is what is removed.
        let member = super::identity::bind(&member.signing_identity, &*self.devices)
            .or_else(|e| super::identity::named(&member.signing_identity).ok_or(e))
            .map_err(RuleError::Credential)?;
        self.policy.may_remove(ctx, &proposer, &member)?;
        Ok(())
    }

    fn check_metadata(
        &self,
        ctx: PolicyContext<'_>,
        roster: &Roster<'_>,
        p: &ProposalInfo<ExtensionList>,
    ) -> Result<(), RuleError> {
        let proposer = self.name_of(roster, &p.sender)?;
        self.policy.may_change_metadata(ctx, &proposer)?;
        let value = p
            .proposal
            .get(super::METADATA_TYPE)
            .map(|e| e.extension_data);
        // A Kaichi group keeps its metadata; a plain one may gain it.
        let new = match (ctx.metadata.is_plain(), value) {
            (false, None) => {
                return Err(RuleError::Metadata(
                    crate::metadata::MetadataDecodeError::Missing,
                ));
            }
            (_, Some(v)) => GroupMetadata::decode(&v)?,
            (true, None) => ctx.metadata.clone(),
        };
        if let Some(s) = new.sequencer
            && !ctx.is_member(&s)
        {
            return Err(RuleError::Denied(Denied::SequencerNotAMember(s)));
        }
        Ok(())
    }

    /// Our own commit: proposals received by reference (mls-rs caches every
    /// one it receives, refused or not) are checked again, and those the
    /// policy refuses are left out, so a refused proposal can never ride
    /// in on the sequencer's next commit. Our own proposals and the
    /// operation's own changes were checked before the commit was built.
    fn drop_refused(
        &self,
        roster: &Roster<'_>,
        context: &GroupContext,
        proposals: &mut ProposalBundle,
    ) -> Result<(), RuleError> {
        self.in_context(roster, context, |ctx| {
            let keep = |by_ref: bool, checked: Result<(), RuleError>| -> Result<bool, RuleError> {
                Ok(!by_ref || checked.is_ok())
            };
            proposals.retain_by_type::<AddProposal, _, _>(|p| {
                keep(p.is_by_reference(), self.check_add(ctx, roster, p))
            })?;
            proposals.retain_by_type::<RemoveProposal, _, _>(|p| {
                keep(p.is_by_reference(), self.check_remove(ctx, roster, p))
            })?;
            proposals.retain_by_type::<ExtensionList, _, _>(|p| {
                keep(p.is_by_reference(), self.check_metadata(ctx, roster, p))
            })
        })
    }
}

impl<P: GroupPolicy + Clone + Send + Sync> MlsRules for KaichiRules<P> {
    type Error = RuleError;

    fn filter_proposals(
        &self,
        direction: CommitDirection,
        source: CommitSource,
        roster: &Roster<'_>,
        context: &GroupContext,
        proposals: ProposalBundle,
    ) -> Result<ProposalBundle, RuleError> {
        // The local operations check the policy before they commit; what
        // they carry from the cache is checked again.
        let mut proposals = proposals;
        if direction == CommitDirection::Receive {
            self.check(&source, roster, context, &proposals)?;
        } else {
            self.drop_refused(roster, context, &mut proposals)?;
        }
        Ok(proposals)
    }

    fn commit_options(
        &self,
        _: &Roster<'_>,
        _: &GroupContext,
        _: &ProposalBundle,
    ) -> Result<CommitOptions, RuleError> {
        // A path only where RFC 9420 requires one (12.4: a commit that
        // removes or updates, or is empty): a commit of adds alone then
        // costs what it adds. With a path it is encrypted to the copath's
        // resolution, which after a bulk creation is most of the group
        // (1.6 MB and 1.5 s to add one member to 20,000).
        Ok(CommitOptions::new()
            .with_path_required(false)
            .with_ratchet_tree_extension(false)
            .with_always_out_of_band_ratchet_tree(true)
            .with_single_welcome_message(true))
    }

    fn encryption_options(
        &self,
        _: &Roster<'_>,
        _: &GroupContext,
    ) -> Result<EncryptionOptions, RuleError> {
        Ok(EncryptionOptions::new(true, PaddingMode::None))
    }
}
