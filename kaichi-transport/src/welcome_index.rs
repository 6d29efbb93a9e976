//! The index of a split Welcome (see [`kaichi_groups::welcome`]): the blob
//! an invitation names when its Welcome was split. It names the header blob
//! and each shard's blob with the first KeyPackageRef the shard holds, so an
//! invitee fetches the index, the header and its one shard: about 60 KB at
//! 100,000 members instead of the whole 11.8 MB Welcome.
//!
//! Protobuf (`WelcomeIndex`): `header` (1, CID bytes), `firsts` (2,
//! repeated 32-byte KeyPackageRefs, strictly increasing), `shards` (3,
//! repeated CID bytes, as many as `firsts`). Each CID names a blob (a raw
//! block, or a manifest of raw chunks: [`kaichi_privatelog::blob`]).

use cid::Cid;
use kaichi_groups::KeyPackageRef;
use prost::Message as _;

/// Most shards an index may list (8,192 × 256 secrets: two million members).
pub const MAX_SHARDS: usize = 8192;
/// Most bytes of an index block.
pub const MAX_INDEX_BYTES: usize = 1024 * 1024;

/// The index as it travels.
#[derive(Clone, PartialEq, prost::Message)]
struct WelcomeIndexProto {
    #[prost(bytes = "vec", tag = "1")]
    header: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    firsts: Vec<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "3")]
    shards: Vec<Vec<u8>>,
}

/// A split Welcome's index: the header's blob and each shard's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeIndex {
    header: Cid,
    firsts: Vec<KeyPackageRef>,
    shards: Vec<Cid>,
}

/// Bytes that are not a usable Welcome index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WelcomeIndexError {
    /// Over [`MAX_INDEX_BYTES`].
    #[error("the Welcome index is too large")]
    TooLarge,
    /// Not the protobuf encoding of an index.
    #[error("not a Welcome index")]
    Decode,
    /// No shards, over [`MAX_SHARDS`], or not one first reference a shard.
    #[error("a Welcome index lists 1 to 8,192 shards, each with its first reference")]
    Shards,
    /// A first reference not 32 bytes, or not after the one before.
    #[error("a Welcome index's references are 32 bytes, strictly increasing")]
    References,
    /// A CID that does not name a blob.
    #[error("a Welcome index names a blob by a raw or manifest CID")]
    Cid,
}

fn blob_cid(bytes: &[u8]) -> Result<Cid, WelcomeIndexError> {
    Cid::try_from(bytes)
        .ok()
        .filter(|c| kaichi_privatelog::blob::kind(c).is_ok())
        .ok_or(WelcomeIndexError::Cid)
}

impl WelcomeIndex {
    /// An index of `header` and `shards` (each with its first reference, in
    /// increasing order).
    pub fn new(header: Cid, shards: Vec<(KeyPackageRef, Cid)>) -> Result<Self, WelcomeIndexError> {
        let (firsts, shards): (Vec<_>, Vec<_>) = shards.into_iter().unzip();
        let index = Self {
            header,
            firsts,
            shards,
        };
        index.check()?;
        Ok(index)
    }

    fn check(&self) -> Result<(), WelcomeIndexError> {
        if self.shards.is_empty()
            || self.shards.len() > MAX_SHARDS
            || self.firsts.len() != self.shards.len()
        {
            return Err(WelcomeIndexError::Shards);
        }
        if self.firsts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(WelcomeIndexError::References);
        }
        Ok(())
    }

    /// The header's blob.
    pub fn header(&self) -> Cid {
        self.header
    }

    /// Each shard's first reference, in order.
    pub fn firsts(&self) -> &[KeyPackageRef] {
        &self.firsts
    }

    /// Each shard's blob, in order.
    pub fn shards(&self) -> &[Cid] {
        &self.shards
    }

    /// The protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        WelcomeIndexProto {
            header: self.header.to_bytes(),
            firsts: self.firsts.iter().map(|r| r.as_bytes().to_vec()).collect(),
            shards: self.shards.iter().map(Cid::to_bytes).collect(),
        }
        .encode_to_vec()
    }

    /// Reads an index, checking its limits, references and CIDs.
    pub fn decode(bytes: &[u8]) -> Result<Self, WelcomeIndexError> {
        if bytes.len() > MAX_INDEX_BYTES {
            return Err(WelcomeIndexError::TooLarge);
        }
        let p = WelcomeIndexProto::decode(bytes).map_err(|_| WelcomeIndexError::Decode)?;
        if p.shards.len() > MAX_SHARDS || p.firsts.len() != p.shards.len() {
            return Err(WelcomeIndexError::Shards);
        }
        let index = Self {
            header: blob_cid(&p.header)?,
            firsts: p
                .firsts
                .iter()
                .map(|r| KeyPackageRef::from_slice(r).map_err(|_| WelcomeIndexError::References))
                .collect::<Result<_, _>>()?,
            shards: p
                .shards
                .iter()
                .map(|c| blob_cid(c))
                .collect::<Result<_, _>>()?,
        };
        index.check()?;
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kaichi_privatelog::BlockCid;
    use proptest::prelude::*;

    fn reference(b: u8) -> KeyPackageRef {
        KeyPackageRef::from_slice(&[b; 32]).unwrap()
    }

    fn cid(b: u8) -> Cid {
        BlockCid::of(&[b]).to_cid()
    }

    #[test]
    fn an_index_round_trips_and_bad_ones_are_refused() {
        let index = WelcomeIndex::new(cid(0), vec![(reference(1), cid(1)), (reference(2), cid(2))])
            .unwrap();
        assert_eq!(WelcomeIndex::decode(&index.encode()).unwrap(), index);
        assert_eq!(
            WelcomeIndex::new(cid(0), vec![(reference(2), cid(1)), (reference(1), cid(2))]),
            Err(WelcomeIndexError::References)
        );
        assert_eq!(
            WelcomeIndex::new(cid(0), vec![]),
            Err(WelcomeIndexError::Shards)
        );
        let mut p = WelcomeIndexProto::decode(index.encode().as_slice()).unwrap();
        p.firsts.pop();
        assert_eq!(
            WelcomeIndex::decode(&p.encode_to_vec()),
            Err(WelcomeIndexError::Shards)
        );
        let mut p = WelcomeIndexProto::decode(index.encode().as_slice()).unwrap();
        p.shards[0] = b"not a cid".to_vec();
        assert_eq!(
            WelcomeIndex::decode(&p.encode_to_vec()),
            Err(WelcomeIndexError::Cid)
        );
        let mut p = WelcomeIndexProto::decode(index.encode().as_slice()).unwrap();
        p.firsts[0] = vec![1; 31];
        assert_eq!(
            WelcomeIndex::decode(&p.encode_to_vec()),
            Err(WelcomeIndexError::References)
        );
        assert_eq!(
            WelcomeIndex::decode(&vec![0; MAX_INDEX_BYTES + 1]),
            Err(WelcomeIndexError::TooLarge)
        );
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(index) = WelcomeIndex::decode(&bytes) {
                prop_assert!(index.firsts().windows(2).all(|w| w[0] < w[1]));
                prop_assert_eq!(index.firsts().len(), index.shards().len());
            }
        }
    }
}
