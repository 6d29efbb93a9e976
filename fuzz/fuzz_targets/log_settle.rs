//! A log that settles entries out of memory (any window, at any time)
//! against one that keeps everything: under arbitrary sequences of honest
//! and forged entries delivered in any order, every answer is the same.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arbitrary::Arbitrary;
use kaichi_privatelog::{ColdEntries, ColdError, EntryCid, EntryMeta, LogSet, OrderKey};
use libfuzzer_sys::fuzz_target;

/// The settled entries, as the store would hold them.
#[derive(Debug, Default)]
struct Cold(Mutex<HashMap<EntryCid, OrderKey>>);

impl ColdEntries for Cold {
    fn key_of(&self, cid: &EntryCid) -> Result<Option<OrderKey>, ColdError> {
        Ok(self.0.lock().map_err(|_| ColdError)?.get(cid).copied())
    }
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// Author 0 or 1 appends on top of what it knows.
    Append(bool),
    /// An entry with any clock and parents (some never delivered).
    Forge {
        author: bool,
        clock: u8,
        parents: [u16; 2],
    },
    /// Both logs get entry `index` of the history.
    Deliver(u16),
    /// The settling log settles, keeping `keep`.
    Settle(u8),
}

fn answers(log: &LogSet, cids: &[EntryCid]) -> impl PartialEq + std::fmt::Debug {
    (
        log.len(),
        log.heads().copied().collect::<Vec<_>>(),
        log.missing().copied().collect::<Vec<_>>(),
        [[1u8; 32], [2; 32]]
            .iter()
            .map(|a| log.outbox_heads(a).copied().collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        cids.iter()
            .map(|c| (log.try_contains(c), log.key_of(c), log.is_rejected(c)))
            .collect::<Vec<_>>(),
    )
}

fuzz_target!(|ops: Vec<Op>| {
    let mut history: Vec<EntryMeta> = Vec::new();
    let mut writers = [LogSet::new(), LogSet::new()];
    let (mut whole, mut settled) = (LogSet::new(), LogSet::new());
    let cold = Arc::new(Cold::default());
    for op in ops.iter().take(256) {
        let cid = EntryCid::of(&(history.len() as u64).to_be_bytes());
        match op {
            Op::Append(who) => {
                let w = usize::from(*who);
                let mut parents: Vec<EntryCid> = writers[w].heads().copied().collect();
                parents.sort_unstable();
                let meta = EntryMeta {
                    cid,
                    author: [w as u8 + 1; 32],
                    clock: writers[w].next_clock(&parents),
                    parents,
                };
                writers[w].insert(meta.clone()).unwrap();
                if history.len() % 2 == 0 {
                    let _ = writers[1 - w].insert(meta.clone());
                }
                history.push(meta);
            }
            Op::Forge {
                author,
                clock,
                parents,
            } => {
                let mut parents: Vec<EntryCid> = parents
                    .iter()
                    .map(|&p| match usize::from(p) {
                        n if n < history.len() => history[n].cid,
                        n => EntryCid::of(&[(n % 7) as u8, 0xee]),
                    })
                    .collect();
                parents.sort_unstable();
                parents.dedup();
                history.push(EntryMeta {
                    cid,
                    author: [u8::from(*author) + 1; 32],
                    clock: u64::from(*clock),
                    parents,
                });
            }
            Op::Deliver(index) => {
                if history.is_empty() {
                    continue;
                }
                let m = &history[usize::from(*index) % history.len()];
                assert_eq!(whole.insert(m.clone()), settled.insert(m.clone()));
            }
            Op::Settle(keep) => {
                for k in settled.settle(cold.clone(), usize::from(*keep % 16), |_| false) {
                    assert!(cold.0.lock().unwrap().insert(k.cid, k).is_none());
                }
            }
        }
        let cids: Vec<EntryCid> = history.iter().map(|m| m.cid).collect();
        assert_eq!(answers(&whole, &cids), answers(&settled, &cids));
    }
});
