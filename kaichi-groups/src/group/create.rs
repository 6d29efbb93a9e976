//! Creating a group.

use super::MlsError;
use openmls::prelude::{MlsGroup, MlsGroupJoinConfig, PURE_CIPHERTEXT_WIRE_FORMAT_POLICY};
use openmls_traits::OpenMlsProvider;
use openmls_traits::random::OpenMlsRand as _;

use super::{CreateError, Group};
use crate::CIPHERSUITE;
use crate::ids::GroupId;
use crate::keypackage::capabilities;
use crate::metadata::{GroupMetadata, TokenGate};
use crate::signer::MemberSigner;

/// Past epochs whose application messages a member can still decrypt after
/// a commit (messages sent just before a commit, delivered after it), unless
/// [`Group::set_past_epochs`] says otherwise. Each kept epoch costs openmls a
/// rewrite of its message-secrets store per message, so large groups may
/// want fewer.
pub const DEFAULT_PAST_EPOCHS: usize = 5;

/// The most past epochs [`Group::set_past_epochs`] accepts.
pub const MAX_PAST_EPOCHS: usize = 64;

/// This member's local openmls settings (not part of the group's state that
/// other members see).
pub(crate) fn join_config(past_epochs: usize) -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .use_ratchet_tree_extension(false)
        .max_past_epochs(past_epochs)
        .build()
}

/// What a new group starts with; the creator is its sequencer and only admin.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// A token-holder group: who may join (see [`crate::MetadataPolicy`]).
    pub token_gate: Option<TokenGate>,
}

impl NewGroup {
    /// A group with a name and no description.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Makes it a token-holder group: members' wallets must hold at least
    /// `minimum` base units of `mint`.
    pub fn token_gated(mut self, mint: kaichi_identity::WalletAddress, minimum: u64) -> Self {
        self.token_gate = Some(TokenGate { mint, minimum });
        self
    }
}

impl From<&str> for NewGroup {
    fn from(name: &str) -> Self {
        Self::named(name)
    }
}

impl Group {
    /// Creates a group with `me` as its only member, admin and sequencer,
    /// under a random 32-byte id.
    pub fn create(
        provider: &impl OpenMlsProvider,
        me: &MemberSigner,
        new: NewGroup,
    ) -> Result<Self, CreateError> {
        let metadata = GroupMetadata {
            name: new.name,
            description: new.description,
            admins: vec![me.name()],
            sequencer: Some(me.name()),
            token_gate: new.token_gate,
        };
        metadata.validate()?;
        let extensions = metadata.to_extensions().map_err(CreateError::Mls)?;
        let id = GroupId::from_bytes(
            provider
                .rand()
                .random_array::<32>()
                .map_err(|e| CreateError::Mls(MlsError::randomness(e)))?,
        );
        let mls = MlsGroup::builder()
            .with_group_id(id.to_mls())
            .ciphersuite(CIPHERSUITE)
            .with_capabilities(capabilities())
            .with_wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .use_ratchet_tree_extension(false)
            .max_past_epochs(DEFAULT_PAST_EPOCHS)
            .with_group_context_extensions(extensions)
            .build(provider, me, me.credential())
            .map_err(|e| CreateError::Mls(MlsError::protocol(e)))?;
        Ok(Self { mls, id, metadata })
    }
}
