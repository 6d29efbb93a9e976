//! Block storage and the log index.
//!
//! [`BlockStore`] is content-addressed storage (put/get/has/pin/unpin);
//! [`LogStore`] adds the index of which entries belong to which conversation
//! and who the peer is. [`MemoryStore`] is for tests; [`SqliteStore`] (feature
//! `sqlite`, on by default) is the embedded on-disk default: one SQLite file
//! per profile, WAL mode, versioned schema. [`journal::JournalStore`] is
//! for storage that is a list of records (a browser's IndexedDB): memory,
//! written through to an append-only journal.

pub mod journal;
mod memory;
#[cfg(feature = "sqlite")]
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::sync::Arc;

use cid::Cid;
use kaichi_identity::{IdentityPublic, WalletAddress};

pub use memory::{MemoryStore, MemoryStoreError};
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SCHEMA_VERSION, SqliteStore, StoreError};

use crate::conversation::Conversation;
use crate::entry::{Entry, IngestError};
use crate::ids::{ConversationId, EntryCid};
use crate::log::{ColdEntries, ColdError, OrderKey};

/// Content-addressed block storage. Callers verify blocks before `put`.
pub trait BlockStore {
    /// The store's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores a block under its CID (idempotent).
    fn put(&self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error>;
    /// The block, if held.
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Whether the block is held.
    fn has(&self, cid: &Cid) -> Result<bool, Self::Error>;
    /// Keeps the block from garbage collection.
    fn pin(&self, cid: &Cid) -> Result<(), Self::Error>;
    /// Allows garbage collection of the block.
    fn unpin(&self, cid: &Cid) -> Result<(), Self::Error>;
    /// Whether the block is pinned.
    fn is_pinned(&self, cid: &Cid) -> Result<bool, Self::Error>;
}

/// A conversation as stored: its id and the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredConversation {
    /// The conversation id.
    pub id: ConversationId,
    /// The other participant.
    pub peer: IdentityPublic,
}

/// Block storage plus the per-conversation log index.
pub trait LogStore: BlockStore {
    /// Records a conversation and its peer (idempotent).
    fn save_conversation(&self, conversation: &StoredConversation) -> Result<(), Self::Error>;
    /// Every recorded conversation.
    fn conversations(&self) -> Result<Vec<StoredConversation>, Self::Error>;
    /// Atomically stores and pins the entries' blocks and indexes them under
    /// `conversation`. When this returns `Ok`, the entries are durable.
    fn add_entries(
        &self,
        conversation: &ConversationId,
        entries: &[&Entry],
    ) -> Result<(), Self::Error>;
    /// Every entry block of a conversation, in (clock, author, CID) order.
    fn entry_blocks(&self, conversation: &ConversationId) -> Result<Vec<Vec<u8>>, Self::Error> {
        let mut out = Vec::new();
        self.for_each_entry_block(conversation, &mut |b| {
            out.push(b.to_vec());
            true
        })?;
        Ok(out)
    }
    /// Streams the entry blocks of a conversation in (clock, author, CID)
    /// order without holding them all; `f` returns false to stop early.
    fn for_each_entry_block(
        &self,
        conversation: &ConversationId,
        f: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), Self::Error>;
    /// Up to `limit` entry blocks of a conversation with their positions,
    /// in (clock, author, CID) order, starting after `after` (from the
    /// oldest when `None`): a conversation read in pages, holding no lock
    /// between them.
    fn entries_after(
        &self,
        conversation: &ConversationId,
        after: Option<&OrderKey>,
        limit: usize,
    ) -> Result<Vec<(OrderKey, Vec<u8>)>, Self::Error>;
    /// The position of entry `cid` in `conversation`'s index, if indexed
    /// there.
    fn entry_key(
        &self,
        conversation: &ConversationId,
        cid: &EntryCid,
    ) -> Result<Option<OrderKey>, Self::Error>;
    /// How many entries a conversation has.
    fn entry_count(&self, conversation: &ConversationId) -> Result<u64, Self::Error>;
    /// Records that the other side of `conversation` acknowledged storing
    /// the entries `cids` (idempotent). When this returns `Ok`, the marks
    /// are durable.
    fn mark_delivered(
        &self,
        conversation: &ConversationId,
        cids: &[EntryCid],
    ) -> Result<(), Self::Error>;
    /// Every entry of `conversation` marked delivered.
    fn delivered(&self, conversation: &ConversationId) -> Result<Vec<EntryCid>, Self::Error>;
    /// Marks `conversation` as a message request (someone not a contact
    /// wrote first) or, with `false`, as a contact's (accepted).
    fn set_request(&self, conversation: &ConversationId, request: bool) -> Result<(), Self::Error>;
    /// The conversations that are message requests.
    fn requests(&self) -> Result<Vec<ConversationId>, Self::Error>;
    /// Keeps a group invitation (its protobuf) that the request in
    /// `conversation` sent, after the ones kept before; the caller bounds
    /// how many.
    fn hold_invitation(
        &self,
        conversation: &ConversationId,
        invitation: &[u8],
    ) -> Result<(), Self::Error>;
    /// Every kept invitation, by conversation, in arrival order.
    fn held_invitations(&self) -> Result<Vec<(ConversationId, Vec<u8>)>, Self::Error>;
    /// Forgets the invitations kept for `conversation` (taken up, or the
    /// sender blocked).
    fn release_invitations(&self, conversation: &ConversationId) -> Result<(), Self::Error>;
    /// Keeps the identity document of `conversation`'s peer (the signed
    /// bytes, verified and judged newest by the caller), replacing the one
    /// kept before: what this identity's other devices are told the
    /// contact with (self-sync), also after a restart.
    fn save_peer_document(
        &self,
        conversation: &ConversationId,
        document: &[u8],
    ) -> Result<(), Self::Error>;
    /// The peer document kept for `conversation`, if any.
    fn peer_document(&self, conversation: &ConversationId) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Blocks (or, with `false`, unblocks) everything from `wallet`'s
    /// identities.
    fn set_blocked(&self, wallet: &WalletAddress, blocked: bool) -> Result<(), Self::Error>;
    /// Whether `wallet` is blocked.
    fn is_blocked(&self, wallet: &WalletAddress) -> Result<bool, Self::Error>;
    /// Every blocked wallet.
    fn blocked(&self) -> Result<Vec<WalletAddress>, Self::Error>;
}

/// A stored conversation could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[source] E),
    /// A stored block does not decode: the database was modified outside Kaichi.
    #[error("stored entry {index} is invalid: {source}")]
    Corrupt {
        /// Position in the stored order.
        index: usize,
        /// Why.
        source: IngestError,
    },
}

impl Conversation {
    /// Loads every stored entry of this conversation (blocks this process
    /// verified before storing; signatures are not re-checked) and which of
    /// this side's the other side acknowledged. Returns how many entries
    /// were added.
    pub fn load<S: LogStore>(&mut self, store: &S) -> Result<usize, LoadError<S::Error>> {
        let mut added = 0;
        let mut index = 0;
        let mut corrupt = None;
        store
            .for_each_entry_block(&self.id(), &mut |block| match self.ingest_stored(block) {
                Ok(ins) => {
                    added += usize::from(ins.new);
                    index += 1;
                    true
                }
                Err(source) => {
                    corrupt = Some(LoadError::Corrupt { index, source });
                    false
                }
            })
            .map_err(LoadError::Store)?;
        if let Some(e) = corrupt {
            return Err(e);
        }
        let delivered = store.delivered(&self.id()).map_err(LoadError::Store)?;
        self.mark_delivered(delivered);
        Ok(added)
    }
}

/// Entries read per page by [`Conversation::load_settled`].
const LOAD_PAGE: usize = 512;

impl Conversation {
    /// Loads the stored conversation as [`Conversation::load`] does, but
    /// keeps about the newest `keep` entries in memory: the older ones are
    /// settled as loading goes ([`Conversation::settle`]), looked up in
    /// `store` from then on. The store is read in pages, so it is not
    /// locked while entries are opened.
    pub fn load_settled<S>(
        &mut self,
        store: &Arc<S>,
        keep: usize,
    ) -> Result<usize, LoadError<S::Error>>
    where
        S: LogStore + std::fmt::Debug + Send + Sync + 'static,
    {
        // Receipts are applied page by page, before entries settle.
        let delivered: std::collections::HashSet<EntryCid> = store
            .delivered(&self.id())
            .map_err(LoadError::Store)?
            .into_iter()
            .collect();
        let (mut added, mut index, mut after) = (0, 0, None);
        loop {
            let page = store
                .entries_after(&self.id(), after.as_ref(), LOAD_PAGE)
                .map_err(LoadError::Store)?;
            let full = page.len() == LOAD_PAGE;
            let mut marks = Vec::new();
            for (key, block) in page {
                let ins = self
                    .ingest_stored(&block)
                    .map_err(|source| LoadError::Corrupt { index, source })?;
                added += usize::from(ins.new);
                index += 1;
                if delivered.contains(&key.cid) {
                    marks.push(key.cid);
                }
                after = Some(key);
            }
            self.mark_delivered(marks);
            if !full || self.hot_len() > keep.saturating_mul(2) {
                // While loading, the store holds entries not loaded yet:
                // the index answers only for those loaded.
                let mut cold = SettledEntries::new(store.clone(), self.id());
                if full {
                    cold.up_to = after;
                }
                self.settle(Arc::new(cold), keep);
            }
            if !full {
                return Ok(added);
            }
        }
    }
}

/// A conversation's settled entries, looked up in the store that holds them
/// ([`Conversation::settle`], [`Conversation::load_settled`]).
#[derive(Debug)]
pub struct SettledEntries<S> {
    store: Arc<S>,
    conversation: ConversationId,
    /// Answer only for entries up to here (the part of a conversation
    /// loaded so far).
    up_to: Option<OrderKey>,
}

impl<S> SettledEntries<S> {
    /// The entries `store` indexes under `conversation`.
    pub fn new(store: Arc<S>, conversation: ConversationId) -> Self {
        Self {
            store,
            conversation,
            up_to: None,
        }
    }
}

impl<S: LogStore + std::fmt::Debug + Send + Sync> ColdEntries for SettledEntries<S> {
    fn key_of(&self, cid: &EntryCid) -> Result<Option<OrderKey>, ColdError> {
        let key = self
            .store
            .entry_key(&self.conversation, cid)
            .map_err(|_| ColdError)?;
        Ok(key.filter(|k| self.up_to.is_none_or(|up_to| *k <= up_to)))
    }
}

/// Exports a conversation as a CARv1 file: every stored entry block, with
/// the conversation's current heads as roots.
pub fn export_conversation<S: LogStore>(
    conversation: &Conversation,
    store: &S,
) -> Result<Vec<u8>, S::Error> {
    let blocks = store.entry_blocks(&conversation.id())?;
    let roots: Vec<Cid> = conversation.heads().iter().map(|c| c.to_cid()).collect();
    Ok(crate::car::write_car(
        &roots,
        blocks
            .iter()
            .map(|b| (crate::ids::EntryCid::of(b).to_cid(), b.as_slice())),
    ))
}
