//! The DAG-CBOR form of an entry block (see docs/PROTOCOL.md, "Entry
//! blocks").
//!
//! An entry is one DAG-CBOR map whose parents (and attached files) are
//! tag-42 CID links, so any IPFS node walks a log from a head: a recursive
//! pin of a head pins the whole log. Keys are short and in DAG-CBOR's
//! canonical order (length first, then bytewise); the decoder accepts only
//! the canonical encoding of a block (it re-encodes and compares), so one
//! entry has exactly one CID.

use cid::Cid;
use serde::{Deserialize, Serialize};

/// Entry format version carried in every block (`v`). Version 1 was the
/// protobuf format, which the decoder refuses.
pub(crate) const ENTRY_VERSION: u64 = 2;

/// The map of an entry block. Field order is DAG-CBOR's canonical key order.
/// Nothing in it names a participant or the conversation: `log` is a tag
/// only the two participants can compute, `prev` links only the author's
/// own earlier entries, and the signature and the links to the other side's
/// entries are inside the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryNode {
    /// Format version, [`ENTRY_VERSION`].
    pub(crate) v: u64,
    /// The envelope (encrypted, signed message); absent in the header bytes
    /// the envelope and signature are bound to.
    #[serde(with = "serde_bytes", default, skip_serializing_if = "Option::is_none")]
    pub(crate) env: Option<Vec<u8>>,
    /// The outbox tag (32 bytes): one per author and conversation.
    #[serde(with = "serde_bytes")]
    pub(crate) log: Vec<u8>,
    /// Links to the author's own previous entries (their outbox heads),
    /// sorted by CID bytes and unique.
    pub(crate) prev: Vec<Cid>,
    /// Lamport clock: 1 + the largest parent clock.
    pub(crate) clock: u64,
    /// Links to the roots of attached files, in the message's order; absent
    /// when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) files: Vec<Cid>,
}

/// Why a block is not a canonical entry node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeError {
    /// Not DAG-CBOR, or not an entry map.
    Malformed(String),
    /// Decodes, but is not the canonical encoding of what it holds.
    NonCanonical,
    /// Looks like a version-1 (protobuf) entry.
    Legacy,
}

impl EntryNode {
    /// The DAG-CBOR bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serialising plain bytes, integers and CIDs into a Vec cannot fail.
        serde_ipld_dagcbor::to_vec(self).unwrap_or_default()
    }

    /// Decodes a block, which must be the canonical encoding of an entry map.
    pub(crate) fn decode(block: &[u8]) -> Result<Self, NodeError> {
        // A version-1 block is a protobuf whose first field (tag 1, bytes)
        // starts with 0x0a; a DAG-CBOR map starts with 0xa0..=0xbb.
        if block.first() == Some(&0x0a) {
            return Err(NodeError::Legacy);
        }
        let node: Self = serde_ipld_dagcbor::from_slice(block)
            .map_err(|e| NodeError::Malformed(e.to_string()))?;
        if node.encode() != block {
            return Err(NodeError::NonCanonical);
        }
        Ok(node)
    }

    /// The header bytes: the node without `env`. The envelope's associated
    /// data and the signature inside it cover these.
    pub(crate) fn header_bytes(&self) -> Vec<u8> {
        Self {
            env: None,
            ..self.clone()
        }
        .encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EntryCid;

    fn node() -> EntryNode {
        EntryNode {
            v: ENTRY_VERSION,
            env: Some(vec![1, 2, 3]),
            log: vec![4; 32],
            prev: vec![EntryCid::of(b"p").to_cid()],
            clock: 2,
            files: vec![],
        }
    }

    #[test]
    fn round_trips_and_links_are_tag_42() {
        let n = node();
        let bytes = n.encode();
        assert_eq!(EntryNode::decode(&bytes).unwrap(), n);
        // Tag 42 (0xd8 0x2a) then a byte string holding 0x00 + the CID.
        let cid = EntryCid::of(b"p").to_bytes();
        let link = [&[0xd8, 0x2a, 0x58, 37, 0x00][..], &cid[..]].concat();
        assert!(bytes.windows(link.len()).any(|w| w == link));
    }

    #[test]
    fn keys_are_in_canonical_order() {
        let bytes = node().encode();
        let at = |key: &str| {
            let k = [&[0x60 + key.len() as u8][..], key.as_bytes()].concat();
            bytes.windows(k.len()).position(|w| w == k).unwrap()
        };
        let order = ["v", "env", "log", "prev", "clock"];
        assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])));
    }

    #[test]
    fn non_canonical_and_legacy_blocks_are_refused() {
        let mut bytes = node().encode();
        // Encode `clock: 2` as a two-byte integer instead of one.
        let pos = bytes.windows(6).position(|w| w == b"eclock").unwrap() + 6;
        assert_eq!(bytes[pos], 0x02);
        bytes.splice(pos..=pos, [0x18, 0x02]);
        assert!(EntryNode::decode(&bytes).is_err());
        assert_eq!(
            EntryNode::decode(&[0x0a, 0x03, 1, 2, 3]),
            Err(NodeError::Legacy)
        );
        let mut extra = node();
        extra.v = 3;
        assert!(EntryNode::decode(&extra.encode()).is_ok());
    }
}
