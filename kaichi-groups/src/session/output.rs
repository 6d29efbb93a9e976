//! What a [`super::GroupSession`] asks its driver to do, or tells it.

use kaichi_identity::IpnsName;

use crate::group::ProcessError;
use crate::ids::GroupId;

/// One output of a [`super::GroupSession`], taken with
/// [`super::GroupSession::poll_output`] after every call that changes it.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionOutput {
    /// An MLS message this member made (a message, a proposal or a commit),
    /// already in the group's log: deliver it to the group.
    Publish {
        /// The group.
        group: GroupId,
        /// The `MLSMessage` bytes.
        message: Vec<u8>,
    },
    /// A commit of this member's added members: deliver the Welcome and the
    /// ratchet tree to each of them.
    Welcome {
        /// The group.
        group: GroupId,
        /// The Welcome, as `MLSMessage` bytes.
        welcome: Vec<u8>,
        /// The ratchet tree the Welcome needs beside it.
        ratchet_tree: Vec<u8>,
        /// The identities to deliver it to.
        to: Vec<IpnsName>,
    },
    /// An application message was received and kept.
    Message {
        /// The group.
        group: GroupId,
        /// The sender.
        from: IpnsName,
        /// The plaintext.
        text: Vec<u8>,
        /// The epoch it was sent in.
        epoch: u64,
    },
    /// A proposal was received and queued for the sequencer.
    Proposal {
        /// The group.
        group: GroupId,
        /// The proposer.
        from: IpnsName,
    },
    /// A commit was applied (received, or made by this member).
    Changed {
        /// The group.
        group: GroupId,
        /// The epoch it is at now.
        epoch: u64,
        /// Identities that joined.
        added: Vec<IpnsName>,
        /// Identities that left or were removed.
        removed: Vec<IpnsName>,
    },
    /// This member joined a group from a Welcome.
    Joined {
        /// The group.
        group: GroupId,
        /// Its name.
        name: String,
    },
    /// A commit removed this member: the group is no longer loaded.
    Removed {
        /// The group.
        group: GroupId,
    },
    /// A received message was refused for good (set aside in the log).
    Refused {
        /// The group.
        group: GroupId,
        /// Why.
        error: ProcessError,
    },
    /// The sequencer's automatic commit of a received proposal failed (the
    /// policy refused it, say); the proposal stays pending.
    NotCommitted {
        /// The group.
        group: GroupId,
        /// Why.
        error: super::SessionError,
    },
    /// A received message waits because a leaf of `name` signs with a key no
    /// known document grants: look `name`'s current identity document up,
    /// give it to [`super::GroupSession::devices_mut`], then drain the group
    /// again.
    NeedDocument {
        /// The group.
        group: GroupId,
        /// The identity.
        name: IpnsName,
    },
}
