//! Attachments: a file as encrypted chunks and a manifest linking them,
//! sans-IO (see docs/PROTOCOL.md, "Attachments").
//!
//! The caller streams: it reads the file a chunk at a time, seals each with
//! [`AttachmentSealer::seal_chunk`] and stores the block, then stores the
//! manifest from [`AttachmentSealer::finish`]; no more than a chunk is ever
//! in memory. The reader fetches the manifest, then each chunk, and opens
//! it with [`open_chunk`], which checks the chunk's CID, its place and the
//! file's size (a chunk cannot be moved, dropped or swapped with another
//! file's).

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::ids::{BlockCid, DAG_CBOR_CODEC, Sha256Cid};
use crate::message::AttachmentKey;

/// Plaintext bytes per chunk (the last one may be shorter).
pub const CHUNK_BYTES: usize = 256 * 1024;
/// Largest file attached.
pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;
/// Most chunks a manifest lists.
pub const MAX_CHUNKS: usize = (MAX_ATTACHMENT_BYTES as usize).div_ceil(CHUNK_BYTES);
/// Largest manifest block accepted.
pub const MAX_MANIFEST_BYTES: usize = 64 + MAX_CHUNKS * 40;
/// Bytes a sealed chunk adds (the AEAD tag).
const TAG_BYTES: usize = 16;
const AAD_LABEL: &[u8] = b"kaichi-attachment-v1";
const MANIFEST_VERSION: u64 = 1;

/// The CID of a manifest (DAG-CBOR, sha2-256).
pub type ManifestCid = Sha256Cid<DAG_CBOR_CODEC>;

/// An attachment could not be sealed or opened. Nothing is written when
/// this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// The file is larger than [`MAX_ATTACHMENT_BYTES`].
    #[error("the file is {0} bytes (max {MAX_ATTACHMENT_BYTES})")]
    TooLarge(u64),
    /// A chunk is not the size its place in the file makes it.
    #[error("chunk {index} is {actual} bytes; {expected} expected")]
    ChunkSize {
        /// Its index.
        index: usize,
        /// Its size.
        actual: usize,
        /// The size its place implies.
        expected: usize,
    },
    /// More chunks than the file's size has.
    #[error("more chunks than a {0}-byte file has")]
    TooManyChunks(u64),
    /// `finish` before every chunk was sealed.
    #[error("{sealed} of {expected} chunks sealed")]
    Incomplete {
        /// Chunks sealed.
        sealed: usize,
        /// Chunks the size implies.
        expected: usize,
    },
    /// Not a canonical manifest block, or one whose fields do not agree.
    #[error("not a manifest: {0}")]
    Manifest(String),
    /// A chunk block does not hash to the CID the manifest lists.
    #[error("chunk {0} does not match its CID")]
    CidMismatch(usize),
    /// No chunk at that index.
    #[error("the manifest has no chunk {0}")]
    NoSuchChunk(usize),
    /// The chunk does not decrypt: wrong key, or tampered.
    #[error("chunk {0} does not decrypt (wrong key or tampered)")]
    Decrypt(usize),
}

/// A file's manifest: its size and its chunks' CIDs, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    size: u64,
    chunks: Vec<BlockCid>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestNode {
    v: u64,
    size: u64,
    chunks: Vec<Cid>,
}

/// The number of chunks of a `size`-byte file (an empty file has one,
/// empty, chunk).
fn chunk_count(size: u64) -> usize {
    (size as usize).div_ceil(CHUNK_BYTES).max(1)
}

/// The plaintext size of chunk `index` of a `size`-byte file.
pub(crate) fn chunk_len(size: u64, index: usize) -> usize {
    let start = index as u64 * CHUNK_BYTES as u64;
    (size.saturating_sub(start)).min(CHUNK_BYTES as u64) as usize
}

fn cipher(key: &AttachmentKey) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&key.0.into())
}

fn nonce(index: usize) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&(index as u64).to_be_bytes());
    n
}

fn aad(size: u64, index: usize) -> Vec<u8> {
    [
        AAD_LABEL,
        &size.to_be_bytes(),
        &(index as u64).to_be_bytes(),
    ]
    .concat()
}

impl Manifest {
    /// A manifest of `size` bytes in `chunks` (as many as the size implies;
    /// [`crate::blob`] builds public ones).
    pub(crate) fn new(size: u64, chunks: Vec<BlockCid>) -> Self {
        Self { size, chunks }
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The chunks' CIDs, in order.
    pub fn chunks(&self) -> &[BlockCid] {
        &self.chunks
    }

    /// The DAG-CBOR block (its chunks are tag-42 links: a recursive pin of
    /// the manifest pins the file).
    pub fn encode(&self) -> Vec<u8> {
        let node = ManifestNode {
            v: MANIFEST_VERSION,
            size: self.size,
            chunks: self.chunks.iter().map(BlockCid::to_cid).collect(),
        };
        // Serialising integers and CIDs into a Vec cannot fail.
        serde_ipld_dagcbor::to_vec(&node).unwrap_or_default()
    }

    /// The block's CID.
    pub fn cid(&self) -> ManifestCid {
        ManifestCid::of(&self.encode())
    }

    /// Reads a manifest block, which must be canonical and agree with
    /// itself (as many chunks as the size implies, within the limits).
    pub fn decode(block: &[u8]) -> Result<Self, AttachmentError> {
        if block.len() > MAX_MANIFEST_BYTES {
            return Err(AttachmentError::Manifest(format!("{} bytes", block.len())));
        }
        let node: ManifestNode = serde_ipld_dagcbor::from_slice(block)
            .map_err(|e| AttachmentError::Manifest(e.to_string()))?;
        if node.v != MANIFEST_VERSION {
            return Err(AttachmentError::Manifest(format!("version {}", node.v)));
        }
        if node.size > MAX_ATTACHMENT_BYTES {
            return Err(AttachmentError::TooLarge(node.size));
        }
        if node.chunks.len() != chunk_count(node.size) {
            return Err(AttachmentError::Manifest(format!(
                "{} chunks for {} bytes",
                node.chunks.len(),
                node.size
            )));
        }
        let chunks = node
            .chunks
            .iter()
            .map(|c| BlockCid::try_from(*c).map_err(|e| AttachmentError::Manifest(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let manifest = Self {
            size: node.size,
            chunks,
        };
        if manifest.encode() != block {
            return Err(AttachmentError::Manifest("not canonical".into()));
        }
        Ok(manifest)
    }
}

/// Seals a file chunk by chunk.
#[derive(Debug)]
pub struct AttachmentSealer {
    key: AttachmentKey,
    size: u64,
    chunks: Vec<BlockCid>,
}

impl AttachmentSealer {
    /// Starts sealing a `size`-byte file with `key` (fresh random bytes,
    /// one key per file).
    pub fn new(key: AttachmentKey, size: u64) -> Result<Self, AttachmentError> {
        if size > MAX_ATTACHMENT_BYTES {
            return Err(AttachmentError::TooLarge(size));
        }
        Ok(Self {
            key,
            size,
            chunks: Vec::with_capacity(chunk_count(size)),
        })
    }

    /// How many plaintext bytes the next chunk must have (`None` when every
    /// chunk is sealed).
    pub fn next_chunk_len(&self) -> Option<usize> {
        let index = self.chunks.len();
        (index < chunk_count(self.size)).then(|| chunk_len(self.size, index))
    }

    /// Seals the next chunk: its CID (raw) and the block to store.
    pub fn seal_chunk(&mut self, plaintext: &[u8]) -> Result<(BlockCid, Vec<u8>), AttachmentError> {
        let index = self.chunks.len();
        let expected = self
            .next_chunk_len()
            .ok_or(AttachmentError::TooManyChunks(self.size))?;
        if plaintext.len() != expected {
            return Err(AttachmentError::ChunkSize {
                index,
                actual: plaintext.len(),
                expected,
            });
        }
        let aad = aad(self.size, index);
        let block = cipher(&self.key)
            .encrypt(
                &nonce(index).into(),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| AttachmentError::Decrypt(index))?;
        let cid = BlockCid::of(&block);
        self.chunks.push(cid);
        Ok((cid, block))
    }

    /// The manifest, once every chunk is sealed.
    pub fn finish(self) -> Result<Manifest, AttachmentError> {
        let expected = chunk_count(self.size);
        if self.chunks.len() != expected {
            return Err(AttachmentError::Incomplete {
                sealed: self.chunks.len(),
                expected,
            });
        }
        Ok(Manifest {
            size: self.size,
            chunks: self.chunks,
        })
    }
}

/// Opens chunk `index` of `manifest`'s file: the block must be the one the
/// manifest lists, decrypt under `key`, and be the size its place implies.
pub fn open_chunk(
    key: &AttachmentKey,
    manifest: &Manifest,
    index: usize,
    block: &[u8],
) -> Result<Vec<u8>, AttachmentError> {
    let cid = manifest
        .chunks
        .get(index)
        .ok_or(AttachmentError::NoSuchChunk(index))?;
    if BlockCid::of(block) != *cid {
        return Err(AttachmentError::CidMismatch(index));
    }
    let expected = chunk_len(manifest.size, index);
    if block.len() != expected + TAG_BYTES {
        return Err(AttachmentError::ChunkSize {
            index,
            actual: block.len().saturating_sub(TAG_BYTES),
            expected,
        });
    }
    let aad = aad(manifest.size, index);
    cipher(key)
        .decrypt(
            &nonce(index).into(),
            Payload {
                msg: block,
                aad: &aad,
            },
        )
        .map_err(|_| AttachmentError::Decrypt(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(data: &[u8], key: &AttachmentKey) -> (Manifest, Vec<Vec<u8>>) {
        let mut s = AttachmentSealer::new(key.clone(), data.len() as u64).unwrap();
        let mut blocks = Vec::new();
        let mut at = 0;
        while let Some(n) = s.next_chunk_len() {
            blocks.push(s.seal_chunk(&data[at..at + n]).unwrap().1);
            at += n;
        }
        (s.finish().unwrap(), blocks)
    }

    #[test]
    fn files_round_trip_chunk_by_chunk() {
        let key = AttachmentKey([7; 32]);
        for size in [0, 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES - 5] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let (manifest, blocks) = seal(&data, &key);
            let back = Manifest::decode(&manifest.encode()).unwrap();
            assert_eq!(back, manifest);
            let mut out = Vec::new();
            for (i, b) in blocks.iter().enumerate() {
                out.extend(open_chunk(&key, &back, i, b).unwrap());
            }
            assert_eq!(out, data);
        }
    }

    #[test]
    fn tampering_moving_and_wrong_keys_are_refused() {
        let key = AttachmentKey([7; 32]);
        let data = vec![1u8; 2 * CHUNK_BYTES];
        let (manifest, blocks) = seal(&data, &key);
        assert_eq!(
            open_chunk(&key, &manifest, 1, &blocks[0]),
            Err(AttachmentError::CidMismatch(1))
        );
        assert_eq!(
            open_chunk(&AttachmentKey([8; 32]), &manifest, 0, &blocks[0]),
            Err(AttachmentError::Decrypt(0))
        );
        // The same chunk listed at another place (a forged manifest) does
        // not decrypt there.
        let forged = Manifest {
            size: manifest.size,
            chunks: vec![manifest.chunks[1], manifest.chunks[0]],
        };
        assert_eq!(
            open_chunk(&key, &forged, 0, &blocks[1]),
            Err(AttachmentError::Decrypt(0))
        );
        assert_eq!(
            open_chunk(&key, &manifest, 2, &blocks[0]),
            Err(AttachmentError::NoSuchChunk(2))
        );
    }

    #[test]
    fn sizes_and_manifests_are_checked() {
        let key = AttachmentKey([1; 32]);
        assert_eq!(
            AttachmentSealer::new(key.clone(), MAX_ATTACHMENT_BYTES + 1).unwrap_err(),
            AttachmentError::TooLarge(MAX_ATTACHMENT_BYTES + 1)
        );
        let mut s = AttachmentSealer::new(key.clone(), 10).unwrap();
        assert!(matches!(
            s.seal_chunk(&[0; 9]),
            Err(AttachmentError::ChunkSize { .. })
        ));
        assert!(matches!(
            AttachmentSealer::new(key, 10).unwrap().finish(),
            Err(AttachmentError::Incomplete { .. })
        ));
        let lying = ManifestNode {
            v: 1,
            size: 3 * CHUNK_BYTES as u64,
            chunks: vec![BlockCid::of(b"x").to_cid()],
        };
        let block = serde_ipld_dagcbor::to_vec(&lying).unwrap();
        assert!(matches!(
            Manifest::decode(&block),
            Err(AttachmentError::Manifest(_))
        ));
        assert_eq!(MAX_CHUNKS, 400);
    }
}
