//! Settling: a log or conversation that moves its oldest entries out of
//! memory (to the store) answers exactly as one that keeps everything, for
//! any arrival order, honest or not, and a conversation loaded settled from
//! a store equals one loaded whole.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::{keys, salt, text};
use kaichi_privatelog::store::{LogStore, MemoryStore, SettledEntries, SqliteStore};
use kaichi_privatelog::{
    ColdEntries, ColdError, Conversation, EntryCid, EntryMeta, InsertError, LogSet, Message,
    MessageBody, OrderKey,
};
use proptest::prelude::*;

/// The settled entries of a test log, as the store would hold them.
#[derive(Debug, Default)]
struct Cold {
    keys: Mutex<HashMap<EntryCid, OrderKey>>,
    failing: std::sync::atomic::AtomicBool,
}

impl ColdEntries for Cold {
    fn key_of(&self, cid: &EntryCid) -> Result<Option<OrderKey>, ColdError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(ColdError);
        }
        Ok(self.keys.lock().unwrap().get(cid).copied())
    }
}

const AUTHORS: [[u8; 32]; 2] = [[1; 32], [2; 32]];

/// Entries as they may arrive: honest ones (each on top of what its author
/// knew) and forged ones (any clock, any parents, some never delivered).
fn entries(ops: &[(u8, u8, u8)]) -> Vec<EntryMeta> {
    let mut known = [LogSet::new(), LogSet::new()];
    let mut all: Vec<EntryMeta> = Vec::new();
    for (i, &(kind, a, b)) in ops.iter().enumerate() {
        let cid = EntryCid::of(&(i as u64).to_be_bytes());
        let who = usize::from(a % 2);
        match kind % 4 {
            0 if !all.is_empty() => {
                // Forged: a clock from nowhere, parents picked from anything.
                let mut parents: Vec<EntryCid> = (0..usize::from(b % 3))
                    .map(|j| match (usize::from(a) + j * 7) % (all.len() + 2) {
                        n if n < all.len() => all[n].cid,
                        n => EntryCid::of(&[n as u8, 0xee]),
                    })
                    .collect();
                parents.sort_unstable();
                parents.dedup();
                all.push(EntryMeta {
                    cid,
                    author: AUTHORS[who],
                    clock: u64::from(b % 12) + 1,
                    parents,
                });
            }
            1 => {
                // `who` learns what the other knows.
                let other = known[1 - who].clone();
                for key in other.iter() {
                    let _ = known[who].insert(other.meta(&key.cid).unwrap());
                }
            }
            _ => {
                let mut parents: Vec<EntryCid> = known[who].heads().copied().collect();
                parents.sort_unstable();
                let meta = EntryMeta {
                    cid,
                    author: AUTHORS[who],
                    clock: known[who].next_clock(&parents),
                    parents,
                };
                known[who].insert(meta.clone()).unwrap();
                all.push(meta);
            }
        }
    }
    all
}

/// What a log answers about `cids`.
fn answers(log: &LogSet, cids: &[EntryCid]) -> impl PartialEq + std::fmt::Debug {
    (
        log.len(),
        log.heads().copied().collect::<Vec<_>>(),
        log.missing().copied().collect::<Vec<_>>(),
        AUTHORS
            .iter()
            .map(|a| log.outbox_heads(a).copied().collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        cids.iter()
            .map(|c| {
                (
                    log.try_contains(c).unwrap(),
                    log.key_of(c),
                    log.is_rejected(c),
                )
            })
            .collect::<Vec<_>>(),
    )
}

proptest! {
    #[test]
    fn a_settled_log_answers_as_a_whole_one(
        ops in proptest::collection::vec(any::<(u8, u8, u8)>(), 1..60),
        order in proptest::collection::vec(any::<u16>(), 1..120),
        keep in 0usize..6,
    ) {
        let all = entries(&ops);
        prop_assume!(!all.is_empty());
        let cids: Vec<EntryCid> = all.iter().map(|m| m.cid).collect();
        let cold = Arc::new(Cold::default());
        let (mut whole, mut settled) = (LogSet::new(), LogSet::new());
        for i in order {
            let meta = &all[usize::from(i) % all.len()];
            let (w, s) = (whole.insert(meta.clone()), settled.insert(meta.clone()));
            prop_assert_eq!(&w, &s);
            for k in settled.settle(cold.clone(), keep, |_| false) {
                prop_assert!(cold.keys.lock().unwrap().insert(k.cid, k).is_none());
            }
            prop_assert_eq!(answers(&whole, &cids), answers(&settled, &cids));
            prop_assert_eq!(settled.hot_len() + cold.keys.lock().unwrap().len(), whole.len());
            // What stays in memory is in order and a part of the whole.
            let hot: Vec<OrderKey> = settled.iter().copied().collect();
            prop_assert!(hot.iter().all(|k| whole.key_of(&k.cid) == Some(*k)));
        }
    }
}

#[test]
fn an_honest_log_settles_to_its_window_and_a_failing_index_changes_nothing() {
    let ops: Vec<(u8, u8, u8)> = (0..400u32).map(|i| (2, (i % 3) as u8, 0)).collect();
    let all = entries(&ops);
    let cold = Arc::new(Cold::default());
    let mut log = LogSet::new();
    for meta in &all[..300] {
        log.insert(meta.clone()).unwrap();
        for k in log.settle(cold.clone(), 16, |_| false) {
            cold.keys.lock().unwrap().insert(k.cid, k);
        }
    }
    assert_eq!(log.len(), 300);
    // The newest 16, and the other authors' outbox heads.
    assert!(log.hot_len() <= 16 + 2, "{} held", log.hot_len());
    // An old entry again is a duplicate, found in the index.
    assert_eq!(log.insert(all[3].clone()), Ok(Default::default()));
    // While the index fails, nothing is decided and nothing changes.
    cold.failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let before = (log.len(), log.heads().copied().collect::<Vec<_>>());
    assert_eq!(
        log.insert(all[3].clone()),
        Err(InsertError::Cold(ColdError))
    );
    assert_eq!(log.try_contains(&all[3].cid), Err(ColdError));
    assert_eq!(
        (log.len(), log.heads().copied().collect::<Vec<_>>()),
        before
    );
    cold.failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    for meta in &all[300..] {
        log.insert(meta.clone()).unwrap();
    }
    assert_eq!(log.len(), all.len());
}

#[test]
fn nothing_settles_while_an_entry_waits_for_its_parent() {
    let ops: Vec<(u8, u8, u8)> = (0..40u32).map(|i| (2, (i % 2) as u8, 0)).collect();
    let all = entries(&ops);
    let cold = Arc::new(Cold::default());
    let mut log = LogSet::new();
    // Entry 5 is held back: its children wait for it.
    for (i, meta) in all.iter().enumerate() {
        if i != 5 {
            log.insert(meta.clone()).unwrap();
        }
    }
    assert!(log.settle(cold.clone(), 2, |_| false).is_empty());
    log.insert(all[5].clone()).unwrap();
    assert!(!log.settle(cold.clone(), 2, |_| false).is_empty());
}

/// Alice and Bob write texts, edits, reactions and read markers; Bob
/// acknowledges what he stores.
fn exchange(steps: &[u8]) -> (Vec<kaichi_privatelog::Entry>, Vec<EntryCid>) {
    let (a, b) = (keys(71), keys(72));
    let mut ca = Conversation::new(&a, &b.public()).unwrap();
    let mut cb = Conversation::new(&b, &a.public()).unwrap();
    let (mut entries, mut acked) = (Vec::new(), Vec::new());
    for (i, step) in steps.iter().enumerate() {
        let alice = step % 2 == 0;
        let (me, conv, other) = if alice {
            (&a, &mut ca, &mut cb)
        } else {
            (&b, &mut cb, &mut ca)
        };
        let last = conv.page(None, 1).messages.first().map(|m| (m.cid, m.mine));
        let body = match (step / 2 % 5, last) {
            (1, Some((target, true))) => MessageBody::Edit {
                target,
                text: format!("edit {i}"),
            },
            (2, Some((target, _))) => MessageBody::Reaction {
                target,
                reaction: "+1".into(),
                remove: false,
            },
            (3, Some((up_to, false))) => MessageBody::ReadMarker { up_to },
            _ => text(&format!("m{i}")).body,
        };
        let e = conv
            .append(
                me.ipns(),
                &Message {
                    sent_at_ms: 1,
                    body,
                },
                &salt(i as u64),
            )
            .unwrap();
        other.ingest(e.block(), None).unwrap();
        if alice && step % 3 != 0 {
            acked.push(e.cid());
        }
        entries.push(e);
    }
    (entries, acked)
}

fn view(conv: &Conversation) -> impl PartialEq + std::fmt::Debug {
    let me = *conv.me();
    (
        conv.len(),
        conv.heads(),
        conv.outbox_heads(),
        conv.missing(),
        conv.undelivered(),
        conv.read_marker(&me),
        conv.read_marker(conv.peer()),
        conv.peer_read_up_to(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_settled_conversation_answers_as_a_whole_one(
        steps in proptest::collection::vec(any::<u8>(), 1..50),
        keep in 1usize..8,
    ) {
        let (entries, acked) = exchange(&steps);
        let (a, b) = (keys(71), keys(72));
        let store = Arc::new(MemoryStore::default());
        let mut whole = Conversation::new(&a, &b.public()).unwrap();
        let mut settled = Conversation::new(&a, &b.public()).unwrap();
        let cold: Arc<dyn ColdEntries> = Arc::new(SettledEntries::new(store.clone(), whole.id()));
        for e in &entries {
            whole.ingest(e.block(), None).unwrap();
            settled.ingest(e.block(), None).unwrap();
            store.add_entries(&whole.id(), &[e]).unwrap();
            let acks: Vec<EntryCid> = acked.iter().filter(|c| **c == e.cid()).copied().collect();
            prop_assert_eq!(whole.mark_delivered(acks.clone()), settled.mark_delivered(acks));
            // Receipts come again: nothing is newly delivered twice.
            let again: Vec<EntryCid> = acked.to_vec();
            prop_assert_eq!(whole.mark_delivered(again.clone()), settled.mark_delivered(again));
            settled.settle(cold.clone(), keep);
            prop_assert_eq!(view(&whole), view(&settled));
            // A settled page shows the messages held as the whole
            // conversation shows them, and a page it calls complete is the
            // whole's page.
            let held: Vec<_> = whole.page(None, 1000).messages.into_iter()
                .filter(|m| settled.message(&m.cid).is_some()).collect();
            prop_assert_eq!(&held, &settled.page(None, 1000).messages);
            for limit in 1..4 {
                if let Some(page) = settled.held_page(None, limit) {
                    prop_assert_eq!(page.messages, whole.page(None, limit).messages);
                }
            }
            for e in entries.iter().filter(|e| whole.contains(&e.cid())) {
                prop_assert_eq!(whole.is_delivered(&e.cid()), settled.is_delivered(&e.cid()));
            }
        }
        // Loading settled from the store gives the same conversation.
        store.mark_delivered(&whole.id(), &acked).unwrap();
        let mut loaded = Conversation::new(&a, &b.public()).unwrap();
        loaded.load_settled(&store, keep).unwrap();
        let mut full = Conversation::new(&a, &b.public()).unwrap();
        full.load(store.as_ref()).unwrap();
        prop_assert_eq!(view(&full), view(&loaded));
        let held: Vec<_> = full.page(None, 1000).messages.into_iter()
            .filter(|m| loaded.message(&m.cid).is_some()).collect();
        prop_assert_eq!(held, loaded.page(None, 1000).messages);
        for limit in 1..4 {
            if let Some(page) = loaded.held_page(None, limit) {
                prop_assert_eq!(page.messages, full.page(None, limit).messages);
            }
        }
    }
}

#[test]
fn a_long_conversation_loads_settled_from_sqlite_in_pages() {
    let (a, b) = (keys(73), keys(74));
    let mut ca = Conversation::new(&a, &b.public()).unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let mut cids = Vec::new();
    for i in 0..1300u64 {
        let e = ca
            .append(a.ipns(), &text(&format!("m{i}")), &salt(i))
            .unwrap();
        store.add_entries(&ca.id(), &[&e]).unwrap();
        cids.push(e.cid());
    }
    // All but the newest 100 acknowledged.
    store.mark_delivered(&ca.id(), &cids[..1200]).unwrap();
    let mut loaded = Conversation::new(&a, &b.public()).unwrap();
    assert_eq!(loaded.load_settled(&store, 64).unwrap(), 1300);
    assert_eq!(loaded.len(), 1300);
    assert_eq!(loaded.heads(), vec![cids[1299]]);
    assert_eq!(loaded.undelivered(), cids[1200..].to_vec());
    // The 100 waiting for a receipt stay, and about 64 more.
    assert!(
        loaded.hot_len() <= 100 + 2 * 64,
        "{} held",
        loaded.hot_len()
    );
    assert_eq!(
        store.entry_key(&ca.id(), &cids[7]).unwrap().unwrap().clock,
        8
    );
    // An old entry again is known; a new one goes on top.
    let old = store_block(&store, &cids[1]);
    assert!(!loaded.ingest(&old, None).unwrap().new);
    let e = loaded.append(a.ipns(), &text("next"), &salt(5000)).unwrap();
    assert_eq!(e.clock(), 1301);
    // Pages read from the store are in order and complete.
    let mut after = None;
    let mut seen = 0;
    loop {
        let page = store.entries_after(&ca.id(), after.as_ref(), 500).unwrap();
        for (k, _) in &page {
            assert!(after.is_none_or(|a| a < *k));
            after = Some(*k);
        }
        seen += page.len();
        if page.len() < 500 {
            break;
        }
    }
    assert_eq!(seen, 1300);
}

fn store_block(store: &SqliteStore, cid: &EntryCid) -> Vec<u8> {
    use kaichi_privatelog::store::BlockStore;
    store.get(&cid.to_cid()).unwrap().unwrap()
}
