//! One error enum per kind of session operation.

use kaichi_identity::IpnsName;

use crate::group::{
    AddError, CommitError, CreateError, JoinError, LeaveError, LoadError, MetadataError,
    ProcessError, RemoveError, SendError, UpdateError,
};
use crate::ids::GroupId;
use crate::storage::DatabaseError;
use crate::wire::MessageInfoError;

/// A group named by a user could not be found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FindError {
    /// No group this member is in has that id or name.
    #[error("not in a group {0:?}")]
    NoSuchGroup(String),
    /// Several groups carry that name.
    #[error("{count} groups are named {name:?}: use the id")]
    Ambiguous {
        /// The name asked for.
        name: String,
        /// How many groups carry it.
        count: usize,
    },
}

/// A local operation on a group (create, send, add, remove, update, leave,
/// metadata, commit) failed; the group and the database are unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The group is not one this member is in.
    #[error(transparent)]
    Find(#[from] FindError),
    /// The group is not loaded (this member left or was removed).
    #[error("group {0} is not active here")]
    NotLoaded(GroupId),
    /// The operation names someone who has no leaf in the group.
    #[error("{0} is not a member")]
    NotAMember(IpnsName),
    /// The group could not be created.
    #[error(transparent)]
    Create(#[from] CreateError),
    /// The message could not be made.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The add was refused.
    #[error(transparent)]
    Add(#[from] AddError),
    /// The removal was refused.
    #[error(transparent)]
    Remove(#[from] RemoveError),
    /// The self-update failed.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// Leaving failed.
    #[error(transparent)]
    Leave(#[from] LeaveError),
    /// The commit of pending proposals failed.
    #[error(transparent)]
    Commit(#[from] CommitError),
    /// The metadata change was refused.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The group's state could not be reloaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The database failed.
    #[error("group database: {0}")]
    Database(#[from] DatabaseError),
}

impl SessionError {
    /// The policy refusal behind this error, if it is one (not an admin,
    /// holds X needs Y, not the sequencer ...).
    pub fn denied(&self) -> Option<&crate::policy::Denied> {
        match self {
            Self::Add(AddError::Policy(d))
            | Self::Remove(RemoveError::Policy(d))
            | Self::Commit(CommitError::Policy(d))
            | Self::Metadata(MetadataError::Policy(d)) => Some(d),
            _ => None,
        }
    }
}

/// A received MLS message could not be put in its group's log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// Not an MLS group message (or an unreadable header).
    #[error(transparent)]
    Header(#[from] MessageInfoError),
    /// For a group this member is not in.
    #[error("message for group {0}, which this member is not in")]
    NotInGroup(GroupId),
    /// For another group than the one it arrived for.
    #[error("message for group {got}, expected {expected}")]
    WrongGroup {
        /// The group it arrived for (its topic).
        expected: GroupId,
        /// The group its header names.
        got: GroupId,
    },
    /// The database failed.
    #[error("group database: {0}")]
    Database(#[from] DatabaseError),
}

/// A received message could not be applied now; the group is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The group is not one this member is in.
    #[error(transparent)]
    Find(#[from] FindError),
    /// The group is not loaded.
    #[error("group {0} is not active here")]
    NotLoaded(GroupId),
    /// The message was refused.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The group's state could not be reloaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The database failed.
    #[error("group database: {0}")]
    Database(#[from] DatabaseError),
}

impl ApplyError {
    /// The identity whose leaf signs with a key no known document grants:
    /// worth looking its current document up and trying again.
    pub fn unbound(&self) -> Option<IpnsName> {
        match self {
            Self::Process(ProcessError::Credential(crate::CredentialError::Unbound(n))) => Some(*n),
            _ => None,
        }
    }
}

/// A Welcome could not be accepted; nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinGroupError {
    /// The Welcome was refused.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// The Welcome is for another group than the invitation named.
    #[error("the Welcome is for group {got}, the invitation named {expected}")]
    WrongGroup {
        /// The group the invitation named.
        expected: GroupId,
        /// The group the Welcome is for.
        got: GroupId,
    },
    /// The database failed.
    #[error("group database: {0}")]
    Database(#[from] DatabaseError),
}

impl JoinGroupError {
    /// The identity whose leaf signs with a key no known document grants.
    pub fn unbound(&self) -> Option<IpnsName> {
        match self {
            Self::Join(JoinError::Credential {
                error: crate::CredentialError::Unbound(n),
                ..
            }) => Some(*n),
            _ => None,
        }
    }
}

/// The published KeyPackage could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyPackagePrepareError {
    /// A KeyPackage could not be made.
    #[error(transparent)]
    KeyPackage(#[from] crate::KeyPackageError),
    /// The database failed.
    #[error("group database: {0}")]
    Database(#[from] DatabaseError),
}
