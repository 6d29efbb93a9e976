//! Group messages too large for gossip go by reference: a message larger
//! than [`MAX_INLINE`] is stored as a blob ([`kaichi_privatelog::blob`]:
//! one raw block, or raw chunks and a manifest) that its publisher serves
//! over Bitswap, and what goes on the group topic (and into served logs)
//! is a small reference: `"KREF"` then a protobuf [`GroupMessageRef`]. An
//! `MLSMessage` starts with its version (`0x0001`), so the two cannot be
//! confused.

use kaichi_groups::{GroupId, MessageKind};
use prost::Message as _;

/// What starts a reference.
pub const MAGIC: &[u8; 4] = b"KREF";
/// Largest group message published inline (gossipsub carries at most
/// 257 KiB; the rest is room for its framing).
pub const MAX_INLINE: usize = 200 * 1024;
/// Largest reference accepted.
const MAX_REFERENCE: usize = 4 * 1024;

/// A group message stored as a blob.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GroupMessageRef {
    /// The group's 32-byte id.
    #[prost(bytes = "vec", tag = "1")]
    pub group: Vec<u8>,
    /// The message's epoch (as its clear header says).
    #[prost(uint64, tag = "2")]
    pub epoch: u64,
    /// Its kind: 0 application, 1 proposal, 2 commit.
    #[prost(uint32, tag = "3")]
    pub kind: u32,
    /// The blob's CID (raw, or a chunked blob's manifest).
    #[prost(bytes = "vec", tag = "4")]
    pub blob: Vec<u8>,
    /// The message's length.
    #[prost(uint64, tag = "5")]
    pub size: u64,
}

impl GroupMessageRef {
    /// The reference as it goes on the wire: [`MAGIC`] then the protobuf.
    pub fn to_bytes(&self) -> Vec<u8> {
        use prost::Message as _;
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.encode_to_vec());
        out
    }
}

/// A reference's parts, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The group.
    pub group: GroupId,
    /// The message's epoch, as the reference states it.
    pub epoch: u64,
    /// Its kind, as the reference states it.
    pub kind: MessageKind,
    /// The blob to fetch (raw CID, or a chunked blob's manifest).
    pub blob: cid::Cid,
    /// The message's length (at most [`kaichi_groups::MAX_MESSAGE_BYTES`]).
    pub size: usize,
}

/// Why a reference is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// Not a reference, or not a valid one.
    #[error("malformed group message reference")]
    Malformed,
    /// It names a message larger than a group message may be.
    #[error("the referenced group message is over the size bound")]
    TooLarge,
}

/// A message kind's wire code (0 application, 1 proposal, 2 commit).
pub fn kind_code(kind: MessageKind) -> u32 {
    u32::from(kind.code())
}

/// Whether `data` is a reference rather than an `MLSMessage`.
pub fn is_reference(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// Parses and checks a reference.
pub fn parse(data: &[u8]) -> Result<Reference, ReferenceError> {
    let body = data
        .strip_prefix(MAGIC.as_slice())
        .filter(|b| b.len() <= MAX_REFERENCE)
        .ok_or(ReferenceError::Malformed)?;
    let r = GroupMessageRef::decode(body).map_err(|_| ReferenceError::Malformed)?;
    let group = GroupId::from_slice(&r.group).map_err(|_| ReferenceError::Malformed)?;
    let blob = cid::Cid::try_from(r.blob.as_slice()).map_err(|_| ReferenceError::Malformed)?;
    kaichi_privatelog::blob::kind(&blob).map_err(|_| ReferenceError::Malformed)?;
    let kind = match r.kind {
        0 => MessageKind::Application,
        1 => MessageKind::Proposal,
        2 => MessageKind::Commit,
        _ => return Err(ReferenceError::Malformed),
    };
    let size = usize::try_from(r.size).map_err(|_| ReferenceError::TooLarge)?;
    if size > kaichi_groups::MAX_MESSAGE_BYTES {
        return Err(ReferenceError::TooLarge);
    }
    Ok(Reference {
        group,
        epoch: r.epoch,
        kind,
        blob,
        size,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reference(r: &GroupMessageRef) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&r.encode_to_vec());
        out
    }

    fn valid() -> GroupMessageRef {
        let blob = kaichi_privatelog::blob::split(&[7u8; 300 * 1024]).unwrap();
        GroupMessageRef {
            group: vec![5; 32],
            epoch: 3,
            kind: 2,
            blob: blob.root.to_bytes(),
            size: 300 * 1024,
        }
    }

    #[test]
    fn references_parse_and_are_checked() {
        let r = parse(&reference(&valid())).unwrap();
        assert_eq!(
            (r.epoch, r.kind, r.size),
            (3, MessageKind::Commit, 300 * 1024)
        );
        assert!(is_reference(&reference(&valid())));
        // An MLSMessage starts with its version, 0x0001.
        assert!(!is_reference(&[0, 1, 0, 2]));
        let mut bad = valid();
        bad.group = vec![5; 31];
        assert_eq!(parse(&reference(&bad)), Err(ReferenceError::Malformed));
        let mut bad = valid();
        bad.kind = 9;
        assert_eq!(parse(&reference(&bad)), Err(ReferenceError::Malformed));
        let mut bad = valid();
        bad.blob = b"not a cid".to_vec();
        assert_eq!(parse(&reference(&bad)), Err(ReferenceError::Malformed));
        let mut bad = valid();
        bad.size = kaichi_groups::MAX_MESSAGE_BYTES as u64 + 1;
        assert_eq!(parse(&reference(&bad)), Err(ReferenceError::TooLarge));
        assert_eq!(parse(b"KREF\xff\xff"), Err(ReferenceError::Malformed));
        let mut long = MAGIC.to_vec();
        long.extend(vec![0u8; MAX_REFERENCE + 1]);
        assert_eq!(parse(&long), Err(ReferenceError::Malformed));
    }
}
