//! An identity's root block: what its IPNS record points to (see
//! docs/PROTOCOL.md, "Roots").
//!
//! A DAG-CBOR map linking the identity document and the heads of each of the
//! identity's outboxes, so a reader who knows only the wallet or IPNS name
//! resolves the name, fetches the root and walks every outbox; and an IPFS
//! node that pins the root recursively holds the document and every entry
//! the identity wrote. Outboxes are listed by their opaque tags: the root
//! names no correspondent.

use std::collections::BTreeMap;

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::entry::MAX_PARENTS;
use crate::ids::{BlockCid, DAG_CBOR_CODEC, EntryCid, Sha256Cid};
use crate::keys::AuthorTag;

/// The CID of a root block (DAG-CBOR, sha2-256).
pub type RootCid = Sha256Cid<DAG_CBOR_CODEC>;

/// Root format version.
const ROOT_VERSION: u64 = 1;
/// Most outboxes one root lists (about 300 KiB of root).
pub const MAX_ROOT_OUTBOXES: usize = 4096;
/// Largest root block accepted (what IPFS nodes exchange by default).
pub const MAX_ROOT_BYTES: usize = 1024 * 1024;

/// A root block could not be built or read. Nothing changes when this is
/// returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RootError {
    /// Over [`MAX_ROOT_BYTES`].
    #[error("root is {0} bytes (max {MAX_ROOT_BYTES})")]
    TooLarge(usize),
    /// Not a DAG-CBOR root map.
    #[error("not a root: {0}")]
    Malformed(String),
    /// Not the canonical encoding of what it holds.
    #[error("root is not canonical DAG-CBOR")]
    NonCanonical,
    /// A version this crate does not read.
    #[error("unsupported root version {0}")]
    UnsupportedVersion(u64),
    /// A field has the wrong form.
    #[error("root field {0} is invalid")]
    InvalidField(&'static str),
    /// More than [`MAX_ROOT_OUTBOXES`] outboxes.
    #[error("more than {MAX_ROOT_OUTBOXES} outboxes")]
    TooManyOutboxes,
    /// An outbox with no heads, more than [`MAX_PARENTS`], or unsorted.
    #[error("an outbox lists 1 to {MAX_PARENTS} sorted, unique heads")]
    BadHeads,
}

/// An identity's root: its document and its outboxes' heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    document: BlockCid,
    outboxes: BTreeMap<AuthorTag, Vec<EntryCid>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RootNode {
    v: u64,
    doc: Cid,
    logs: Vec<OutboxNode>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboxNode {
    #[serde(with = "serde_bytes")]
    log: Vec<u8>,
    heads: Vec<Cid>,
}

impl Root {
    /// A root with no outboxes yet.
    pub fn new(document: BlockCid) -> Self {
        Self {
            document,
            outboxes: BTreeMap::new(),
        }
    }

    /// Sets an outbox's heads (sorted and deduplicated here); empty `heads`
    /// removes it. Returns whether the root changed.
    pub fn set_outbox(
        &mut self,
        tag: AuthorTag,
        mut heads: Vec<EntryCid>,
    ) -> Result<bool, RootError> {
        heads.sort_unstable();
        heads.dedup();
        if heads.is_empty() {
            return Ok(self.outboxes.remove(&tag).is_some());
        }
        if heads.len() > MAX_PARENTS {
            return Err(RootError::BadHeads);
        }
        if !self.outboxes.contains_key(&tag) && self.outboxes.len() >= MAX_ROOT_OUTBOXES {
            return Err(RootError::TooManyOutboxes);
        }
        Ok(self.outboxes.insert(tag, heads.clone()) != Some(heads))
    }

    /// Links `document` (a newer identity document) instead; returns
    /// whether the root changed.
    pub fn set_document(&mut self, document: BlockCid) -> bool {
        std::mem::replace(&mut self.document, document) != document
    }

    /// The identity document's CID.
    pub fn document(&self) -> BlockCid {
        self.document
    }

    /// The heads of the outbox with `tag`, if listed.
    pub fn outbox(&self, tag: &AuthorTag) -> Option<&[EntryCid]> {
        self.outboxes.get(tag).map(Vec::as_slice)
    }

    /// Every outbox, by tag.
    pub fn outboxes(&self) -> impl Iterator<Item = (&AuthorTag, &[EntryCid])> {
        self.outboxes.iter().map(|(t, h)| (t, h.as_slice()))
    }

    /// The DAG-CBOR block.
    pub fn encode(&self) -> Vec<u8> {
        let node = RootNode {
            v: ROOT_VERSION,
            doc: self.document.to_cid(),
            logs: self
                .outboxes
                .iter()
                .map(|(tag, heads)| OutboxNode {
                    log: tag.as_bytes().to_vec(),
                    heads: heads.iter().map(EntryCid::to_cid).collect(),
                })
                .collect(),
        };
        // Serialising bytes, integers and CIDs into a Vec cannot fail.
        serde_ipld_dagcbor::to_vec(&node).unwrap_or_default()
    }

    /// The block's CID.
    pub fn cid(&self) -> RootCid {
        RootCid::of(&self.encode())
    }

    /// Reads a root block, which must be canonical.
    pub fn decode(block: &[u8]) -> Result<Self, RootError> {
        if block.len() > MAX_ROOT_BYTES {
            return Err(RootError::TooLarge(block.len()));
        }
        let node: RootNode = serde_ipld_dagcbor::from_slice(block)
            .map_err(|e| RootError::Malformed(e.to_string()))?;
        if node.v != ROOT_VERSION {
            return Err(RootError::UnsupportedVersion(node.v));
        }
        let document = BlockCid::try_from(node.doc).map_err(|_| RootError::InvalidField("doc"))?;
        if node.logs.len() > MAX_ROOT_OUTBOXES {
            return Err(RootError::TooManyOutboxes);
        }
        let mut root = Self::new(document);
        for outbox in &node.logs {
            let tag = <[u8; 32]>::try_from(outbox.log.as_slice())
                .map(AuthorTag)
                .map_err(|_| RootError::InvalidField("log"))?;
            let heads = outbox
                .heads
                .iter()
                .map(|c| EntryCid::try_from(*c).map_err(|_| RootError::InvalidField("heads")))
                .collect::<Result<Vec<_>, _>>()?;
            if heads.is_empty()
                || heads.len() > MAX_PARENTS
                || heads.windows(2).any(|w| matches!(w, [a, b] if a >= b))
            {
                return Err(RootError::BadHeads);
            }
            root.outboxes.insert(tag, heads);
        }
        // Canonical: sorted outboxes, no duplicates, minimal encoding.
        if root.encode() != block {
            return Err(RootError::NonCanonical);
        }
        Ok(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: u8) -> AuthorTag {
        AuthorTag([n; 32])
    }

    #[test]
    fn round_trips_and_changes_are_reported() {
        let mut root = Root::new(BlockCid::of(b"doc"));
        let (h1, h2) = (EntryCid::of(b"1"), EntryCid::of(b"2"));
        assert!(root.set_outbox(tag(2), vec![h2, h1, h1]).unwrap());
        assert!(!root.set_outbox(tag(2), vec![h1, h2]).unwrap());
        assert!(root.set_outbox(tag(1), vec![h1]).unwrap());
        let block = root.encode();
        let back = Root::decode(&block).unwrap();
        assert_eq!(back, root);
        assert_eq!(back.cid(), RootCid::of(&block));
        assert!(root.cid().to_string().starts_with("bafyrei"));
        assert!(root.set_outbox(tag(1), vec![]).unwrap());
        assert_eq!(root.outbox(&tag(1)), None);
    }

    #[test]
    fn limits_and_bad_blocks_are_typed_errors() {
        let mut root = Root::new(BlockCid::of(b"doc"));
        let many: Vec<EntryCid> = (0..=MAX_PARENTS as u32)
            .map(|i| EntryCid::of(&i.to_be_bytes()))
            .collect();
        assert_eq!(root.set_outbox(tag(1), many), Err(RootError::BadHeads));
        assert!(matches!(
            Root::decode(b"\x01"),
            Err(RootError::Malformed(_))
        ));
        assert!(matches!(
            Root::decode(&[0u8; MAX_ROOT_BYTES + 1]),
            Err(RootError::TooLarge(_))
        ));
        // The document must be a raw block, not an entry.
        let node = RootNode {
            v: 1,
            doc: EntryCid::of(b"doc").to_cid(),
            logs: vec![],
        };
        let block = serde_ipld_dagcbor::to_vec(&node).unwrap();
        assert_eq!(Root::decode(&block), Err(RootError::InvalidField("doc")));
    }
}
