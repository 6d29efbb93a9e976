//! Delivery state: receipts mark only this side's entries, read markers
//! imply delivery, the view shows both, and the marks survive a reopen of
//! either store (the SQLite schema migrates to hold them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{pair, salt, text};
use kaichi_privatelog::store::{
    Durability, LogStore, MemoryStore, SCHEMA_VERSION, SqliteStore, StoredConversation,
};
use kaichi_privatelog::{Conversation, ConversationId, Entry, EntryCid, Message, MessageBody};
use proptest::prelude::*;

/// Alice writes `n` texts, Bob one; both hold everything.
fn written(n: u64) -> (Conversation, Conversation, Vec<Entry>, Entry) {
    let (a, mut ca, b, mut cb) = pair();
    let mut mine = Vec::new();
    for i in 0..n {
        let e = ca
            .append(a.ipns(), &text(&format!("a{i}")), &salt(i))
            .unwrap();
        cb.ingest(e.block(), None).unwrap();
        mine.push(e);
    }
    let theirs = cb.append(b.ipns(), &text("b"), &salt(100)).unwrap();
    ca.ingest(theirs.block(), None).unwrap();
    (ca, cb, mine, theirs)
}

#[test]
fn receipts_mark_only_this_sides_held_entries() {
    let (mut ca, _, mine, theirs) = written(3);
    assert_eq!(
        ca.undelivered(),
        mine.iter().map(Entry::cid).collect::<Vec<_>>()
    );
    let stranger = EntryCid::of(b"not an entry of this conversation");
    let marked = ca.mark_delivered([mine[0].cid(), theirs.cid(), stranger, mine[0].cid()]);
    assert_eq!(marked, vec![mine[0].cid()]);
    assert!(ca.is_delivered(&mine[0].cid()));
    assert!(!ca.is_delivered(&mine[1].cid()));
    assert!(!ca.is_delivered(&theirs.cid()), "only this side's entries");
    assert_eq!(ca.undelivered(), vec![mine[1].cid(), mine[2].cid()]);
    // A receipt again changes nothing.
    assert!(ca.mark_delivered([mine[0].cid()]).is_empty());

    let page = ca.page(None, 10);
    let flags: Vec<_> = page
        .messages
        .iter()
        .map(|m| (m.text.as_str(), m.delivered, m.read))
        .collect();
    assert_eq!(
        flags,
        vec![
            ("b", true, false),
            ("a2", false, false),
            ("a1", false, false),
            ("a0", true, false)
        ]
    );
}

#[test]
fn a_read_marker_means_delivered_and_read_up_to_it() {
    let (mut ca, mut cb, mine, _) = written(3);
    let (_, _, b, _) = pair();
    let marker = cb
        .append(
            b.ipns(),
            &Message {
                sent_at_ms: 0,
                body: MessageBody::ReadMarker {
                    up_to: mine[1].cid(),
                },
            },
            &salt(200),
        )
        .unwrap();
    ca.ingest(marker.block(), None).unwrap();
    assert!(ca.is_delivered(&mine[0].cid()) && ca.is_delivered(&mine[1].cid()));
    assert!(!ca.is_delivered(&mine[2].cid()));
    assert_eq!(ca.undelivered(), vec![mine[2].cid()]);
    assert!(ca.has_undelivered());
    let page = ca.page(None, 10);
    let read: Vec<_> = page
        .messages
        .iter()
        .filter(|m| m.mine)
        .map(|m| (m.text.as_str(), m.delivered, m.read))
        .collect();
    assert_eq!(
        read,
        vec![("a2", false, false), ("a1", true, true), ("a0", true, true)]
    );
}

fn keeps_marks<S: LogStore>(store: &S, reopen: impl Fn() -> Option<S>) {
    let (mut ca, _, mine, _) = written(4);
    let (a, _, b, _) = pair();
    store
        .save_conversation(&StoredConversation {
            id: ca.id(),
            peer: b.public(),
        })
        .unwrap();
    store
        .add_entries(&ca.id(), &mine.iter().collect::<Vec<_>>())
        .unwrap();
    let marked = ca.mark_delivered([mine[1].cid(), mine[3].cid()]);
    store.mark_delivered(&ca.id(), &marked).unwrap();
    store.mark_delivered(&ca.id(), &marked).unwrap();
    let check = |store: &S| {
        let mut again = Conversation::new(&a, &b.public()).unwrap();
        again.load(store).unwrap();
        assert_eq!(again.undelivered(), vec![mine[0].cid(), mine[2].cid()]);
        assert!(again.is_delivered(&mine[3].cid()));
    };
    check(store);
    if let Some(reopened) = reopen() {
        check(&reopened);
    }
}

#[test]
fn both_stores_keep_delivery_marks() {
    keeps_marks(&MemoryStore::new(), || None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kaichi.db");
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    keeps_marks(&store, || {
        Some(SqliteStore::open(&path, Durability::Full).unwrap())
    });
}

#[test]
fn a_version_1_database_migrates_and_keeps_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kaichi.db");
    let (ca, _, mine, _) = written(2);
    let (a, _, b, _) = pair();
    {
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        store
            .save_conversation(&StoredConversation {
                id: ca.id(),
                peer: b.public(),
            })
            .unwrap();
        store
            .add_entries(&ca.id(), &mine.iter().collect::<Vec<_>>())
            .unwrap();
        // As version 1 left it: no delivery table.
        store
            .with_connection(|c| {
                c.execute_batch(
                    "DROP TABLE kaichi_delivered; DROP TABLE kaichi_requests;
                     DROP TABLE kaichi_blocked; DROP TABLE kaichi_held_invitations;
                     DROP TABLE kaichi_peer_documents; DROP INDEX kaichi_log_entries_by_cid;
                     PRAGMA user_version = 1;",
                )
            })
            .unwrap()
            .unwrap();
    }
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut again = Conversation::new(&a, &b.public()).unwrap();
    assert_eq!(again.load(&store).unwrap(), 2);
    let marked = again.mark_delivered([mine[0].cid()]);
    store.mark_delivered(&again.id(), &marked).unwrap();
    assert_eq!(store.delivered(&again.id()).unwrap(), vec![mine[0].cid()]);
}

fn keeps_held_invitations<S: LogStore>(store: &S, reopen: impl Fn() -> Option<S>) {
    let (ca, _, _, _) = written(1);
    // Another conversation's id.
    let other = kaichi_privatelog::ConversationId::try_from_slice(&[7; 32]).unwrap();
    store.hold_invitation(&ca.id(), b"first").unwrap();
    store.hold_invitation(&other, b"other").unwrap();
    store.hold_invitation(&ca.id(), b"second").unwrap();
    let check = |store: &S| {
        let held = store.held_invitations().unwrap();
        let of = |id| -> Vec<Vec<u8>> {
            held.iter()
                .filter(|(c, _)| *c == id)
                .map(|(_, i)| i.clone())
                .collect()
        };
        assert_eq!(of(ca.id()), vec![b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(of(other), vec![b"other".to_vec()]);
    };
    check(store);
    let store = match reopen() {
        Some(reopened) => {
            check(&reopened);
            reopened.release_invitations(&ca.id()).unwrap();
            assert_eq!(reopened.held_invitations().unwrap().len(), 1);
            return;
        }
        None => store,
    };
    store.release_invitations(&ca.id()).unwrap();
    assert_eq!(
        store.held_invitations().unwrap(),
        vec![(other, b"other".to_vec())]
    );
}

#[test]
fn both_stores_keep_held_invitations_in_order_until_released() {
    keeps_held_invitations(&MemoryStore::new(), || None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kaichi.db");
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    keeps_held_invitations(&store, || {
        Some(SqliteStore::open(&path, Durability::Full).unwrap())
    });
    // A version-2 database (no such table) migrates to keep them.
    let old = dir.path().join("v2.db");
    SqliteStore::open(&old, Durability::Full)
        .unwrap()
        .with_connection(|c| {
            c.execute_batch(
                "DROP TABLE kaichi_held_invitations; DROP TABLE kaichi_peer_documents;
                 DROP INDEX kaichi_log_entries_by_cid;
                 PRAGMA user_version = 2;",
            )
        })
        .unwrap()
        .unwrap();
    let migrated = SqliteStore::open(&old, Durability::Full).unwrap();
    assert_eq!(migrated.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(migrated.held_invitations().unwrap().is_empty());
}

/// Contacts' documents (what self-sync tells other devices about) stay,
/// the newest replacing the one before, across a reopen; a version-3
/// database migrates to keep them.
#[test]
fn both_stores_keep_each_contacts_document() {
    let (ca, _, _, _) = written(1);
    let other = kaichi_privatelog::ConversationId::try_from_slice(&[9; 32]).unwrap();
    let check = |store: &dyn Fn(&ConversationId) -> Option<Vec<u8>>| {
        assert_eq!(store(&ca.id()), Some(b"newer".to_vec()));
        assert_eq!(store(&other), None);
    };
    let memory = MemoryStore::new();
    memory.save_peer_document(&ca.id(), b"older").unwrap();
    memory.save_peer_document(&ca.id(), b"newer").unwrap();
    check(&|id| memory.peer_document(id).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kaichi.db");
    {
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        store.save_peer_document(&ca.id(), b"older").unwrap();
        store.save_peer_document(&ca.id(), b"newer").unwrap();
    }
    let reopened = SqliteStore::open(&path, Durability::Full).unwrap();
    check(&|id| reopened.peer_document(id).unwrap());
    let old = dir.path().join("v3.db");
    SqliteStore::open(&old, Durability::Full)
        .unwrap()
        .with_connection(|c| {
            c.execute_batch(
                "DROP TABLE kaichi_peer_documents; DROP INDEX kaichi_log_entries_by_cid;
                 PRAGMA user_version = 3;",
            )
        })
        .unwrap()
        .unwrap();
    let migrated = SqliteStore::open(&old, Durability::Full).unwrap();
    assert_eq!(migrated.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(migrated.peer_document(&ca.id()).unwrap(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever receipts say (own entries, theirs, strangers, repeated),
    /// this side's entries split into delivered and undelivered, in order,
    /// and only own held entries are ever marked.
    #[test]
    fn own_entries_split_into_delivered_and_not(picks in proptest::collection::vec((0usize..8, any::<bool>()), 0..24)) {
        let (mut ca, _, mine, theirs) = written(6);
        let mut expected = std::collections::BTreeSet::new();
        for (i, stranger) in picks {
            let cid = match (i, stranger) {
                (_, true) => EntryCid::of(&[i as u8]),
                (6, false) => theirs.cid(),
                (7, false) => theirs.cid(),
                (i, false) => { expected.insert(i); mine[i].cid() }
            };
            for marked in ca.mark_delivered([cid]) {
                prop_assert!(mine.iter().any(|e| e.cid() == marked));
            }
        }
        let undelivered = ca.undelivered();
        prop_assert_eq!(ca.has_undelivered(), !undelivered.is_empty());
        let want: Vec<EntryCid> = (0..6).filter(|i| !expected.contains(i)).map(|i| mine[i].cid()).collect();
        prop_assert_eq!(undelivered, want);
        for (i, e) in mine.iter().enumerate() {
            prop_assert_eq!(ca.is_delivered(&e.cid()), expected.contains(&i));
        }
    }
}
