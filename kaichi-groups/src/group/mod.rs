//! A group as seen by one member: openmls' `MlsGroup` plus the metadata
//! and the rules Kaichi adds.

mod commit;
mod create;
mod errors;
mod join;
mod mls_error;
mod process;

use kaichi_identity::IpnsName;
use openmls::prelude::{LeafNodeIndex, MlsGroup, MlsMessageOut, Sender};
use openmls_traits::OpenMlsProvider;
use tls_codec::Serialize as _;

pub use commit::{Candidate, CommitOutput, Outgoing};
pub use create::{DEFAULT_PAST_EPOCHS, MAX_PAST_EPOCHS, NewGroup};
pub use errors::{
    AddError, CommitError, CreateError, JoinError, LeaveError, LoadError, MetadataError,
    ProcessError, RemoveError, SendError, SettingsError, UpdateError,
};
pub use mls_error::{MlsError, MlsErrorKind};
pub use process::GroupEvent;

use crate::credential::credential_name;
use crate::ids::GroupId;
use crate::metadata::GroupMetadata;
use crate::policy::PolicyContext;
use crate::signer::MemberSigner;

/// A group member as the tree shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// Its identity.
    pub name: IpnsName,
    /// Its leaf index (one identity may have several leaves: devices).
    pub leaf: u32,
}

/// One member's view of a group. Operations that change the group return
/// wire messages to deliver; received messages go to [`Group::process`].
#[derive(Debug)]
pub struct Group {
    mls: MlsGroup,
    id: GroupId,
    metadata: GroupMetadata,
}

impl Group {
    fn from_mls(mls: MlsGroup) -> Result<Self, crate::metadata::MetadataDecodeError> {
        let id = GroupId::from_slice(mls.group_id().as_slice())
            .map_err(|_| crate::metadata::MetadataDecodeError::Decode)?;
        let metadata = GroupMetadata::from_context(&id, mls.extensions())?;
        Ok(Self { mls, id, metadata })
    }

    /// Loads a group from `provider`'s storage; `None` when it holds none
    /// with this id.
    pub fn load(provider: &impl OpenMlsProvider, id: &GroupId) -> Result<Option<Self>, LoadError> {
        let mls = MlsGroup::load(provider.storage(), &id.to_mls())
            .map_err(|e| LoadError::Storage(MlsError::storage(e)))?;
        mls.map(Self::from_mls)
            .transpose()
            .map_err(LoadError::Metadata)
    }

    /// Deletes the group's state from `provider`'s storage.
    pub fn delete(mut self, provider: &impl OpenMlsProvider) -> Result<(), LoadError> {
        self.mls
            .delete(provider.storage())
            .map_err(|e| LoadError::Storage(MlsError::storage(e)))
    }

    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.id
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.mls.epoch().as_u64()
    }

    /// The metadata as of the current epoch.
    pub fn metadata(&self) -> &GroupMetadata {
        &self.metadata
    }

    /// Whether this member is still in the group.
    pub fn is_active(&self) -> bool {
        self.mls.is_active()
    }

    /// The members, by leaf.
    pub fn members(&self) -> Vec<MemberInfo> {
        self.mls
            .members()
            .filter_map(|m| {
                Some(MemberInfo {
                    name: credential_name(&m.credential).ok()?,
                    leaf: m.index.u32(),
                })
            })
            .collect()
    }

    /// Whether `name` has a leaf in the group (a byte scan of the leaves'
    /// credentials; nothing is parsed).
    pub fn is_member(&self, name: &IpnsName) -> bool {
        has_leaf(&self.mls, name)
    }

    /// The distinct member identities, sorted.
    pub fn member_names(&self) -> Vec<IpnsName> {
        let mut names: Vec<IpnsName> = self.members().into_iter().map(|m| m.name).collect();
        names.sort_by_key(|n| n.to_bytes());
        names.dedup();
        names
    }

    /// The current ratchet tree, TLS-serialised (what a Welcome's recipient
    /// needs beside it; Kaichi never inlines it).
    pub fn ratchet_tree(&self) -> Vec<u8> {
        self.mls
            .export_ratchet_tree()
            .tls_serialize_detached()
            .unwrap_or_default()
    }

    /// How many past epochs' application messages this member can still
    /// decrypt (local; see [`DEFAULT_PAST_EPOCHS`]). `None` when the group's
    /// openmls configuration was set through [`Group::as_mls_mut`] to
    /// something Kaichi does not make.
    pub fn past_epochs(&self) -> Option<usize> {
        // openmls keeps its getter crate-private; the configurations Kaichi
        // makes differ only in this number.
        let current = self.mls.configuration();
        (0..=MAX_PAST_EPOCHS).find(|&n| create::join_config(n) == *current)
    }

    /// Keeps the secrets of `past_epochs` past epochs (at most
    /// [`MAX_PAST_EPOCHS`]; 0 drops late messages after every commit but
    /// makes each message cheaper in a large group). A local setting, stored
    /// with the group; the other members are not affected.
    pub fn set_past_epochs(
        &mut self,
        provider: &impl OpenMlsProvider,
        past_epochs: usize,
    ) -> Result<(), SettingsError> {
        if past_epochs > MAX_PAST_EPOCHS {
            return Err(SettingsError::TooManyPastEpochs(past_epochs));
        }
        self.mls
            .set_configuration(provider.storage(), &create::join_config(past_epochs))
            .map_err(|e| SettingsError::Storage(MlsError::storage(e)))
    }

    /// This member's leaf index.
    pub fn own_leaf(&self) -> u32 {
        self.mls.own_leaf_index().u32()
    }

    /// The openmls group underneath: an escape hatch for what this API does
    /// not cover. Changes made through it bypass Kaichi's rules (sequencer,
    /// policy, credential binding) on this side; other members still apply them.
    pub fn as_mls_mut(&mut self) -> &mut MlsGroup {
        &mut self.mls
    }

    /// The current epoch's authenticator (RFC 9420 §8.7): equal at every
    /// member that agrees on the group's history.
    pub fn epoch_authenticator(&self) -> Vec<u8> {
        self.mls.epoch_authenticator().as_slice().to_vec()
    }

    /// Whether `me` is the sequencer (never, in a plain group).
    pub fn is_sequencer(&self, me: &MemberSigner) -> bool {
        self.metadata.is_sequencer(&me.name())
    }

    /// Whether `me` commits its own operations: the sequencer does, and in
    /// a plain RFC 9420 group (no sequencer) every member does; anyone else
    /// proposes them for the sequencer to commit.
    pub fn commits_directly(&self, me: &MemberSigner) -> bool {
        self.metadata.is_plain() || self.is_sequencer(me)
    }

    /// An application message carrying `plaintext`, as `MLSMessage` bytes.
    pub fn send(
        &mut self,
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SendError> {
        if plaintext.len() > crate::MAX_MESSAGE_BYTES / 2 {
            return Err(SendError::TooLarge);
        }
        if !self.mls.is_active() {
            return Err(SendError::Inactive);
        }
        let out = self
            .mls
            .create_message(provider, me, plaintext)
            .map_err(|e| SendError::Mls(MlsError::protocol(e)))?;
        serialize(&out).map_err(SendError::Mls)
    }

    fn name_at(&self, leaf: LeafNodeIndex) -> Option<IpnsName> {
        self.mls.member(leaf).and_then(|c| credential_name(c).ok())
    }

    fn sender_name(&self, sender: &Sender) -> Option<IpnsName> {
        match sender {
            Sender::Member(leaf) => self.name_at(*leaf),
            _ => None,
        }
    }

    fn with_context<T>(&self, f: impl FnOnce(PolicyContext<'_>) -> T) -> T {
        f(PolicyContext {
            metadata: &self.metadata,
            members: &self.mls,
        })
    }
}

/// Whether `name` has a leaf in `group`: compares the credentials' identity
/// bytes with the name's text, without parsing any of them.
pub(crate) fn has_leaf(group: &MlsGroup, name: &IpnsName) -> bool {
    let wanted = name.to_string();
    group.members().any(|m| {
        openmls::prelude::BasicCredential::try_from(m.credential)
            .is_ok_and(|c| c.identity() == wanted.as_bytes())
    })
}

pub(crate) fn serialize(out: &MlsMessageOut) -> Result<Vec<u8>, MlsError> {
    out.tls_serialize_detached().map_err(MlsError::protocol)
}
