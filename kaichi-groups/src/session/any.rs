//! A loaded group in whichever engine holds it, with the operations the
//! session runs on it.

use kaichi_identity::IpnsName;

use super::Ctx;
use crate::group::{
    AddError, Candidate, CommitError, Group, GroupEvent, LeaveError, MemberInfo, MetadataError,
    Outgoing, ProcessError, RemoveError, SendError, UpdateError,
};
use crate::metadata::GroupMetadata;
use crate::mlsrs::{RsGroup, RsPolicy};
use crate::storage::SqliteProvider;
use crate::{GroupEngine, GroupId, MemberSigner};

/// One member's view of a group, held by openmls or by mls-rs.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyGroup<P: RsPolicy> {
    /// Held by openmls.
    OpenMls(Box<Group>),
    /// Held by mls-rs.
    MlsRs(Box<RsGroup<P>>),
}

impl<P: RsPolicy> AnyGroup<P> {
    /// The engine holding it.
    pub fn engine(&self) -> GroupEngine {
        match self {
            Self::OpenMls(_) => GroupEngine::OpenMls,
            Self::MlsRs(_) => GroupEngine::MlsRs,
        }
    }

    /// The group's id.
    pub fn id(&self) -> GroupId {
        match self {
            Self::OpenMls(g) => g.id(),
            Self::MlsRs(g) => g.id(),
        }
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        match self {
            Self::OpenMls(g) => g.epoch(),
            Self::MlsRs(g) => g.epoch(),
        }
    }

    /// The metadata as of the current epoch.
    pub fn metadata(&self) -> &GroupMetadata {
        match self {
            Self::OpenMls(g) => g.metadata(),
            Self::MlsRs(g) => g.metadata(),
        }
    }

    /// Whether this member is still in it.
    pub fn is_active(&self) -> bool {
        match self {
            Self::OpenMls(g) => g.is_active(),
            Self::MlsRs(g) => g.is_active(),
        }
    }

    /// The members, one entry per leaf.
    pub fn members(&self) -> Vec<MemberInfo> {
        match self {
            Self::OpenMls(g) => g.members(),
            Self::MlsRs(g) => g.members(),
        }
    }

    /// The members' identities, each once, sorted.
    pub fn member_names(&self) -> Vec<IpnsName> {
        match self {
            Self::OpenMls(g) => g.member_names(),
            Self::MlsRs(g) => g.member_names(),
        }
    }

    /// Whether `name` has a leaf.
    pub fn is_member(&self, name: &IpnsName) -> bool {
        match self {
            Self::OpenMls(g) => g.is_member(name),
            Self::MlsRs(g) => g.is_member(name),
        }
    }

    /// Whether `me` is the sequencer.
    pub fn is_sequencer(&self, me: &MemberSigner) -> bool {
        match self {
            Self::OpenMls(g) => g.is_sequencer(me),
            Self::MlsRs(g) => g.is_sequencer(),
        }
    }

    /// Whether `me` commits its own operations.
    pub fn commits_directly(&self, me: &MemberSigner) -> bool {
        match self {
            Self::OpenMls(g) => g.commits_directly(me),
            Self::MlsRs(g) => g.commits_directly(),
        }
    }

    /// The current epoch's authenticator (RFC 9420 §8.7).
    pub fn epoch_authenticator(&self) -> Vec<u8> {
        match self {
            Self::OpenMls(g) => g.epoch_authenticator(),
            Self::MlsRs(g) => g.epoch_authenticator().unwrap_or_default(),
        }
    }

    pub(crate) fn send(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
        text: &[u8],
    ) -> Result<Vec<u8>, SendError> {
        match self {
            Self::OpenMls(g) => g.send(p, ctx.me, text),
            Self::MlsRs(g) => g.send(text),
        }
    }

    pub(crate) fn add(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
        candidates: &[Candidate],
    ) -> Result<Outgoing, AddError> {
        match self {
            Self::OpenMls(g) => g.add(p, ctx.me, ctx.policy, ctx.devices, candidates),
            Self::MlsRs(g) => g.add(candidates),
        }
    }

    pub(crate) fn remove(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
        names: &[IpnsName],
    ) -> Result<Outgoing, RemoveError> {
        match self {
            Self::OpenMls(g) => g.remove(p, ctx.me, ctx.policy, names),
            Self::MlsRs(g) => g.remove(names),
        }
    }

    pub(crate) fn remove_devices(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
        name: &IpnsName,
        keys: &[kaichi_identity::IpnsPublicKey],
    ) -> Result<Outgoing, RemoveError> {
        match self {
            Self::OpenMls(g) => g.remove_devices(p, ctx.me, ctx.policy, name, keys),
            Self::MlsRs(g) => g.remove_devices(name, keys),
        }
    }

    pub(crate) fn set_metadata(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
        metadata: GroupMetadata,
    ) -> Result<Outgoing, MetadataError> {
        match self {
            Self::OpenMls(g) => g.set_metadata(p, ctx.me, ctx.policy, metadata),
            Self::MlsRs(g) => g.set_metadata(metadata),
        }
    }

    pub(crate) fn self_update(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
    ) -> Result<Outgoing, UpdateError> {
        match self {
            Self::OpenMls(g) => g.self_update(p, ctx.me),
            Self::MlsRs(g) => g.self_update(),
        }
    }

    pub(crate) fn leave(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
    ) -> Result<Vec<u8>, LeaveError> {
        match self {
            Self::OpenMls(g) => g.leave(p, ctx.me),
            Self::MlsRs(g) => g.leave(),
        }
    }

    pub(crate) fn commit_pending(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
    ) -> Result<crate::CommitOutput, CommitError> {
        match self {
            Self::OpenMls(g) => g.commit_pending(p, ctx.me, ctx.policy),
            Self::MlsRs(g) => g.commit_pending(),
        }
    }

    pub(crate) fn process(
        &mut self,
        p: &SqliteProvider<'_>,
        ctx: &Ctx<'_, P>,
        bytes: &[u8],
    ) -> Result<GroupEvent, ProcessError> {
        match self {
            Self::OpenMls(g) => g.process(p, ctx.policy, ctx.devices, bytes),
            Self::MlsRs(g) => g.process(bytes),
        }
    }
}
