//! The page's store: conversations, entries, delivery marks and contacts'
//! documents behind the same [`LogStore`] trait the native node uses, kept
//! in IndexedDB.
//!
//! The store is a [`JournalStore`]: reads come from memory, every change is
//! appended to the IndexedDB object store `journal` in its own transaction
//! as it is made, and [`Store::open`] replays the journal. IndexedDB commits
//! later than the call that wrote: [`Store::durable`] resolves once every
//! change made so far is committed, and a conversation refuses to announce
//! or acknowledge entries while changes are still in flight, so nothing is
//! acknowledged that a closed tab could lose. A failed write (quota,
//! storage cleared, the connection closed) fails `durable()` and every
//! later change, and conversations then refuse to announce or acknowledge:
//! a conversation may already show the change that failed, but nothing is
//! announced that is not kept. Reopen the store.

mod idb;

use std::rc::Rc;

use kaichi_privatelog::store::LogStore as _;
use kaichi_privatelog::store::journal::{JournalSink, JournalStore};
use wasm_bindgen::prelude::*;

use crate::document::Contact;
use crate::error::js;

pub(crate) use idb::IdbSink;

/// Where the page's store writes: nowhere (memory only) or IndexedDB.
#[derive(Debug)]
pub(crate) enum PageSink {
    /// Nothing is kept.
    Memory,
    /// The journal in an IndexedDB database.
    IndexedDb(IdbSink),
}

/// A change could not be written.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PageStoreError {
    /// IndexedDB refused the write (when issued, or an earlier one when it
    /// committed); the store takes no more changes until reopened.
    #[error("IndexedDB: {0}")]
    IndexedDb(String),
}

impl JournalSink for PageSink {
    type Error = PageStoreError;

    fn append(&self, records: &[Vec<u8>]) -> Result<(), PageStoreError> {
        match self {
            PageSink::Memory => Ok(()),
            PageSink::IndexedDb(sink) => sink.append(records),
        }
    }
}

/// The store the page's conversations are kept in.
pub(crate) type Shared = Rc<JournalStore<PageSink>>;

/// The page's store: conversations kept in an IndexedDB database (or in
/// memory only), shared by the conversations opened in it.
#[wasm_bindgen]
pub struct Store {
    inner: Shared,
}

#[wasm_bindgen]
impl Store {
    /// A store that keeps nothing (gone with the page).
    #[wasm_bindgen(js_name = inMemory)]
    pub fn in_memory() -> Store {
        Store {
            inner: Rc::new(JournalStore::new(PageSink::Memory)),
        }
    }

    /// Opens (or creates) the IndexedDB database `name` (one per wallet,
    /// say `kaichi/<wallet>`) and replays its journal. Rejects when
    /// IndexedDB is unavailable or a record is damaged (naming it); nothing
    /// is changed then.
    pub async fn open(name: String) -> Result<Store, JsError> {
        let (sink, records) = IdbSink::open(&name).await?;
        let inner =
            JournalStore::replay(PageSink::IndexedDb(sink), &records).map_err(|e| js(&e))?;
        Ok(Store {
            inner: Rc::new(inner),
        })
    }

    /// Resolves when every change made so far is committed to IndexedDB
    /// (at once for a memory store); rejects if one failed.
    pub fn durable(&self) -> js_sys::Promise {
        match self.inner.sink() {
            PageSink::Memory => js_sys::Promise::resolve(&JsValue::UNDEFINED),
            PageSink::IndexedDb(sink) => sink.durable(),
        }
    }

    /// How many IndexedDB transactions are not committed yet.
    #[wasm_bindgen(getter)]
    pub fn pending(&self) -> u32 {
        match self.inner.sink() {
            PageSink::Memory => 0,
            PageSink::IndexedDb(sink) => sink.pending(),
        }
    }

    /// Whether the store is kept (IndexedDB), not in memory only.
    #[wasm_bindgen(getter)]
    pub fn kept(&self) -> bool {
        matches!(self.inner.sink(), PageSink::IndexedDb(_))
    }

    /// The contacts of every stored conversation (checked when their
    /// conversation was opened; `Conversation.inStore` opens it again).
    pub fn contacts(&self) -> Result<Vec<Contact>, JsError> {
        let conversations = self.inner.conversations().map_err(|e| js(&e))?;
        conversations
            .into_iter()
            .map(|c| {
                let document = self.inner.peer_document(&c.id).map_err(|e| js(&e))?;
                Ok(Contact {
                    public: c.peer,
                    document: document.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Closes the IndexedDB connection (changes in flight still commit;
    /// later changes fail).
    pub fn close(&self) {
        if let PageSink::IndexedDb(sink) = self.inner.sink() {
            sink.close();
        }
    }
}

impl Store {
    pub(crate) fn shared(&self) -> Shared {
        Rc::clone(&self.inner)
    }
}

/// Refuses when changes are in flight: announcing or acknowledging
/// entries a closed tab could still lose.
pub(crate) fn ensure_durable(store: &Shared, what: &str) -> Result<(), JsError> {
    match store.sink() {
        PageSink::Memory => Ok(()),
        PageSink::IndexedDb(sink) => {
            if let Some(failed) = sink.failed() {
                return Err(JsError::new(&format!(
                    "cannot {what}: the store failed ({failed}); reopen it"
                )));
            }
            match sink.pending() {
                0 => Ok(()),
                n => Err(JsError::new(&format!(
                    "cannot {what} yet: {n} change(s) are not committed; await store.durable() first"
                ))),
            }
        }
    }
}
