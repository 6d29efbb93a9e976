//! Bitswap (`/ipfs/bitswap/1.2.0`, 1.1.0 and 1.0.0) over the node's block
//! store, through `beetswap`: the node serves every block it holds to any
//! peer, IPFS nodes included, and fetches the blocks it lacks from whichever
//! connected peer has them. Each block received is checked against its CID
//! (beetswap re-hashes it) before it is stored or handed to the engine.
//!
//! beetswap 0.5.0 is built for rust-libp2p 0.56; `third_party/beetswap` is
//! that release with its manifest moved to libp2p 0.57 (no source change).

use std::sync::Arc;

use blockstore::Blockstore;
use cid::CidGeneric;
use kaichi_privatelog::store::{BlockStore as _, SqliteStore};

/// Largest multihash (bytes) a CID may carry here: SHA-256 (34) and
/// everything IPFS uses fits.
pub(crate) const MAX_MULTIHASH_BYTES: usize = 64;

/// Largest block stored from, or served to, a peer: beetswap's message
/// limit (4 MiB), above the 1 MiB IPFS nodes use by default.
pub const MAX_BLOCK_BYTES: usize = 4 * 1024 * 1024;

/// The Bitswap behaviour a node runs.
pub(crate) type Bitswap = beetswap::Behaviour<MAX_MULTIHASH_BYTES, BitswapStore>;

/// Builds the behaviour over `store` (blocks verified with SHA-2: SHA-256
/// and SHA-512, what IPFS nodes use by default; a block under another
/// multihash is refused).
pub(crate) fn behaviour(store: Arc<SqliteStore>) -> Bitswap {
    beetswap::Behaviour::new(Arc::new(BitswapStore(store)))
}

/// The node's SQLite block store seen as a `blockstore::Blockstore`.
#[derive(Debug)]
pub(crate) struct BitswapStore(Arc<SqliteStore>);

/// The CID as the store keys it (CIDv0 and v1 alike).
fn key<const S: usize>(cid: &CidGeneric<S>) -> blockstore::Result<cid::Cid> {
    cid::Cid::read_bytes(cid.to_bytes().as_slice()).map_err(|_| blockstore::Error::CidTooLarge)
}

fn fatal(e: impl std::fmt::Display) -> blockstore::Error {
    blockstore::Error::FatalDatabaseError(e.to_string())
}

impl Blockstore for BitswapStore {
    async fn get<const S: usize>(
        &self,
        cid: &CidGeneric<S>,
    ) -> blockstore::Result<Option<Vec<u8>>> {
        self.0.get(&key(cid)?).map_err(fatal)
    }

    async fn put_keyed<const S: usize>(
        &self,
        cid: &CidGeneric<S>,
        data: &[u8],
    ) -> blockstore::Result<()> {
        if data.len() > MAX_BLOCK_BYTES {
            return Err(blockstore::Error::ValueTooLarge);
        }
        self.0.put(&key(cid)?, data).map_err(fatal)
    }

    async fn remove<const S: usize>(&self, _cid: &CidGeneric<S>) -> blockstore::Result<()> {
        // Blocks leave the store only through its own garbage collection
        // (unpinned blocks); Bitswap never removes one.
        Ok(())
    }

    async fn has<const S: usize>(&self, cid: &CidGeneric<S>) -> blockstore::Result<bool> {
        self.0.has(&key(cid)?).map_err(fatal)
    }

    async fn close(self) -> blockstore::Result<()> {
        Ok(())
    }
}
