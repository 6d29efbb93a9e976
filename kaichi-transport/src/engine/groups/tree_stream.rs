//! A chunked ratchet tree fetched and decoded in order, a window of chunks
//! at a time: a joiner holds the nodes decoded so far and at most
//! [`TREE_WINDOW`] chunks (4 MiB), never the tree's whole encoding (23.7 MB
//! at 100,000 members) beside its decoded copy. Sans-IO: chunks in, the
//! chunks to ask for and the tree out.

use std::collections::BTreeMap;

use cid::Cid;
use kaichi_groups::{RatchetTree, TreeDecoder};
use kaichi_privatelog::attachment::Manifest;
use kaichi_privatelog::blob::check_chunk;

/// Most chunks asked for ahead of the next one to decode.
pub(super) const TREE_WINDOW: usize = 16;

/// One chunked tree being fetched.
pub(super) struct TreeStream {
    manifest: Manifest,
    /// The next chunk to decode.
    next: usize,
    /// Chunks `0..asked` were asked for.
    asked: usize,
    /// Chunks in, waiting for the ones before them.
    held: BTreeMap<usize, Vec<u8>>,
    decoder: TreeDecoder,
}

impl TreeStream {
    /// A tree whose manifest is `manifest` (its size already checked
    /// against the bound), at most `max` bytes.
    pub(super) fn new(manifest: Manifest, max: usize) -> Self {
        Self {
            manifest,
            next: 0,
            asked: 0,
            held: BTreeMap::new(),
            decoder: TreeDecoder::new(max),
        }
    }

    /// The chunks to ask for now (index and CID), within the window.
    pub(super) fn next_wanted(&mut self) -> Vec<(usize, Cid)> {
        let end = (self.next + TREE_WINDOW).min(self.manifest.chunks().len());
        let ask: Vec<(usize, Cid)> = (self.asked..end)
            .map(|i| (i, self.manifest.chunks()[i].to_cid()))
            .collect();
        self.asked = self.asked.max(end);
        ask
    }

    /// Chunk `index` arrived: it is checked against its place and decoded
    /// with every held chunk it lets through.
    pub(super) fn got(&mut self, index: usize, chunk: Vec<u8>) -> Result<(), String> {
        if index < self.next || index >= self.asked {
            return Ok(());
        }
        check_chunk(&self.manifest, index, &chunk).map_err(|e| e.to_string())?;
        self.held.insert(index, chunk);
        while let Some(chunk) = self.held.remove(&self.next) {
            self.decoder.push(&chunk).map_err(|e| e.to_string())?;
            self.next += 1;
        }
        Ok(())
    }

    /// Whether every chunk was decoded.
    pub(super) fn is_complete(&self) -> bool {
        self.next == self.manifest.chunks().len()
    }

    /// The tree, once complete.
    pub(super) fn finish(self) -> Result<RatchetTree, String> {
        self.decoder.finish().map_err(|e| e.to_string())
    }
}
