//! Journal replay with arbitrary records (the input is split into records,
//! each a little-endian u16 length and its bytes): never panics; a store
//! that replays answers every query.
#![no_main]

use kaichi_privatelog::store::LogStore;
use kaichi_privatelog::store::journal::{JournalStore, MemoryJournal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut records = Vec::new();
    let mut rest = data;
    while let [lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        records.push(&tail[..len]);
        rest = &tail[len..];
    }
    if let Ok(store) = JournalStore::replay(MemoryJournal::new(), records) {
        for c in store.conversations().unwrap() {
            let blocks = store.entry_blocks(&c.id).unwrap();
            assert_eq!(blocks.len() as u64, store.entry_count(&c.id).unwrap());
            store.delivered(&c.id).unwrap();
            store.peer_document(&c.id).unwrap();
        }
        store.held_invitations().unwrap();
        store.requests().unwrap();
        store.blocked().unwrap();
    }
});
