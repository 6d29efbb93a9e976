//! The merge laws of the log CRDT, as properties.
//!
//! Default runs use proptest's default case count; the dedicated long run in
//! `.ci/run` sets `PROPTEST_CASES=10000`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeSet, HashSet};

use kaichi_privatelog::{EntryCid, EntryMeta, LogSet, OrderKey};
use proptest::prelude::*;

/// Builds an honest history: two authors who append on top of what they know
/// and now and then learn some of the other's entries.
fn history(ops: &[(bool, u8)]) -> Vec<EntryMeta> {
    let authors = [[1u8; 32], [2u8; 32]];
    let mut known = [LogSet::new(), LogSet::new()];
    let mut all: Vec<EntryMeta> = Vec::new();
    for (i, (sync, param)) in ops.iter().enumerate() {
        let who = usize::from(param % 2);
        if *sync {
            // `who` learns every k-th entry of the other side's view.
            let other = known[1 - who].clone();
            let k = usize::from(param / 2 % 3) + 1;
            for (j, key) in other.iter().enumerate() {
                if j % k == 0 {
                    let _ = known[who].insert(other.meta(&key.cid).unwrap());
                }
            }
        } else {
            let mut parents: Vec<EntryCid> = known[who].heads().copied().collect();
            parents.sort_unstable();
            let meta = EntryMeta {
                cid: EntryCid::of(&(i as u64).to_be_bytes()),
                author: authors[who],
                clock: known[who].next_clock(&parents),
                parents,
            };
            known[who].insert(meta.clone()).unwrap();
            all.push(meta);
        }
    }
    all
}

fn build(metas: &[EntryMeta], order: &[usize]) -> LogSet {
    let mut log = LogSet::new();
    for &i in order {
        log.insert(metas[i % metas.len()].clone()).unwrap();
    }
    log
}

fn subset(metas: &[EntryMeta], mask: u64) -> Vec<EntryMeta> {
    metas
        .iter()
        .enumerate()
        .filter(|(i, _)| mask >> (i % 64) & 1 == 1)
        .map(|(_, m)| m.clone())
        .collect()
}

fn order_of(log: &LogSet) -> Vec<OrderKey> {
    log.iter().copied().collect()
}

fn ops() -> impl Strategy<Value = Vec<(bool, u8)>> {
    proptest::collection::vec((any::<bool>(), any::<u8>()), 1..48)
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn merge_is_commutative(ops in ops(), m1 in any::<u64>(), m2 in any::<u64>()) {
        let all = history(&ops);
        prop_assume!(!all.is_empty());
        let (a, b) = (subset(&all, m1), subset(&all, m2));
        let (la, lb) = (build(&a, &(0..a.len()).collect::<Vec<_>>()), build(&b, &(0..b.len()).collect::<Vec<_>>()));
        let mut ab = la.clone();
        ab.merge(&lb);
        let mut ba = lb.clone();
        ba.merge(&la);
        prop_assert_eq!(order_of(&ab), order_of(&ba));
        prop_assert_eq!(&ab, &ba);
        prop_assert_eq!(ab.heads().collect::<Vec<_>>(), ba.heads().collect::<Vec<_>>());
        prop_assert_eq!(ab.missing().collect::<Vec<_>>(), ba.missing().collect::<Vec<_>>());
    }

    #[test]
    fn merge_is_associative(ops in ops(), m1 in any::<u64>(), m2 in any::<u64>(), m3 in any::<u64>()) {
        let all = history(&ops);
        prop_assume!(!all.is_empty());
        let logs: Vec<LogSet> = [m1, m2, m3]
            .iter()
            .map(|m| { let s = subset(&all, *m); build(&s, &(0..s.len()).collect::<Vec<_>>()) })
            .collect();
        let mut left = logs[0].clone();
        left.merge(&logs[1]);
        left.merge(&logs[2]);
        let mut bc = logs[1].clone();
        bc.merge(&logs[2]);
        let mut right = logs[0].clone();
        right.merge(&bc);
        prop_assert_eq!(&left, &right);
        prop_assert_eq!(order_of(&left), order_of(&right));
    }

    #[test]
    fn merge_is_idempotent(ops in ops(), m1 in any::<u64>()) {
        let all = history(&ops);
        prop_assume!(!all.is_empty());
        let s = subset(&all, m1);
        let log = build(&s, &(0..s.len()).collect::<Vec<_>>());
        let mut twice = log.clone();
        prop_assert!(twice.merge(&log).is_empty());
        prop_assert_eq!(&twice, &log);
    }

    /// Any delivery order, with duplicates, gives the same state and view;
    /// parents always precede children; and the log matches a reference
    /// model (a BTreeSet of entries) for order, heads and missing.
    #[test]
    fn any_delivery_order_converges_to_the_model(ops in ops(), order in proptest::collection::vec(any::<usize>(), 0..120)) {
        let all = history(&ops);
        prop_assume!(!all.is_empty());
        let log = build(&all, &order);
        let canonical = build(&all, &(0..all.len()).collect::<Vec<_>>());

        // Reference model.
        let present: BTreeSet<(u64, [u8; 32], EntryCid)> = order
            .iter()
            .map(|i| { let m = &all[i % all.len()]; (m.clock, m.author, m.cid) })
            .collect();
        let model_order: Vec<EntryCid> = present.iter().map(|(_, _, c)| *c).collect();
        prop_assert_eq!(log.iter().map(|k| k.cid).collect::<Vec<_>>(), model_order.clone());
        let cids: HashSet<EntryCid> = model_order.iter().copied().collect();
        let referenced: HashSet<EntryCid> = all.iter().filter(|m| cids.contains(&m.cid)).flat_map(|m| m.parents.iter().copied()).collect();
        let model_heads: BTreeSet<EntryCid> = cids.iter().filter(|c| !referenced.contains(c)).copied().collect();
        let model_missing: BTreeSet<EntryCid> = referenced.iter().filter(|c| !cids.contains(c)).copied().collect();
        prop_assert_eq!(log.heads().copied().collect::<BTreeSet<_>>(), model_heads);
        prop_assert_eq!(log.missing().copied().collect::<BTreeSet<_>>(), model_missing);

        // Parents precede children.
        let mut seen = HashSet::new();
        for key in log.iter() {
            for p in &log.meta(&key.cid).unwrap().parents {
                prop_assert!(!log.contains(p) || seen.contains(p));
            }
            seen.insert(key.cid);
        }

        // A replica that got everything in order equals one that got a
        // permutation of everything.
        let mut full_shuffled = log.clone();
        full_shuffled.merge(&canonical);
        prop_assert_eq!(order_of(&full_shuffled), order_of(&canonical));
        prop_assert!(canonical.missing().next().is_none());
    }
}

#[test]
fn a_late_parent_evicts_a_child_with_a_wrong_clock_in_any_order() {
    let p = EntryMeta {
        cid: EntryCid::of(b"p"),
        author: [1; 32],
        clock: 1,
        parents: vec![],
    };
    let q = EntryMeta {
        cid: EntryCid::of(b"q"),
        author: [1; 32],
        clock: 2,
        parents: vec![p.cid],
    };
    // Claims clock 2 but its parent q has clock 2.
    let bad = EntryMeta {
        cid: EntryCid::of(b"bad"),
        author: [2; 32],
        clock: 2,
        parents: vec![q.cid],
    };
    let mut early = LogSet::new();
    early.insert(p.clone()).unwrap();
    early.insert(bad.clone()).unwrap();
    assert_eq!(early.missing().collect::<Vec<_>>(), vec![&q.cid]);
    let ins = early.insert(q.clone()).unwrap();
    assert_eq!(ins.evicted, vec![bad.cid]);
    assert!(early.is_rejected(&bad.cid));
    let mut late = LogSet::new();
    late.insert(p).unwrap();
    late.insert(q).unwrap();
    assert!(late.insert(bad.clone()).is_err());
    assert_eq!(order_of(&early), order_of(&late));
    assert!(early.missing().next().is_none());
    assert!(early.insert(bad).is_err());
}
