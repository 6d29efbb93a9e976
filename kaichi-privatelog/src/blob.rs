//! Public blobs too large for one block (a big group's ratchet tree or
//! Welcome): raw chunks of [`CHUNK_BYTES`] and a DAG-CBOR manifest linking
//! them, the layout of attachments without the encryption (the blob is
//! already what its readers may see). A blob that fits one block is that
//! block. Sans-IO: bytes in, blocks out; chunks in, the blob out.
//!
//! Its name is a CID: raw (0x55) for a blob in one block, DAG-CBOR (0x71)
//! for a manifest; a recursive pin of the manifest pins the blob.

use cid::Cid;

use crate::attachment::{AttachmentError, CHUNK_BYTES, MAX_ATTACHMENT_BYTES, Manifest, chunk_len};
use crate::ids::{BlockCid, DAG_CBOR_CODEC, RAW_CODEC};

/// A blob of at most this many bytes is one raw block.
pub const MAX_SINGLE_BLOCK: usize = 1024 * 1024;

/// A blob as blocks: its name and every block to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobBlocks {
    /// The CID naming the blob (raw, or the manifest's).
    pub root: Cid,
    /// Every block, the manifest (when there is one) first.
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

/// Cuts `bytes` into blocks: one raw block up to [`MAX_SINGLE_BLOCK`], raw
/// chunks and a manifest above (at most [`MAX_ATTACHMENT_BYTES`]).
pub fn split(bytes: &[u8]) -> Result<BlobBlocks, AttachmentError> {
    split_above(bytes, MAX_SINGLE_BLOCK)
}

fn split_above(bytes: &[u8], single: usize) -> Result<BlobBlocks, AttachmentError> {
    if bytes.len() <= single {
        let cid = BlockCid::of(bytes).to_cid();
        return Ok(BlobBlocks {
            root: cid,
            blocks: vec![(cid, bytes.to_vec())],
        });
    }
    if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentError::TooLarge(bytes.len() as u64));
    }
    let chunks: Vec<&[u8]> = bytes.chunks(CHUNK_BYTES).collect();
    let cids: Vec<BlockCid> = chunks.iter().map(|c| BlockCid::of(c)).collect();
    let manifest = Manifest::new(bytes.len() as u64, cids.clone());
    let block = manifest.encode();
    let root = manifest.cid().to_cid();
    let mut blocks = Vec::with_capacity(chunks.len() + 1);
    blocks.push((root, block));
    blocks.extend(
        cids.iter()
            .zip(chunks)
            .map(|(c, b)| (c.to_cid(), b.to_vec())),
    );
    Ok(BlobBlocks { root, blocks })
}

/// What a blob's name says to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// One raw block: the blob itself.
    Single(BlockCid),
    /// A manifest: fetch it, then its chunks.
    Chunked(Cid),
}

/// Reads a blob's name: a raw or DAG-CBOR sha2-256 CID.
pub fn kind(root: &Cid) -> Result<BlobKind, AttachmentError> {
    match root.codec() {
        RAW_CODEC => BlockCid::try_from(*root)
            .map(BlobKind::Single)
            .map_err(|e| AttachmentError::Manifest(e.to_string())),
        DAG_CBOR_CODEC if root.hash().code() == 0x12 => Ok(BlobKind::Chunked(*root)),
        c => Err(AttachmentError::Manifest(format!("codec {c:#x}"))),
    }
}

/// Puts a chunked blob back together: `chunks` are the manifest's chunks,
/// in order, each already checked against its CID (Bitswap checks every
/// block it delivers); each must have the length its place implies, and
/// the whole at most `max` bytes.
pub fn assemble(
    manifest: &Manifest,
    chunks: &[Vec<u8>],
    max: usize,
) -> Result<Vec<u8>, AttachmentError> {
    if manifest.size() > max as u64 {
        return Err(AttachmentError::TooLarge(manifest.size()));
    }
    if chunks.len() != manifest.chunks().len() {
        return Err(AttachmentError::Manifest(format!(
            "{} chunks given for {}",
            chunks.len(),
            manifest.chunks().len()
        )));
    }
    let mut out = Vec::with_capacity(manifest.size() as usize);
    for (i, chunk) in chunks.iter().enumerate() {
        check_chunk(manifest, i, chunk)?;
        out.extend_from_slice(chunk);
    }
    Ok(out)
}

/// Checks one chunk of a chunked blob against its place in `manifest`
/// (its CID, and the length its place implies), for a reader that takes
/// the chunks one by one instead of [`assemble`]-ing them.
pub fn check_chunk(manifest: &Manifest, index: usize, chunk: &[u8]) -> Result<(), AttachmentError> {
    match manifest.chunks().get(index) {
        Some(cid)
            if chunk.len() == chunk_len(manifest.size(), index) && BlockCid::of(chunk) == *cid =>
        {
            Ok(())
        }
        _ => Err(AttachmentError::Manifest(format!(
            "chunk {index} does not fit"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn reassemble(b: &BlobBlocks) -> Vec<u8> {
        match kind(&b.root).unwrap() {
            BlobKind::Single(_) => b.blocks[0].1.clone(),
            BlobKind::Chunked(_) => {
                let manifest = Manifest::decode(&b.blocks[0].1).unwrap();
                let chunks: Vec<Vec<u8>> = b.blocks[1..].iter().map(|(_, c)| c.clone()).collect();
                assemble(&manifest, &chunks, usize::MAX).unwrap()
            }
        }
    }

    #[test]
    fn small_blobs_are_one_raw_block_and_large_ones_a_manifest_of_chunks() {
        let small = split(&[7; 1000]).unwrap();
        assert_eq!(small.blocks.len(), 1);
        assert_eq!(small.root.codec(), RAW_CODEC);
        let big = vec![9u8; MAX_SINGLE_BLOCK + 1];
        let b = split(&big).unwrap();
        assert_eq!(b.root.codec(), DAG_CBOR_CODEC);
        assert_eq!(
            b.blocks.len(),
            1 + (MAX_SINGLE_BLOCK + 1).div_ceil(CHUNK_BYTES)
        );
        assert_eq!(reassemble(&b), big);
        for (cid, block) in &b.blocks[1..] {
            assert_eq!(*cid, BlockCid::of(block).to_cid());
        }
    }

    #[test]
    fn assembly_refuses_missing_swapped_or_oversized_chunks() {
        let big: Vec<u8> = (0..MAX_SINGLE_BLOCK * 2).map(|i| (i % 251) as u8).collect();
        let b = split(&big).unwrap();
        let manifest = Manifest::decode(&b.blocks[0].1).unwrap();
        let mut chunks: Vec<Vec<u8>> = b.blocks[1..].iter().map(|(_, c)| c.clone()).collect();
        assert!(assemble(&manifest, &chunks[1..], usize::MAX).is_err());
        assert!(assemble(&manifest, &chunks, big.len() - 1).is_err());
        chunks.swap(0, 1);
        assert!(assemble(&manifest, &chunks, usize::MAX).is_err());
        let too_big = vec![0u8; MAX_ATTACHMENT_BYTES as usize + 1];
        assert!(split(&too_big).is_err());
        let not_a_blob = Cid::new_v1(0x70, cid::multihash::Multihash::default());
        assert!(kind(&not_a_blob).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn every_blob_comes_back_whole(len in 0usize..(3 * CHUNK_BYTES + 7), seed: u8) {
            let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed)).collect();
            // The chunked form for anything above 1,000 bytes here.
            let b = split_above(&bytes, 1000).unwrap();
            prop_assert_eq!(reassemble(&b), bytes);
        }
    }
}
