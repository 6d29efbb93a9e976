//! The log CRDT against a reference model (a BTreeSet of entries) under
//! arbitrary operation sequences: inserts of an honest history's entries in
//! any order with duplicates, and merges of replicas.
#![no_main]

use std::collections::{BTreeSet, HashSet};

use arbitrary::Arbitrary;
use kaichi_privatelog::{EntryCid, EntryMeta, LogSet};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    /// Author 0 or 1 appends on top of what it knows.
    Append(bool),
    /// Replica `to` learns entry `index` of the history.
    Deliver { to: u8, index: u16 },
    /// Replica `to` merges replica `from`.
    Merge { to: u8, from: u8 },
}

fuzz_target!(|ops: Vec<Op>| {
    let mut history: Vec<EntryMeta> = Vec::new();
    let mut writers = [LogSet::new(), LogSet::new()];
    let mut replicas = [LogSet::new(), LogSet::new(), LogSet::new()];
    let mut model: [BTreeSet<(u64, [u8; 32], EntryCid)>; 3] = Default::default();
    for op in ops.iter().take(256) {
        match op {
            Op::Append(who) => {
                let w = usize::from(*who);
                let mut parents: Vec<EntryCid> = writers[w].heads().copied().collect();
                parents.sort_unstable();
                let meta = EntryMeta {
                    cid: EntryCid::of(&(history.len() as u64).to_be_bytes()),
                    author: [w as u8 + 1; 32],
                    clock: writers[w].next_clock(&parents),
                    parents,
                };
                writers[w].insert(meta.clone()).unwrap();
                // The other writer sees it too, half the time.
                if history.len() % 2 == 0 {
                    let _ = writers[1 - w].insert(meta.clone());
                }
                history.push(meta);
            }
            Op::Deliver { to, index } => {
                if history.is_empty() {
                    continue;
                }
                let r = usize::from(*to % 3);
                let m = &history[usize::from(*index) % history.len()];
                assert!(replicas[r].insert(m.clone()).is_ok());
                model[r].insert((m.clock, m.author, m.cid));
            }
            Op::Merge { to, from } => {
                let (t, f) = (usize::from(*to % 3), usize::from(*from % 3));
                let other = replicas[f].clone();
                replicas[t].merge(&other);
                let add = model[f].clone();
                model[t].extend(add);
            }
        }
    }
    for (log, model) in replicas.iter().zip(&model) {
        let order: Vec<EntryCid> = log.iter().map(|k| k.cid).collect();
        let expected: Vec<EntryCid> = model.iter().map(|(_, _, c)| *c).collect();
        assert_eq!(order, expected);
        let present: HashSet<EntryCid> = expected.iter().copied().collect();
        let referenced: HashSet<EntryCid> = history
            .iter()
            .filter(|m| present.contains(&m.cid))
            .flat_map(|m| m.parents.iter().copied())
            .collect();
        let heads: BTreeSet<EntryCid> = present
            .iter()
            .filter(|c| !referenced.contains(c))
            .copied()
            .collect();
        let missing: BTreeSet<EntryCid> = referenced
            .iter()
            .filter(|c| !present.contains(c))
            .copied()
            .collect();
        assert_eq!(log.heads().copied().collect::<BTreeSet<_>>(), heads);
        assert_eq!(log.missing().copied().collect::<BTreeSet<_>>(), missing);
    }
});
