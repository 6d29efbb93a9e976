//! One error enum per group operation.

use kaichi_identity::IpnsName;

use crate::credential::CredentialError;
use crate::keypackage::KeyPackageError;
use crate::metadata::MetadataDecodeError;
use crate::policy::Denied;

use super::MlsError;

/// A group could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The metadata is over its bounds.
    #[error("metadata: {0}")]
    Metadata(#[from] MetadataDecodeError),
    /// openmls failed (storage, crypto, randomness).
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// A group could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The storage failed.
    #[error("storage: {0}")]
    Storage(#[source] MlsError),
    /// The stored group has no valid Kaichi metadata.
    #[error("metadata: {0}")]
    Metadata(MetadataDecodeError),
}

/// A local setting could not be changed; the old one stands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// More past epochs than [`crate::MAX_PAST_EPOCHS`].
    #[error("{0} past epochs is over the bound")]
    TooManyPastEpochs(usize),
    /// The storage failed.
    #[error("storage: {0}")]
    Storage(#[source] MlsError),
}

/// A Welcome could not be accepted; nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// Over the size bound.
    #[error("message too large")]
    TooLarge,
    /// Not an `MLSMessage` carrying a Welcome, or a bad ratchet tree.
    #[error("not a Welcome MLSMessage (or an unreadable ratchet tree)")]
    Decode,
    /// openmls refused it (no matching KeyPackage, bad signatures, no tree…).
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
    /// A member's credential does not bind to its key.
    #[error("member at leaf {leaf}: {error}")]
    Credential {
        /// The leaf.
        leaf: u32,
        /// Why.
        error: CredentialError,
    },
    /// The group has no valid Kaichi metadata.
    #[error("metadata: {0}")]
    Metadata(#[from] MetadataDecodeError),
    /// This member is already in that group (an active state exists).
    #[error("already a member of this group")]
    AlreadyMember,
    /// The Welcome names none of this engine's KeyPackages (another
    /// engine, or another member, made the KeyPackage it is for).
    #[error("the Welcome is for none of this member's KeyPackages")]
    NotForMe,
    /// The group id is not 32 bytes (Kaichi names groups, their topics and
    /// their logs by 32-byte ids).
    #[error("the group id is {0} bytes; Kaichi joins groups with 32-byte ids")]
    GroupIdLength(usize),
    /// The ratchet tree does not decode or is malformed.
    #[error("ratchet tree: {0}")]
    Tree(#[from] crate::tree::TreeError),
}

/// Members could not be added; the group is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// No KeyPackages given.
    #[error("nobody to add")]
    Empty,
    /// A KeyPackage is invalid or unbound.
    #[error("KeyPackage: {0}")]
    KeyPackage(#[from] KeyPackageError),
    /// The policy refused.
    #[error("not allowed: {0}")]
    Policy(#[from] Denied),
    /// openmls refused.
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// Members could not be removed; the group is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoveError {
    /// That identity has no leaf in the group.
    #[error("{0} is not a member")]
    NotAMember(IpnsName),
    /// The policy refused.
    #[error("not allowed: {0}")]
    Policy(#[from] Denied),
    /// openmls refused.
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// A self-update could not be made; the group is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// openmls refused.
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// Leaving failed; the group is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaveError {
    /// The sequencer must hand the role to someone else first.
    #[error("the sequencer cannot leave; transfer the role first")]
    Sequencer,
    /// openmls refused.
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// Pending proposals could not be committed; the group is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// Only the sequencer commits.
    #[error("not allowed: {0}")]
    Policy(#[from] Denied),
    /// No proposals are pending.
    #[error("no pending proposals")]
    NothingPending,
    /// openmls refused.
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// The metadata could not be changed; the group is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The policy refused.
    #[error("not allowed: {0}")]
    Policy(#[from] Denied),
    /// The new metadata is over its bounds.
    #[error("invalid metadata: {0}")]
    Invalid(#[source] MetadataDecodeError),
    /// The new metadata names a sequencer who is not a member.
    #[error("the sequencer {0} is not a member")]
    SequencerNotAMember(IpnsName),
    /// openmls refused.
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// An application message could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The plaintext is over the bound.
    #[error("message too large")]
    TooLarge,
    /// This member was removed.
    #[error("not a member any more")]
    Inactive,
    /// openmls refused.
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
}

/// A received message was refused; the group state is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// Over [`crate::MAX_MESSAGE_BYTES`].
    #[error("message too large")]
    TooLarge,
    /// Not a TLS-serialised `MLSMessage`.
    #[error("not an MLSMessage")]
    Decode,
    /// An `MLSMessage`, but not a group message (a Welcome, a KeyPackage…).
    #[error("not a group message")]
    NotAGroupMessage,
    /// For another group.
    #[error("message for another group")]
    WrongGroup,
    /// A handshake message for an epoch already past (a replay, or the
    /// losing commit of two for one epoch).
    #[error("stale: message for epoch {message}, group at {current}")]
    StaleEpoch {
        /// The message's epoch.
        message: u64,
        /// The group's epoch.
        current: u64,
    },
    /// For an epoch not reached yet: apply the commits before it first.
    #[error("early: message for epoch {message}, group at {current}")]
    FutureEpoch {
        /// The message's epoch.
        message: u64,
        /// The group's epoch.
        current: u64,
    },
    /// openmls refused it (decryption, signature, membership, replay).
    #[error("mls: {0}")]
    Mls(#[source] MlsError),
    /// A credential in it does not bind to its key.
    #[error("credential: {0}")]
    Credential(#[from] CredentialError),
    /// Its sender was not allowed to do what it does.
    #[error("not allowed: {0}")]
    Policy(#[from] Denied),
    /// New metadata in it is invalid.
    #[error("metadata: {0}")]
    Metadata(#[from] MetadataDecodeError),
    /// A proposal type Kaichi does not accept (PSK, ReInit, external…).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}
