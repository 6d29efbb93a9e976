//! The second MLS engine: [mls-rs](https://github.com/awslabs/mls-rs)
//! (RFC 9420, crypto from `mls-rs-crypto-rustcrypto`), whose group
//! creation, join and commit processing grow linearly with the group where
//! openmls' grow quadratically. Same wire format, same ciphersuite (0x0001),
//! same Kaichi rules: credentials bind to IPNS identities
//! ([`KaichiIdentity`]), the group's metadata lives in extension 0xF1CA and
//! every received commit is checked against the group's policy
//! ([`KaichiRules`]). A group's members may run either engine
//! (`tests/mixed.rs` drives both in one group).
//!
//! [`RsMember`] is one member's engine (key packages, create, join);
//! [`RsGroup`] one member's view of a group, with the same operations and
//! results as [`crate::Group`]. State lives in an [`RsStore`], whose
//! writes the session journals into the group database.

mod group;
mod identity;
mod member;
#[cfg(feature = "sqlite")]
mod persist;
mod rules;
mod store;

pub use group::RsGroup;
pub use identity::{KaichiIdentity, SharedDevices};
pub use member::RsMember;
#[cfg(feature = "sqlite")]
pub(crate) use persist::SCHEMA;
pub use rules::KaichiRules;
pub use store::{MAX_EPOCHS_KEPT, RsStore, RsWrite, StoreError};

use mls_rs::client_builder::{
    BaseConfig, WithCryptoProvider, WithGroupStateStorage, WithIdentityProvider,
    WithKeyPackageRepo, WithMlsRules,
};
use mls_rs::extension::ExtensionType;
use mls_rs::group::GroupContext;
use mls_rs_crypto_rustcrypto::RustCryptoProvider;

use crate::credential::CredentialError;
use crate::metadata::{GroupMetadata, METADATA_EXTENSION, MetadataDecodeError};
use crate::policy::Denied;

/// The mls-rs client configuration of a Kaichi member applying policy `P`
/// (group state and KeyPackages in an [`RsStore`]).
pub type RsConfig<P> = WithGroupStateStorage<
    RsStore,
    WithKeyPackageRepo<
        RsStore,
        WithMlsRules<
            KaichiRules<P>,
            WithIdentityProvider<
                KaichiIdentity,
                WithCryptoProvider<RustCryptoProvider, BaseConfig>,
            >,
        >,
    >,
>;

/// What a policy needs to live inside an mls-rs client configuration.
pub trait RsPolicy: crate::GroupPolicy + Clone + Send + Sync + 'static {}

impl<T: crate::GroupPolicy + Clone + Send + Sync + 'static> RsPolicy for T {}

/// Extension 0xF1CA, as mls-rs names extension types.
pub(crate) const METADATA_TYPE: ExtensionType = ExtensionType::new(METADATA_EXTENSION);

/// Why Kaichi's rules refused something inside mls-rs (recovered from the
/// engine's error).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// A credential does not bind to its key.
    #[error("credential: {0}")]
    Credential(CredentialError),
    /// The policy refused.
    #[error("not allowed: {0}")]
    Denied(#[from] Denied),
    /// The group's metadata is malformed, or a commit drops it.
    #[error("metadata: {0}")]
    Metadata(#[from] MetadataDecodeError),
    /// The group id is not 32 bytes.
    #[error("the group id is not 32 bytes")]
    GroupId,
    /// External senders and external commits: Kaichi groups have none.
    #[error("external senders and commits are not accepted")]
    External,
    /// A proposal type Kaichi does not apply (PSK, ReInit, ExternalInit).
    #[error("unsupported proposal type")]
    Unsupported,
}

impl mls_rs::error::IntoAnyError for RuleError {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}

/// The Kaichi rule behind an mls-rs error, when one refused.
pub(crate) fn rule_error(e: &mls_rs::error::MlsError) -> Option<&RuleError> {
    use mls_rs::error::MlsError as E;
    match e {
        E::IdentityProviderError(any) | E::MlsRulesError(any) => {
            any.inner_dyn_error().downcast_ref::<RuleError>()
        }
        _ => None,
    }
}

/// The metadata of an mls-rs group context (a plain group's defaults
/// without 0xF1CA).
pub(crate) fn metadata_of(context: &GroupContext) -> Result<GroupMetadata, RuleError> {
    let id = crate::GroupId::from_slice(&context.group_id).map_err(|_| RuleError::GroupId)?;
    let value = context
        .extensions
        .get(METADATA_TYPE)
        .map(|e| e.extension_data);
    Ok(GroupMetadata::from_value(&id, value.as_deref())?)
}
