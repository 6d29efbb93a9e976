//! The journal in IndexedDB: one object store, `journal`, of byte records
//! under increasing keys; each change is one `strict`-durability
//! transaction, counted until it commits.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Event, IdbDatabase, IdbFactory, IdbObjectStoreParameters, IdbRequest, IdbTransaction,
};

use super::PageStoreError;

/// The object store holding the journal.
const JOURNAL: &str = "journal";
/// The database's schema version.
const VERSION: u32 = 1;

/// A `durable()` promise's resolve and reject functions.
type Waiter = (Function, Function);

/// What the transactions in flight came to.
#[derive(Debug, Default)]
struct State {
    /// Transactions not committed yet.
    pending: u32,
    /// The first failure, if any (then every later write is refused).
    failed: Option<String>,
    /// `durable()` promises waiting for `pending` to reach zero.
    waiters: Vec<Waiter>,
}

impl State {
    /// The waiters to settle now, and with what.
    fn settle(&mut self) -> Option<(Vec<Waiter>, Result<(), String>)> {
        if let Some(failed) = &self.failed {
            return Some((std::mem::take(&mut self.waiters), Err(failed.clone())));
        }
        (self.pending == 0).then(|| (std::mem::take(&mut self.waiters), Ok(())))
    }
}

fn settle(state: &Rc<RefCell<State>>) {
    let ready = state.borrow_mut().settle();
    if let Some((waiters, outcome)) = ready {
        for (resolve, reject) in waiters {
            let _ = match &outcome {
                Ok(()) => resolve.call0(&JsValue::UNDEFINED),
                Err(e) => reject.call1(&JsValue::UNDEFINED, &js_sys::Error::new(e)),
            };
        }
    }
}

/// The IndexedDB journal a page's store writes to.
#[derive(Debug)]
pub(crate) struct IdbSink {
    db: IdbDatabase,
    state: Rc<RefCell<State>>,
    /// The transactions' `complete` and `abort` handlers (always `Some`
    /// until dropped).
    on_complete: Option<Closure<dyn FnMut(Event)>>,
    on_abort: Option<Closure<dyn FnMut(Event)>>,
}

impl Drop for IdbSink {
    /// Transactions still in flight call the handlers after the store is
    /// gone: they are left to JavaScript's garbage collector instead of
    /// being freed (a few hundred bytes per store opened).
    fn drop(&mut self) {
        if let Some(c) = self.on_complete.take() {
            c.forget();
        }
        if let Some(c) = self.on_abort.take() {
            c.forget();
        }
    }
}

/// A JavaScript exception as text.
fn text(e: &JsValue) -> String {
    if let Some(d) = e.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", d.name(), d.message());
    }
    if let Some(e) = e.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// Waits for a request's `success` (its result) or `error`.
async fn done(request: &IdbRequest) -> Result<JsValue, JsError> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = request.clone();
        let on_success = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::UNDEFINED, &ok.result().unwrap_or_default());
        });
        let bad = request.clone();
        let on_error = Closure::once_into_js(move || {
            let error = bad
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::UNDEFINED, JsValue::from);
            let _ = reject.call1(&JsValue::UNDEFINED, &error);
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise)
        .await
        .map_err(|e| JsError::new(&format!("IndexedDB: {}", text(&e))))
}

impl IdbSink {
    /// Opens (creating if need be) the database `name` and reads its
    /// journal, oldest record first.
    pub(crate) async fn open(name: &str) -> Result<(IdbSink, Vec<Vec<u8>>), JsError> {
        let factory: IdbFactory = Reflect::get(&js_sys::global(), &"indexedDB".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| JsError::new("IndexedDB is not available here"))?;
        let request = factory
            .open_with_u32(name, VERSION)
            .map_err(|e| JsError::new(&format!("IndexedDB: {}", text(&e))))?;
        let upgrading = request.clone();
        let on_upgrade = Closure::once_into_js(move || {
            if let Ok(db) = upgrading.result().and_then(|d| d.dyn_into::<IdbDatabase>())
                && !db.object_store_names().contains(JOURNAL)
            {
                let parameters = IdbObjectStoreParameters::new();
                parameters.set_auto_increment(true);
                // A failure here aborts the upgrade, and the open fails.
                let _ = db.create_object_store_with_optional_parameters(JOURNAL, &parameters);
            }
        });
        request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
        let db: IdbDatabase = done(&request)
            .await?
            .dyn_into()
            .map_err(|_| JsError::new("IndexedDB did not open a database"))?;
        let read = db
            .transaction_with_str(JOURNAL)
            .and_then(|tx| tx.object_store(JOURNAL))
            .and_then(|store| store.get_all())
            .map_err(|e| JsError::new(&format!("IndexedDB: {}", text(&e))))?;
        let all: js_sys::Array = done(&read)
            .await?
            .dyn_into()
            .map_err(|_| JsError::new("IndexedDB: the journal did not read as a list"))?;
        let mut records = Vec::with_capacity(all.length() as usize);
        for (index, value) in all.iter().enumerate() {
            let bytes = value
                .dyn_into::<Uint8Array>()
                .map_err(|_| JsError::new(&format!("journal record {index}: not bytes")))?;
            records.push(bytes.to_vec());
        }
        Ok((IdbSink::new(db), records))
    }

    fn new(db: IdbDatabase) -> IdbSink {
        let state = Rc::new(RefCell::new(State::default()));
        let complete = Rc::clone(&state);
        let on_complete = Closure::new(move |_: Event| {
            {
                let mut s = complete.borrow_mut();
                s.pending = s.pending.saturating_sub(1);
            }
            settle(&complete);
        });
        let abort = Rc::clone(&state);
        let on_abort = Closure::new(move |event: Event| {
            let why = event
                .target()
                .and_then(|t| t.dyn_into::<IdbTransaction>().ok())
                .and_then(|tx| tx.error())
                .map_or_else(
                    || "a write was aborted".to_owned(),
                    |d| format!("{}: {}", d.name(), d.message()),
                );
            {
                let mut s = abort.borrow_mut();
                s.pending = s.pending.saturating_sub(1);
                s.failed.get_or_insert(why);
            }
            settle(&abort);
        });
        IdbSink {
            db,
            state,
            on_complete: Some(on_complete),
            on_abort: Some(on_abort),
        }
    }

    /// A read-write transaction on the journal whose commit is flushed to
    /// disk before it completes (`durability: "strict"`; browsers may
    /// otherwise complete it before the disk has it).
    fn strict_transaction(&self) -> Result<IdbTransaction, JsValue> {
        let options = Object::new();
        Reflect::set(&options, &"durability".into(), &"strict".into())?;
        let transaction: Function = Reflect::get(&self.db, &"transaction".into())?.dyn_into()?;
        transaction
            .call3(&self.db, &JOURNAL.into(), &"readwrite".into(), &options)?
            .dyn_into()
    }

    /// Appends `records` in one transaction (all or none).
    pub(crate) fn append(&self, records: &[Vec<u8>]) -> Result<(), PageStoreError> {
        if let Some(f) = self.failed() {
            return Err(PageStoreError::IndexedDb(format!(
                "an earlier write failed ({f}); reopen the store"
            )));
        }
        let written = self.strict_transaction().and_then(|tx| {
            let store = tx.object_store(JOURNAL)?;
            for record in records {
                if let Err(e) = store.add(&Uint8Array::from(record.as_slice())) {
                    let _ = tx.abort();
                    return Err(e);
                }
            }
            Ok(tx)
        });
        // A write refused now fails the store as a failed commit does: the
        // caller may already show the change, so nothing more is kept or
        // acknowledged until the store is reopened.
        let tx = written.map_err(|e| {
            let why = text(&e);
            self.state.borrow_mut().failed.get_or_insert(why.clone());
            PageStoreError::IndexedDb(why)
        })?;
        if let (Some(complete), Some(abort)) = (&self.on_complete, &self.on_abort) {
            tx.set_oncomplete(Some(complete.as_ref().unchecked_ref()));
            tx.set_onabort(Some(abort.as_ref().unchecked_ref()));
        }
        self.state.borrow_mut().pending += 1;
        Ok(())
    }

    /// Resolves once nothing is in flight; rejects on a failure.
    pub(crate) fn durable(&self) -> js_sys::Promise {
        let state = Rc::clone(&self.state);
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            state.borrow_mut().waiters.push((resolve, reject));
        });
        settle(&self.state);
        promise
    }

    /// Transactions not committed yet.
    pub(crate) fn pending(&self) -> u32 {
        self.state.borrow().pending
    }

    /// The first failure, if any.
    pub(crate) fn failed(&self) -> Option<String> {
        self.state.borrow().failed.clone()
    }

    /// Closes the connection.
    pub(crate) fn close(&self) {
        self.db.close();
    }
}
