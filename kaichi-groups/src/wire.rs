//! What can be read from an `MLSMessage` without any group state: which
//! group and epoch it belongs to and what kind it is (the clear header of
//! PublicMessage and PrivateMessage). Group logs order messages by this.

use openmls::prelude::{ContentType, MlsMessageIn, ProtocolMessage};
use tls_codec::{Deserialize as _, VLBytes};

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
///
/// A PrivateMessage (every commit and application message Kaichi sends) is
/// read in place: its header decoded and its three opaque vectors checked
/// for framing but not copied (a commit to 100,000 members carries about
/// 8 MB of path secrets). Anything else is decoded whole. Both ways accept
/// and refuse exactly the same inputs.
pub fn message_info(bytes: &[u8]) -> Result<MessageInfo, MessageInfoError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(MessageInfoError::TooLarge);
    }
    match private_header(bytes) {
        Some(header) => {
            let (group_id, epoch, content_type) = header.ok_or(MessageInfoError::Decode)?;
            info(group_id.as_slice(), epoch, content_type)
        }
        None => decoded_info(bytes),
    }
}

/// `MLSMessage.version` for MLS 1.0 and `wire_format` of a PrivateMessage.
const MLS10_PRIVATE_MESSAGE: [u8; 4] = [0, 1, 0, 2];

/// The group id, epoch and content type of an MLS 1.0 PrivateMessage, read
/// as openmls's `MlsMessageIn` decoder reads them (`None` outside if not such
/// a message, `None` inside if it does not decode).
fn private_header(bytes: &[u8]) -> Option<Option<(VLBytes, u64, ContentType)>> {
    let mut reader = bytes.strip_prefix(&MLS10_PRIVATE_MESSAGE)?;
    let read = |reader: &mut &[u8]| {
        let group_id = VLBytes::tls_deserialize(reader).ok()?;
        let epoch = u64::tls_deserialize(reader).ok()?;
        let content_type = ContentType::tls_deserialize(reader).ok()?;
        // authenticated_data, encrypted_sender_data, ciphertext.
        for _ in 0..3 {
            let (len, _) = tls_codec::vlen::read_length(reader).ok()?;
            *reader = reader.get(len..)?;
        }
        reader.is_empty().then_some((group_id, epoch, content_type))
    };
    Some(read(&mut reader))
}

/// [`message_info`] by decoding the whole message.
fn decoded_info(bytes: &[u8]) -> Result<MessageInfo, MessageInfoError> {
    let m = MlsMessageIn::tls_deserialize_exact(bytes).map_err(|_| MessageInfoError::Decode)?;
    let m: ProtocolMessage = m
        .try_into_protocol_message()
        .map_err(|_| MessageInfoError::NotAGroupMessage)?;
    info(
        m.group_id().as_slice(),
        m.epoch().as_u64(),
        m.content_type(),
    )
}

fn info(
    group_id: &[u8],
    epoch: u64,
    content_type: ContentType,
) -> Result<MessageInfo, MessageInfoError> {
    let group = GroupId::from_slice(group_id).map_err(|_| MessageInfoError::GroupId)?;
    let kind = match content_type {
        ContentType::Application => MessageKind::Application,
        ContentType::Proposal => MessageKind::Proposal,
        ContentType::Commit => MessageKind::Commit,
    };
    Ok(MessageInfo { group, epoch, kind })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use tls_codec::Serialize as _;

    /// An MLS 1.0 PrivateMessage with these fields (lengths minimally
    /// encoded).
    fn private_message(
        group_id: &[u8],
        epoch: u64,
        content_type: u8,
        vectors: &[Vec<u8>; 3],
    ) -> Vec<u8> {
        let mut out = MLS10_PRIVATE_MESSAGE.to_vec();
        VLBytes::new(group_id.to_vec())
            .tls_serialize(&mut out)
            .unwrap();
        out.extend(epoch.to_be_bytes());
        out.push(content_type);
        for v in vectors {
            VLBytes::new(v.clone()).tls_serialize(&mut out).unwrap();
        }
        out
    }

    #[test]
    fn a_private_message_is_read_in_place() {
        let bytes = private_message(&[7; 32], 9, 3, &[vec![], vec![1; 40], vec![2; 70_000]]);
        assert!(private_header(&bytes).is_some());
        assert_eq!(
            message_info(&bytes),
            Ok(MessageInfo {
                group: GroupId::from_bytes([7; 32]),
                epoch: 9,
                kind: MessageKind::Commit
            })
        );
        assert_eq!(message_info(&bytes), decoded_info(&bytes));
        let short = &bytes[..bytes.len() - 1];
        assert_eq!(message_info(short), Err(MessageInfoError::Decode));
        assert_eq!(decoded_info(short), Err(MessageInfoError::Decode));
    }

    proptest! {
        /// The in-place reading and openmls's decoder agree on every input:
        /// well-formed messages with any field values, then bytes changed,
        /// cut or added (wrong lengths, non-minimal or 8-byte length
        /// encodings, unknown content types, trailing data).
        #[test]
        fn reading_in_place_agrees_with_decoding(
            group_id in proptest::collection::vec(any::<u8>(), 0..40),
            epoch in any::<u64>(),
            content_type in 0u8..5,
            vectors in proptest::array::uniform3(proptest::collection::vec(any::<u8>(), 0..200)),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in proptest::option::of(any::<prop::sample::Index>()),
            tail in proptest::collection::vec(any::<u8>(), 0..3),
        ) {
            let mut bytes = private_message(&group_id, epoch, content_type, &vectors);
            for (at, byte) in edits {
                let at = 4 + at.index(bytes.len() - 4);
                bytes[at] = byte;
            }
            if let Some(cut) = cut {
                bytes.truncate(4 + cut.index(bytes.len() - 3));
            }
            bytes.extend(tail);
            prop_assert_eq!(message_info(&bytes), decoded_info(&bytes));
        }
    }
}
