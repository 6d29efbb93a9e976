//! The journal store: it behaves as the memory store does, its journal
//! replays to the same store (also cut at any record, as after a crash),
//! a change that changes nothing writes nothing, a refused write changes
//! nothing, and damaged records are typed errors naming the record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use cid::Cid;
use common::{keys, salt, text};
use kaichi_identity::WalletAddress;
use kaichi_privatelog::store::journal::{
    JournalError, JournalSink, JournalStore, MAX_RECORD_BYTES, MemoryJournal, RecordError,
    ReplayError,
};
use kaichi_privatelog::store::{BlockStore, LogStore, MemoryStore, StoredConversation};
use kaichi_privatelog::{Conversation, ConversationId, Entry, EntryCid};
use proptest::prelude::*;

/// Two conversations (Alice with Bob, Alice with Carol) and their entries.
struct Fixture {
    conversations: Vec<(StoredConversation, Vec<Entry>)>,
    blocks: Vec<(Cid, Vec<u8>)>,
    wallets: Vec<WalletAddress>,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let a = keys(41);
    let mut conversations = Vec::new();
    for (seed, count) in [(42u8, 8u64), (43, 4)] {
        let peer = keys(seed);
        let mut ca = Conversation::new(&a, &peer.public()).unwrap();
        let mut cp = Conversation::new(&peer, &a.public()).unwrap();
        let mut entries = Vec::new();
        for i in 0..count {
            let e = if i % 2 == 0 {
                ca.append(a.ipns(), &text(&format!("a{i}")), &salt(i))
                    .unwrap()
            } else {
                cp.append(peer.ipns(), &text(&format!("p{i}")), &salt(i))
                    .unwrap()
            };
            ca.ingest(e.block(), None).unwrap();
            cp.ingest(e.block(), None).unwrap();
            entries.push(e);
        }
        let stored = StoredConversation {
            id: ca.id(),
            peer: peer.public(),
        };
        conversations.push((stored, entries));
    }
    let blocks = (0..4u8)
        .map(|i| {
            let block = vec![i; 10 + usize::from(i)];
            (EntryCid::of(&block).to_cid(), block)
        })
        .collect();
    let wallets = [44u8, 45]
        .iter()
        .map(|s| keys(*s).public().wallet)
        .collect();
    Fixture {
        conversations,
        blocks,
        wallets,
    }
});

#[derive(Debug, Clone)]
enum Op {
    Put(usize),
    Pin(usize),
    Unpin(usize),
    SaveConversation(usize),
    AddEntries(usize, u8),
    MarkDelivered(usize, u8),
    SetRequest(usize, bool),
    Hold(usize, u8),
    Release(usize),
    PeerDocument(usize, u8),
    Blocked(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4usize).prop_map(Op::Put),
        (0..4usize).prop_map(Op::Pin),
        (0..4usize).prop_map(Op::Unpin),
        (0..2usize).prop_map(Op::SaveConversation),
        (0..2usize, any::<u8>()).prop_map(|(c, m)| Op::AddEntries(c, m)),
        (0..2usize, any::<u8>()).prop_map(|(c, m)| Op::MarkDelivered(c, m)),
        (0..2usize, any::<bool>()).prop_map(|(c, r)| Op::SetRequest(c, r)),
        (0..2usize, any::<u8>()).prop_map(|(c, i)| Op::Hold(c, i)),
        (0..2usize).prop_map(Op::Release),
        (0..2usize, 0..3u8).prop_map(|(c, d)| Op::PeerDocument(c, d)),
        (0..2usize, any::<bool>()).prop_map(|(w, b)| Op::Blocked(w, b)),
    ]
}

/// The entries of conversation `c` picked by the bits of `mask`.
fn picked(c: usize, mask: u8) -> Vec<&'static Entry> {
    FIXTURE.conversations[c]
        .1
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, e)| e)
        .collect()
}

fn run<S: LogStore>(store: &S, op: &Op) -> Result<(), S::Error> {
    let f = &*FIXTURE;
    let id = |c: usize| f.conversations[c].0.id;
    match op {
        Op::Put(i) => store.put(&f.blocks[*i].0, &f.blocks[*i].1),
        Op::Pin(i) => store.pin(&f.blocks[*i].0),
        Op::Unpin(i) => store.unpin(&f.blocks[*i].0),
        Op::SaveConversation(c) => store.save_conversation(&f.conversations[*c].0),
        Op::AddEntries(c, mask) => store.add_entries(&id(*c), &picked(*c, *mask)),
        Op::MarkDelivered(c, mask) => {
            let cids: Vec<EntryCid> = picked(*c, *mask).iter().map(|e| e.cid()).collect();
            store.mark_delivered(&id(*c), &cids)
        }
        Op::SetRequest(c, r) => store.set_request(&id(*c), *r),
        Op::Hold(c, i) => store.hold_invitation(&id(*c), &[*i; 3]),
        Op::Release(c) => store.release_invitations(&id(*c)),
        Op::PeerDocument(c, d) => store.save_peer_document(&id(*c), &[*d; 5]),
        Op::Blocked(w, b) => store.set_blocked(&f.wallets[*w], *b),
    }
}

/// Everything a store can be asked about the fixture.
#[derive(Debug, PartialEq)]
struct Snapshot {
    conversations: Vec<StoredConversation>,
    entries: Vec<Vec<Vec<u8>>>,
    delivered: Vec<BTreeSet<EntryCid>>,
    requests: Vec<ConversationId>,
    held: Vec<(ConversationId, Vec<u8>)>,
    documents: Vec<Option<Vec<u8>>>,
    blocked: Vec<WalletAddress>,
    blocks: Vec<(Option<Vec<u8>>, bool)>,
}

fn snapshot<S: LogStore>(store: &S) -> Snapshot {
    let f = &*FIXTURE;
    let ids: Vec<_> = f.conversations.iter().map(|(c, _)| c.id).collect();
    let mut cids: Vec<Cid> = f.blocks.iter().map(|(c, _)| *c).collect();
    cids.extend(
        f.conversations
            .iter()
            .flat_map(|(_, es)| es.iter().map(|e| e.cid().to_cid())),
    );
    Snapshot {
        conversations: store.conversations().unwrap(),
        entries: ids.iter().map(|c| store.entry_blocks(c).unwrap()).collect(),
        delivered: ids
            .iter()
            .map(|c| store.delivered(c).unwrap().into_iter().collect())
            .collect(),
        requests: store.requests().unwrap(),
        held: store.held_invitations().unwrap(),
        documents: ids
            .iter()
            .map(|c| store.peer_document(c).unwrap())
            .collect(),
        blocked: store.blocked().unwrap(),
        blocks: cids
            .iter()
            .map(|c| (store.get(c).unwrap(), store.is_pinned(c).unwrap()))
            .collect(),
    }
}

/// A sink that refuses while `failing` is set.
#[derive(Default)]
struct Flaky {
    journal: MemoryJournal,
    failing: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("the disk is full")]
struct Full;

impl JournalSink for Flaky {
    type Error = Full;

    fn append(&self, records: &[Vec<u8>]) -> Result<(), Full> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Full);
        }
        self.journal.append(records).map_err(|_| Full)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The journal store answers as the memory store does; its journal
    /// replays to the same answers, and so does every prefix of it (a
    /// crash between records) replay without error.
    #[test]
    fn journal_store_is_a_memory_store_that_replays(ops in prop::collection::vec(op(), 0..40)) {
        let memory = MemoryStore::new();
        let journal = JournalStore::new(MemoryJournal::new());
        for op in &ops {
            run(&memory, op).unwrap();
            run(&journal, op).unwrap();
        }
        let expected = snapshot(&memory);
        prop_assert_eq!(&snapshot(&journal), &expected);
        let records = journal.sink().records();
        let replayed = JournalStore::replay(MemoryJournal::new(), &records).unwrap();
        prop_assert_eq!(&snapshot(&replayed), &expected);
        for cut in 0..records.len() {
            JournalStore::replay(MemoryJournal::new(), &records[..cut]).unwrap();
        }
    }

    /// Saying again what the store holds writes no record, so reopening
    /// and re-saving does not grow the journal.
    #[test]
    fn unchanged_state_writes_nothing(ops in prop::collection::vec(op(), 0..40)) {
        let store = JournalStore::new(MemoryJournal::new());
        for op in &ops {
            run(&store, op).unwrap();
        }
        let before = store.sink().records().len();
        let f = &*FIXTURE;
        for (c, (stored, entries)) in f.conversations.iter().enumerate() {
            if store.conversations().unwrap().contains(stored) {
                run(&store, &Op::SaveConversation(c)).unwrap();
            }
            let held: Vec<&Entry> = entries
                .iter()
                .filter(|e| store.entry_blocks(&stored.id).unwrap().contains(&e.block().to_vec()))
                .collect();
            store.add_entries(&stored.id, &held).unwrap();
            store.mark_delivered(&stored.id, &store.delivered(&stored.id).unwrap()).unwrap();
            let request = store.requests().unwrap().contains(&stored.id);
            store.set_request(&stored.id, request).unwrap();
            if let Some(document) = store.peer_document(&stored.id).unwrap() {
                store.save_peer_document(&stored.id, &document).unwrap();
            }
        }
        for (cid, block) in &f.blocks {
            if store.has(cid).unwrap() {
                store.put(cid, block).unwrap();
            }
            if store.is_pinned(cid).unwrap() {
                store.pin(cid).unwrap();
            } else {
                store.unpin(cid).unwrap();
            }
        }
        for w in &f.wallets {
            store.set_blocked(w, store.is_blocked(w).unwrap()).unwrap();
        }
        prop_assert_eq!(store.sink().records().len(), before);
    }

    /// A change the sink refuses is an error and changes nothing.
    #[test]
    fn refused_writes_change_nothing(
        ops in prop::collection::vec(op(), 0..30),
        refused in prop::collection::vec(op(), 1..10),
    ) {
        let store = JournalStore::new(Flaky::default());
        for op in &ops {
            run(&store, op).unwrap();
        }
        let before = snapshot(&store);
        store.sink().failing.store(true, Ordering::SeqCst);
        for op in &refused {
            if let Err(e) = run(&store, op) {
                prop_assert!(matches!(e, JournalError::Sink(Full)), "{e}");
            }
        }
        prop_assert_eq!(&snapshot(&store), &before);
    }

    /// Any bytes, as any record of a journal: a typed error or a store,
    /// never a panic.
    #[test]
    fn any_record_never_panics(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..6)) {
        let _ = JournalStore::replay(MemoryJournal::new(), &records);
    }
}

/// The conversation loads from a replayed journal as it was written.
#[test]
fn conversation_loads_from_a_replayed_journal() {
    let f = &*FIXTURE;
    let (stored, entries) = &f.conversations[0];
    let store = JournalStore::new(MemoryJournal::new());
    store.save_conversation(stored).unwrap();
    store
        .add_entries(&stored.id, &entries.iter().collect::<Vec<_>>())
        .unwrap();
    store
        .mark_delivered(&stored.id, &[entries[0].cid()])
        .unwrap();
    let a = keys(41);
    let mut written = Conversation::new(&a, &stored.peer).unwrap();
    written.load(&store).unwrap();

    let replayed = JournalStore::replay(MemoryJournal::new(), store.sink().records()).unwrap();
    assert_eq!(replayed.conversations().unwrap(), vec![*stored]);
    let mut loaded = Conversation::new(&a, &stored.peer).unwrap();
    assert_eq!(loaded.load(&replayed).unwrap(), entries.len());
    assert_eq!(loaded.page(None, 100), written.page(None, 100));
    assert!(loaded.page(None, 100).messages.iter().any(|m| m.delivered));
    assert_eq!(loaded.heads(), written.heads());
}

/// Damaged journals: the error names the record and says what is wrong.
#[test]
fn damaged_records_are_typed_errors() {
    let f = &*FIXTURE;
    let store = JournalStore::new(MemoryJournal::new());
    let (cid, block) = &f.blocks[0];
    store.put(cid, block).unwrap();
    store
        .add_entries(&f.conversations[0].0.id, &[&f.conversations[0].1[0]])
        .unwrap();
    let records = store.sink().records();
    assert_eq!(records.len(), 2);

    let replay = |records: &[Vec<u8>]| JournalStore::replay(MemoryJournal::new(), records).err();
    // Garbage after two good records.
    let mut bad = records.clone();
    bad.push(vec![0xff; 7]);
    assert!(matches!(
        replay(&bad),
        Some(ReplayError::Record {
            index: 2,
            source: RecordError::Malformed(_)
        })
    ));
    // A block changed under its CID: the last byte of the put record.
    let mut flipped = records.clone();
    *flipped[0].last_mut().unwrap() ^= 1;
    assert!(matches!(
        replay(&flipped),
        Some(ReplayError::Record { index: 0, source: RecordError::CidMismatch(c) }) if c == *cid
    ));
    // The entry's block cut short is no entry.
    let mut cut = records.clone();
    let len = cut[1].len();
    cut[1].truncate(len - 40);
    assert!(matches!(
        replay(&cut),
        Some(ReplayError::Record { index: 1, .. })
    ));
    // An empty record has no change in it.
    assert!(matches!(
        replay(&[Vec::new()]),
        Some(ReplayError::Record {
            index: 0,
            source: RecordError::UnknownKind
        })
    ));
    // Oversized.
    assert!(matches!(
        replay(&[vec![0; MAX_RECORD_BYTES + 1]]),
        Some(ReplayError::Record {
            index: 0,
            source: RecordError::TooLarge { .. }
        })
    ));
}

/// A block too large for a record is refused before anything is written.
#[test]
fn oversized_blocks_are_refused() {
    let store = JournalStore::new(MemoryJournal::new());
    let block = vec![7u8; MAX_RECORD_BYTES];
    let cid = EntryCid::of(&block).to_cid();
    assert!(matches!(
        store.put(&cid, &block),
        Err(JournalError::TooLarge { .. })
    ));
    assert!(!store.has(&cid).unwrap());
    assert!(store.sink().records().is_empty());
}
