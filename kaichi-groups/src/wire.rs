//! What can be read from an `MLSMessage` without any group state: which
//! group and epoch it belongs to and what kind it is (the clear header of
//! PublicMessage and PrivateMessage). Group logs order messages by this.

use openmls::prelude::{ContentType, MlsMessageIn, ProtocolMessage};
use tls_codec::Deserialize as _;

use crate::{GroupId, MAX_MESSAGE_BYTES};

/// The kind of a group message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// An application message.
    Application,
    /// A proposal.
    Proposal,
    /// A commit (ends its epoch).
    Commit,
}

impl MessageKind {
    /// A stable small number (for storage).
    pub fn code(self) -> u8 {
        match self {
            MessageKind::Application => 0,
            MessageKind::Proposal => 1,
            MessageKind::Commit => 2,
        }
    }
}

/// A group message's clear header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageInfo {
    /// The group.
    pub group: GroupId,
    /// The epoch it was sent in.
    pub epoch: u64,
    /// Its kind.
    pub kind: MessageKind,
}

/// An `MLSMessage` is not a group message Kaichi can place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageInfoError {
    /// Over [`MAX_MESSAGE_BYTES`].
    #[error("message too large")]
    TooLarge,
    /// Not a TLS-serialised `MLSMessage`.
    #[error("not an MLSMessage")]
    Decode,
    /// Not a PublicMessage or PrivateMessage.
    #[error("not a group message")]
    NotAGroupMessage,
    /// The group id is not 32 bytes (not a Kaichi group).
    #[error("not a Kaichi group id")]
    GroupId,
}

/// Reads the clear header of a group message.
pub fn message_info(bytes: &[u8]) -> Result<MessageInfo, MessageInfoError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(MessageInfoError::TooLarge);
    }
    let m = MlsMessageIn::tls_deserialize_exact(bytes).map_err(|_| MessageInfoError::Decode)?;
    let m: ProtocolMessage = m
        .try_into_protocol_message()
        .map_err(|_| MessageInfoError::NotAGroupMessage)?;
    let group =
        GroupId::from_slice(m.group_id().as_slice()).map_err(|_| MessageInfoError::GroupId)?;
    let kind = match m.content_type() {
        ContentType::Application => MessageKind::Application,
        ContentType::Proposal => MessageKind::Proposal,
        ContentType::Commit => MessageKind::Commit,
    };
    Ok(MessageInfo {
        group,
        epoch: m.epoch().as_u64(),
        kind,
    })
}
