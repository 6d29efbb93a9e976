//! Both stores behave the same; the SQLite store persists, migrates and
//! refuses newer schemas.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{pair, salt, text};
use kaichi_privatelog::store::{
    Durability, LogStore, MemoryStore, SCHEMA_VERSION, SqliteStore, StoreError, StoredConversation,
};
use kaichi_privatelog::{Conversation, EntryCid};

fn exercise<S: LogStore>(store: &S) {
    let cid = EntryCid::of(b"block").to_cid();
    assert!(!store.has(&cid).unwrap());
    store.put(&cid, b"block").unwrap();
    store.put(&cid, b"block").unwrap();
    assert_eq!(store.get(&cid).unwrap().as_deref(), Some(&b"block"[..]));
    assert!(!store.is_pinned(&cid).unwrap());
    store.pin(&cid).unwrap();
    assert!(store.is_pinned(&cid).unwrap());
    store.unpin(&cid).unwrap();
    assert!(!store.is_pinned(&cid).unwrap());

    let (a, mut ca, b, mut cb) = pair();
    let mut entries = Vec::new();
    for i in 0..10u64 {
        let e = if i % 2 == 0 {
            ca.append(a.ipns(), &text(&format!("a{i}")), &salt(i))
                .unwrap()
        } else {
            cb.append(b.ipns(), &text(&format!("b{i}")), &salt(i))
                .unwrap()
        };
        ca.ingest(e.block(), None).unwrap();
        cb.ingest(e.block(), None).unwrap();
        entries.push(e);
    }
    store
        .save_conversation(&StoredConversation {
            id: ca.id(),
            peer: b.public(),
        })
        .unwrap();
    let refs: Vec<_> = entries.iter().collect();
    store.add_entries(&ca.id(), &refs[..4]).unwrap();
    store.add_entries(&ca.id(), &refs).unwrap();
    assert_eq!(store.entry_count(&ca.id()).unwrap(), 10);
    for e in &entries {
        assert!(store.is_pinned(&e.cid().to_cid()).unwrap());
    }
    let saved = store.conversations().unwrap();
    assert_eq!(
        saved,
        vec![StoredConversation {
            id: ca.id(),
            peer: b.public()
        }]
    );

    let mut reloaded = Conversation::new(&a, &saved[0].peer).unwrap();
    assert_eq!(reloaded.load(store).unwrap(), 10);
    assert_eq!(reloaded.page(None, 100), ca.page(None, 100));
    assert_eq!(reloaded.heads(), ca.heads());
}

#[test]
fn memory_store() {
    exercise(&MemoryStore::new());
}

#[test]
fn sqlite_store_in_memory() {
    exercise(&SqliteStore::open_in_memory().unwrap());
}

#[test]
fn sqlite_store_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kaichi.db");
    let (a, mut ca, b, _) = pair();
    let e = ca.append(a.ipns(), &text("kept"), &salt(1)).unwrap();
    {
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        store
            .save_conversation(&StoredConversation {
                id: ca.id(),
                peer: b.public(),
            })
            .unwrap();
        store.add_entries(&ca.id(), &[&e]).unwrap();
    }
    let store = SqliteStore::open(&path, Durability::Normal).unwrap();
    assert!(store.integrity_check().unwrap());
    let mut c = Conversation::new(&a, &b.public()).unwrap();
    assert_eq!(c.load(&store).unwrap(), 1);
    assert_eq!(c.page(None, 1).messages[0].text, "kept");
}

#[test]
fn sqlite_store_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kaichi.db");
    SqliteStore::open(&path, Durability::Full)
        .unwrap()
        .with_connection(|c| c.pragma_update(None, "user_version", SCHEMA_VERSION + 1))
        .unwrap()
        .unwrap();
    assert!(matches!(
        SqliteStore::open(&path, Durability::Full),
        Err(StoreError::NewerSchema { .. })
    ));
}

#[test]
fn tampered_rows_are_reported_not_loaded() {
    let store = SqliteStore::open_in_memory().unwrap();
    let (a, mut ca, b, _) = pair();
    let e = ca.append(a.ipns(), &text("x"), &salt(1)).unwrap();
    store.add_entries(&ca.id(), &[&e]).unwrap();
    store
        .with_connection(|c| {
            c.execute("UPDATE kaichi_blocks SET data = x'00'", [])
                .unwrap()
        })
        .unwrap();
    let mut c = Conversation::new(&a, &b.public()).unwrap();
    assert!(c.load(&store).is_err());
    assert!(c.is_empty());
}
