//! A [`LogStore`] kept in memory and written through to an append-only
//! journal: for storage that is a list of records rather than a database
//! (a browser's IndexedDB or Origin Private File System, a file, a
//! key-value store).
//!
//! Every change is encoded as records (protobuf, see docs/PROTOCOL.md) and
//! handed to a [`JournalSink`] *before* it is applied; if the sink refuses,
//! nothing changes. A change that would change nothing (a block already
//! held, an entry already indexed, a conversation saved as it is) writes
//! no record, so reopening a store does not grow its journal. Reads come
//! from memory. [`JournalStore::replay`] rebuilds the store from the
//! records, checking each one (a record that does not decode, a block that
//! does not hash to its CID, an entry block that is not an entry are typed
//! errors naming the record).
//!
//! Durability is the sink's: a synchronous sink (a file it flushes) makes
//! a change durable when the call returns, as [`LogStore::add_entries`]
//! says; an asynchronous one (IndexedDB) must tell its caller when its
//! writes are committed, and the caller waits for that before
//! acknowledging anything (kaichi-web's `Store.durable()`).

mod record;

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Mutex;

use cid::Cid;
use kaichi_identity::WalletAddress;

pub use record::{MAX_RECORD_BYTES, RecordError};

use self::record::{MAX_DELIVERED_PER_RECORD, Record};
use super::{BlockStore, LogStore, MemoryStore, MemoryStoreError, StoredConversation};
use crate::entry::Entry;
use crate::ids::{ConversationId, EntryCid};
use crate::log::OrderKey;

/// Where a [`JournalStore`] writes its records.
pub trait JournalSink {
    /// The sink's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends `records` after every record appended before: all of them
    /// or, on an error, none.
    fn append(&self, records: &[Vec<u8>]) -> Result<(), Self::Error>;
}

/// A sink that keeps the records in memory (tests, and a store that is
/// not kept).
#[derive(Debug, Default)]
pub struct MemoryJournal(Mutex<Vec<Vec<u8>>>);

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record appended so far, in order.
    pub fn records(&self) -> Vec<Vec<u8>> {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl JournalSink for MemoryJournal {
    type Error = MemoryStoreError;

    fn append(&self, records: &[Vec<u8>]) -> Result<(), Self::Error> {
        self.0
            .lock()
            .map_err(|_| MemoryStoreError::Poisoned)?
            .extend(records.iter().cloned());
        Ok(())
    }
}

/// A change could not be made (and nothing changed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError<E: std::error::Error + 'static> {
    /// The sink refused the records.
    #[error("journal: {0}")]
    Sink(#[source] E),
    /// A record would be larger than [`MAX_RECORD_BYTES`] (a block too
    /// large for this store).
    #[error("a record of {actual} bytes is more than the {max} a journal takes")]
    TooLarge {
        /// The record's length.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// The in-memory state failed.
    #[error(transparent)]
    Memory(#[from] MemoryStoreError),
}

/// A journal could not be replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A record is invalid (the storage was changed outside Kaichi, or
    /// damaged).
    #[error("journal record {index}: {source}")]
    Record {
        /// Its position in the journal.
        index: usize,
        /// Why.
        source: RecordError,
    },
    /// The in-memory state failed.
    #[error(transparent)]
    Memory(#[from] MemoryStoreError),
}

/// A [`LogStore`] in memory, every change written through to a journal.
#[derive(Debug)]
pub struct JournalStore<S> {
    memory: MemoryStore,
    sink: S,
}

impl<S: JournalSink> JournalStore<S> {
    /// An empty store writing to `sink` (which holds no records yet).
    pub fn new(sink: S) -> Self {
        Self {
            memory: MemoryStore::new(),
            sink,
        }
    }

    /// The store that `records` (a journal, in order) describe, writing
    /// its further changes to `sink`. Any invalid record is an error and
    /// no store is made.
    pub fn replay<I>(sink: S, records: I) -> Result<Self, ReplayError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let memory = MemoryStore::new();
        for (index, bytes) in records.into_iter().enumerate() {
            let record = Record::decode(bytes.as_ref())
                .map_err(|source| ReplayError::Record { index, source })?;
            apply(&memory, record)?;
        }
        Ok(Self { memory, sink })
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Writes `records` to the sink, then applies them.
    fn write(&self, records: Vec<Record>) -> Result<(), JournalError<S::Error>> {
        if records.is_empty() {
            return Ok(());
        }
        let encoded: Vec<Vec<u8>> = records.iter().map(Record::encode).collect();
        if let Some(large) = encoded.iter().find(|r| r.len() > MAX_RECORD_BYTES) {
            return Err(JournalError::TooLarge {
                actual: large.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        self.sink.append(&encoded).map_err(JournalError::Sink)?;
        for record in records {
            apply(&self.memory, record)?;
        }
        Ok(())
    }
}

/// Applies one record to the in-memory state.
fn apply(memory: &MemoryStore, record: Record) -> Result<(), MemoryStoreError> {
    match record {
        Record::Put { cid, block } => memory.put(&cid, &block),
        Record::Pin(cid) => memory.pin(&cid),
        Record::Unpin(cid) => memory.unpin(&cid),
        Record::Conversation(c) => memory.save_conversation(&c),
        Record::Entry {
            conversation,
            key,
            block,
        } => memory.index(&conversation, key, Cow::Owned(block)),
        Record::Delivered { conversation, cids } => memory.mark_delivered(&conversation, &cids),
        Record::Request {
            conversation,
            request,
        } => memory.set_request(&conversation, request),
        Record::Hold {
            conversation,
            invitation,
        } => memory.hold_invitation(&conversation, &invitation),
        Record::Release(conversation) => memory.release_invitations(&conversation),
        Record::PeerDocument {
            conversation,
            document,
        } => memory.save_peer_document(&conversation, &document),
        Record::Blocked { wallet, blocked } => memory.set_blocked(&wallet, blocked),
    }
}

impl<S: JournalSink> BlockStore for JournalStore<S> {
    type Error = JournalError<S::Error>;

    fn put(&self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error> {
        if self.memory.has(cid)? {
            return Ok(());
        }
        self.write(vec![Record::Put {
            cid: *cid,
            block: block.to_vec(),
        }])
    }

    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.memory.get(cid)?)
    }

    fn has(&self, cid: &Cid) -> Result<bool, Self::Error> {
        Ok(self.memory.has(cid)?)
    }

    fn pin(&self, cid: &Cid) -> Result<(), Self::Error> {
        if self.memory.is_pinned(cid)? {
            return Ok(());
        }
        self.write(vec![Record::Pin(*cid)])
    }

    fn unpin(&self, cid: &Cid) -> Result<(), Self::Error> {
        if !self.memory.is_pinned(cid)? {
            return Ok(());
        }
        self.write(vec![Record::Unpin(*cid)])
    }

    fn is_pinned(&self, cid: &Cid) -> Result<bool, Self::Error> {
        Ok(self.memory.is_pinned(cid)?)
    }
}

impl<S: JournalSink> LogStore for JournalStore<S> {
    fn save_conversation(&self, conversation: &StoredConversation) -> Result<(), Self::Error> {
        if self.memory.conversation(&conversation.id)?.as_ref() == Some(conversation) {
            return Ok(());
        }
        self.write(vec![Record::Conversation(*conversation)])
    }

    fn conversations(&self) -> Result<Vec<StoredConversation>, Self::Error> {
        Ok(self.memory.conversations()?)
    }

    fn add_entries(
        &self,
        conversation: &ConversationId,
        entries: &[&Entry],
    ) -> Result<(), Self::Error> {
        let mut records = Vec::new();
        let mut seen = HashSet::new();
        for e in entries {
            let key = OrderKey {
                clock: e.clock(),
                author: e.author().to_bytes(),
                cid: e.cid(),
            };
            if !self.memory.indexes(conversation, &key)? && seen.insert(key) {
                records.push(Record::Entry {
                    conversation: *conversation,
                    key,
                    block: e.block().to_vec(),
                });
            }
        }
        self.write(records)
    }

    fn for_each_entry_block(
        &self,
        conversation: &ConversationId,
        f: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), Self::Error> {
        Ok(self.memory.for_each_entry_block(conversation, f)?)
    }

    fn entries_after(
        &self,
        conversation: &ConversationId,
        after: Option<&crate::log::OrderKey>,
        limit: usize,
    ) -> Result<Vec<(crate::log::OrderKey, Vec<u8>)>, Self::Error> {
        Ok(self.memory.entries_after(conversation, after, limit)?)
    }

    fn entry_key(
        &self,
        conversation: &ConversationId,
        cid: &EntryCid,
    ) -> Result<Option<crate::log::OrderKey>, Self::Error> {
        Ok(self.memory.entry_key(conversation, cid)?)
    }

    fn entry_count(&self, conversation: &ConversationId) -> Result<u64, Self::Error> {
        Ok(self.memory.entry_count(conversation)?)
    }

    fn mark_delivered(
        &self,
        conversation: &ConversationId,
        cids: &[EntryCid],
    ) -> Result<(), Self::Error> {
        let mut new = Vec::new();
        let mut seen = HashSet::new();
        for cid in cids {
            if !self.memory.is_delivered(conversation, cid)? && seen.insert(*cid) {
                new.push(*cid);
            }
        }
        let records = new
            .chunks(MAX_DELIVERED_PER_RECORD)
            .map(|chunk| Record::Delivered {
                conversation: *conversation,
                cids: chunk.to_vec(),
            })
            .collect();
        self.write(records)
    }

    fn delivered(&self, conversation: &ConversationId) -> Result<Vec<EntryCid>, Self::Error> {
        Ok(self.memory.delivered(conversation)?)
    }

    fn set_request(&self, conversation: &ConversationId, request: bool) -> Result<(), Self::Error> {
        if self.memory.is_request(conversation)? == request {
            return Ok(());
        }
        self.write(vec![Record::Request {
            conversation: *conversation,
            request,
        }])
    }

    fn requests(&self) -> Result<Vec<ConversationId>, Self::Error> {
        Ok(self.memory.requests()?)
    }

    fn hold_invitation(
        &self,
        conversation: &ConversationId,
        invitation: &[u8],
    ) -> Result<(), Self::Error> {
        self.write(vec![Record::Hold {
            conversation: *conversation,
            invitation: invitation.to_vec(),
        }])
    }

    fn held_invitations(&self) -> Result<Vec<(ConversationId, Vec<u8>)>, Self::Error> {
        Ok(self.memory.held_invitations()?)
    }

    fn release_invitations(&self, conversation: &ConversationId) -> Result<(), Self::Error> {
        if !self.memory.holds(conversation)? {
            return Ok(());
        }
        self.write(vec![Record::Release(*conversation)])
    }

    fn save_peer_document(
        &self,
        conversation: &ConversationId,
        document: &[u8],
    ) -> Result<(), Self::Error> {
        if self.memory.peer_document(conversation)?.as_deref() == Some(document) {
            return Ok(());
        }
        self.write(vec![Record::PeerDocument {
            conversation: *conversation,
            document: document.to_vec(),
        }])
    }

    fn peer_document(&self, conversation: &ConversationId) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.memory.peer_document(conversation)?)
    }

    fn set_blocked(&self, wallet: &WalletAddress, blocked: bool) -> Result<(), Self::Error> {
        if self.memory.is_blocked(wallet)? == blocked {
            return Ok(());
        }
        self.write(vec![Record::Blocked {
            wallet: *wallet,
            blocked,
        }])
    }

    fn is_blocked(&self, wallet: &WalletAddress) -> Result<bool, Self::Error> {
        Ok(self.memory.is_blocked(wallet)?)
    }

    fn blocked(&self) -> Result<Vec<WalletAddress>, Self::Error> {
        Ok(self.memory.blocked()?)
    }
}
