//! An in-memory store, for tests and simulations.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use cid::Cid;
use kaichi_identity::WalletAddress;

use super::{BlockStore, LogStore, StoredConversation};
use crate::entry::Entry;
use crate::ids::{ConversationId, EntryCid};
use crate::log::OrderKey;

/// The memory store cannot fail except through a poisoned lock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryStoreError {
    /// A thread panicked while holding the store's lock.
    #[error("the memory store's lock is poisoned")]
    Poisoned,
}

#[derive(Debug, Default)]
struct Inner {
    blocks: HashMap<Cid, Vec<u8>>,
    pins: HashSet<Cid>,
    conversations: BTreeMap<ConversationId, StoredConversation>,
    logs: HashMap<ConversationId, BTreeMap<OrderKey, Cid>>,
    delivered: HashMap<ConversationId, HashSet<EntryCid>>,
    requests: BTreeSet<ConversationId>,
    held: BTreeMap<ConversationId, Vec<Vec<u8>>>,
    blocked: BTreeSet<WalletAddress>,
    peer_documents: HashMap<ConversationId, Vec<u8>>,
}

/// A [`LogStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Inner>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, MemoryStoreError> {
        self.0.lock().map_err(|_| MemoryStoreError::Poisoned)
    }

    /// Stores, pins and indexes one entry block under `key` (what
    /// `add_entries` does for each entry, and a journal's replay).
    pub(crate) fn index(
        &self,
        conversation: &ConversationId,
        key: OrderKey,
        block: Cow<'_, [u8]>,
    ) -> Result<(), MemoryStoreError> {
        let mut inner = self.lock()?;
        let cid = key.cid.to_cid();
        inner
            .blocks
            .entry(cid)
            .or_insert_with(|| block.into_owned());
        inner.pins.insert(cid);
        inner
            .logs
            .entry(*conversation)
            .or_default()
            .insert(key, cid);
        Ok(())
    }

    /// Whether `key` is in `conversation`'s index.
    pub(crate) fn indexes(
        &self,
        conversation: &ConversationId,
        key: &OrderKey,
    ) -> Result<bool, MemoryStoreError> {
        Ok(self
            .lock()?
            .logs
            .get(conversation)
            .is_some_and(|log| log.contains_key(key)))
    }

    /// Whether `cid` of `conversation` is marked delivered.
    pub(crate) fn is_delivered(
        &self,
        conversation: &ConversationId,
        cid: &EntryCid,
    ) -> Result<bool, MemoryStoreError> {
        Ok(self
            .lock()?
            .delivered
            .get(conversation)
            .is_some_and(|d| d.contains(cid)))
    }

    /// The conversation recorded under `id`, if any.
    pub(crate) fn conversation(
        &self,
        id: &ConversationId,
    ) -> Result<Option<StoredConversation>, MemoryStoreError> {
        Ok(self.lock()?.conversations.get(id).copied())
    }

    /// Whether invitations are held for `conversation`.
    pub(crate) fn holds(&self, conversation: &ConversationId) -> Result<bool, MemoryStoreError> {
        Ok(self.lock()?.held.contains_key(conversation))
    }

    /// Whether `conversation` is a request.
    pub(crate) fn is_request(
        &self,
        conversation: &ConversationId,
    ) -> Result<bool, MemoryStoreError> {
        Ok(self.lock()?.requests.contains(conversation))
    }
}

impl BlockStore for MemoryStore {
    type Error = MemoryStoreError;

    fn put(&self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error> {
        self.lock()?
            .blocks
            .entry(*cid)
            .or_insert_with(|| block.to_vec());
        Ok(())
    }

    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.lock()?.blocks.get(cid).cloned())
    }

    fn has(&self, cid: &Cid) -> Result<bool, Self::Error> {
        Ok(self.lock()?.blocks.contains_key(cid))
    }

    fn pin(&self, cid: &Cid) -> Result<(), Self::Error> {
        self.lock()?.pins.insert(*cid);
        Ok(())
    }

    fn unpin(&self, cid: &Cid) -> Result<(), Self::Error> {
        self.lock()?.pins.remove(cid);
        Ok(())
    }

    fn is_pinned(&self, cid: &Cid) -> Result<bool, Self::Error> {
        Ok(self.lock()?.pins.contains(cid))
    }
}

impl LogStore for MemoryStore {
    fn save_conversation(&self, conversation: &StoredConversation) -> Result<(), Self::Error> {
        self.lock()?
            .conversations
            .insert(conversation.id, *conversation);
        Ok(())
    }

    fn conversations(&self) -> Result<Vec<StoredConversation>, Self::Error> {
        Ok(self.lock()?.conversations.values().copied().collect())
    }

    fn add_entries(
        &self,
        conversation: &ConversationId,
        entries: &[&Entry],
    ) -> Result<(), Self::Error> {
        for e in entries {
            let key = OrderKey {
                clock: e.clock(),
                author: e.author().to_bytes(),
                cid: e.cid(),
            };
            self.index(conversation, key, Cow::Borrowed(e.block()))?;
        }
        Ok(())
    }

    fn for_each_entry_block(
        &self,
        conversation: &ConversationId,
        f: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), Self::Error> {
        let inner = self.lock()?;
        if let Some(log) = inner.logs.get(conversation) {
            for cid in log.values() {
                if let Some(block) = inner.blocks.get(cid)
                    && !f(block)
                {
                    break;
                }
            }
        }
        Ok(())
    }

    fn entries_after(
        &self,
        conversation: &ConversationId,
        after: Option<&OrderKey>,
        limit: usize,
    ) -> Result<Vec<(OrderKey, Vec<u8>)>, Self::Error> {
        let inner = self.lock()?;
        let Some(log) = inner.logs.get(conversation) else {
            return Ok(Vec::new());
        };
        let range = match after {
            Some(k) => log.range((std::ops::Bound::Excluded(*k), std::ops::Bound::Unbounded)),
            None => log.range(..),
        };
        Ok(range
            .filter_map(|(k, cid)| inner.blocks.get(cid).map(|b| (*k, b.clone())))
            .take(limit)
            .collect())
    }

    fn entry_key(
        &self,
        conversation: &ConversationId,
        cid: &EntryCid,
    ) -> Result<Option<OrderKey>, Self::Error> {
        // A scan: this store is for tests and small (browser) conversations.
        Ok(self
            .lock()?
            .logs
            .get(conversation)
            .and_then(|log| log.keys().find(|k| k.cid == *cid).copied()))
    }

    fn entry_count(&self, conversation: &ConversationId) -> Result<u64, Self::Error> {
        Ok(self
            .lock()?
            .logs
            .get(conversation)
            .map_or(0, |l| l.len() as u64))
    }

    fn mark_delivered(
        &self,
        conversation: &ConversationId,
        cids: &[EntryCid],
    ) -> Result<(), Self::Error> {
        self.lock()?
            .delivered
            .entry(*conversation)
            .or_default()
            .extend(cids.iter().copied());
        Ok(())
    }

    fn delivered(&self, conversation: &ConversationId) -> Result<Vec<EntryCid>, Self::Error> {
        Ok(self
            .lock()?
            .delivered
            .get(conversation)
            .map(|d| d.iter().copied().collect())
            .unwrap_or_default())
    }

    fn set_request(&self, conversation: &ConversationId, request: bool) -> Result<(), Self::Error> {
        let mut inner = self.lock()?;
        if request {
            inner.requests.insert(*conversation);
        } else {
            inner.requests.remove(conversation);
        }
        Ok(())
    }

    fn requests(&self) -> Result<Vec<ConversationId>, Self::Error> {
        Ok(self.lock()?.requests.iter().copied().collect())
    }

    fn hold_invitation(
        &self,
        conversation: &ConversationId,
        invitation: &[u8],
    ) -> Result<(), Self::Error> {
        let mut inner = self.lock()?;
        inner
            .held
            .entry(*conversation)
            .or_default()
            .push(invitation.to_vec());
        Ok(())
    }

    fn held_invitations(&self) -> Result<Vec<(ConversationId, Vec<u8>)>, Self::Error> {
        Ok(self
            .lock()?
            .held
            .iter()
            .flat_map(|(id, list)| list.iter().map(|i| (*id, i.clone())))
            .collect())
    }

    fn release_invitations(&self, conversation: &ConversationId) -> Result<(), Self::Error> {
        self.lock()?.held.remove(conversation);
        Ok(())
    }

    fn save_peer_document(
        &self,
        conversation: &ConversationId,
        document: &[u8],
    ) -> Result<(), Self::Error> {
        self.lock()?
            .peer_documents
            .insert(*conversation, document.to_vec());
        Ok(())
    }

    fn peer_document(&self, conversation: &ConversationId) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.lock()?.peer_documents.get(conversation).cloned())
    }

    fn set_blocked(&self, wallet: &WalletAddress, blocked: bool) -> Result<(), Self::Error> {
        let mut inner = self.lock()?;
        if blocked {
            inner.blocked.insert(*wallet);
        } else {
            inner.blocked.remove(wallet);
        }
        Ok(())
    }

    fn is_blocked(&self, wallet: &WalletAddress) -> Result<bool, Self::Error> {
        Ok(self.lock()?.blocked.contains(wallet))
    }

    fn blocked(&self) -> Result<Vec<WalletAddress>, Self::Error> {
        Ok(self.lock()?.blocked.iter().copied().collect())
    }
}
