//! Joining a group from a Welcome.

use super::MlsError;
use openmls::prelude::{MlsGroup, MlsMessageBodyIn, MlsMessageIn, RatchetTreeIn, StagedWelcome};
use openmls_traits::OpenMlsProvider;
use tls_codec::Deserialize as _;

use super::create::{DEFAULT_PAST_EPOCHS, join_config};
use super::{Group, JoinError};
use crate::MAX_MESSAGE_BYTES;
use crate::credential::{DeviceDirectory, verify_binding};
use crate::metadata::GroupMetadata;

impl Group {
    /// Joins from a Welcome (`MLSMessage` bytes) and the group's ratchet tree
    /// (TLS-serialised; `None` when the Welcome carries it inline). Every
    /// member's credential must bind to its key, and Kaichi metadata, when
    /// the group carries it, must be valid; otherwise nothing is kept. A
    /// group without Kaichi metadata (a plain RFC 9420 group) is joined with
    /// [`GroupMetadata::plain`]'s defaults.
    pub fn join(
        provider: &impl OpenMlsProvider,
        welcome: &[u8],
        ratchet_tree: Option<&[u8]>,
        devices: &(impl DeviceDirectory + ?Sized),
    ) -> Result<Self, JoinError> {
        if welcome.len() > MAX_MESSAGE_BYTES
            || ratchet_tree.is_some_and(|t| t.len() > crate::MAX_TREE_BYTES)
        {
            return Err(JoinError::TooLarge);
        }
        let message =
            MlsMessageIn::tls_deserialize_exact(welcome).map_err(|_| JoinError::Decode)?;
        let MlsMessageBodyIn::Welcome(welcome) = message.extract() else {
            return Err(JoinError::Decode);
        };
        let tree = ratchet_tree
            .map(|t| RatchetTreeIn::tls_deserialize_exact(t).map_err(|_| JoinError::Decode))
            .transpose()?;
        let config = join_config(DEFAULT_PAST_EPOCHS);
        let mut builder = StagedWelcome::build_from_welcome(provider, &config, welcome)
            .map_err(|e| JoinError::Mls(MlsError::protocol(e)))?;
        if let Some(tree) = tree {
            builder = builder.with_ratchet_tree(tree);
        }
        // A member removed earlier and invited again: its old, inactive state
        // gives way. An active group with this id is not replaced.
        let id = builder
            .processed_welcome()
            .unverified_group_info()
            .group_id()
            .clone();
        if id.as_slice().len() != crate::GroupId::LEN {
            return Err(JoinError::GroupIdLength(id.as_slice().len()));
        }
        match MlsGroup::load(provider.storage(), &id) {
            Ok(Some(old)) if old.is_active() => return Err(JoinError::AlreadyMember),
            Ok(Some(_)) => builder = builder.replace_old_group(),
            Ok(None) => {}
            Err(e) => return Err(JoinError::Mls(MlsError::storage(e))),
        }
        let staged = builder
            .build()
            .map_err(|e| JoinError::Mls(MlsError::protocol(e)))?;
        for member in staged.members() {
            verify_binding(&member.credential, &member.signature_key, devices).map_err(
                |error| JoinError::Credential {
                    leaf: member.index.u32(),
                    error,
                },
            )?;
        }
        // Kaichi metadata when the group has it (malformed: refused), a
        // plain group's defaults otherwise.
        let id = crate::GroupId::from_slice(id.as_slice())
            .map_err(|_| JoinError::GroupIdLength(id.as_slice().len()))?;
        GroupMetadata::from_context(&id, staged.group_context().extensions())?;
        let mls = staged
            .into_group(provider)
            .map_err(|e| JoinError::Mls(MlsError::protocol(e)))?;
        Ok(Self::from_mls(mls)?)
    }
}
