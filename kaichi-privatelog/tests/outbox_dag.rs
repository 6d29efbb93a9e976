//! The IPLD shape of the logs: each side's entries form its own DAG (the
//! outbox) through the `prev` links in the blocks, so walking `prev` from a
//! side's outbox heads reaches exactly what that side wrote, and no block
//! links an entry of the other side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};

use common::{pair, salt, text};
use kaichi_privatelog::{Conversation, EntryCid, SealedEntry};
use proptest::prelude::*;

/// Every entry reached from `heads` through `prev` links, using `blocks`.
fn walk(heads: &[EntryCid], blocks: &HashMap<EntryCid, Vec<u8>>) -> HashSet<EntryCid> {
    let mut seen = HashSet::new();
    let mut todo = heads.to_vec();
    while let Some(cid) = todo.pop() {
        if !seen.insert(cid) {
            continue;
        }
        let sealed = SealedEntry::decode(&blocks[&cid], Some(&cid)).unwrap();
        todo.extend_from_slice(sealed.prev());
    }
    seen
}

#[derive(Debug, Clone, Copy)]
enum Op {
    AliceWrites,
    BobWrites,
    /// Deliver the n-th undelivered entry (mod the queue) to the other side.
    Deliver(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::AliceWrites),
        Just(Op::BobWrites),
        any::<usize>().prop_map(Op::Deliver),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64)
    ))]

    /// Whatever the interleaving and delivery order, each side's outbox is
    /// a DAG of its own entries only, complete from its heads.
    #[test]
    fn outboxes_are_closed_under_prev(ops in proptest::collection::vec(op(), 1..40)) {
        let (a, mut ca, b, mut cb) = pair();
        let mut blocks: HashMap<EntryCid, Vec<u8>> = HashMap::new();
        let mut written: [HashSet<EntryCid>; 2] = Default::default();
        // (to Bob?, block) not yet delivered.
        let mut queue: Vec<(bool, Vec<u8>)> = Vec::new();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::AliceWrites | Op::BobWrites => {
                    let alice = matches!(op, Op::AliceWrites);
                    let (conv, keys): (&mut Conversation, _) =
                        if alice { (&mut ca, &a) } else { (&mut cb, &b) };
                    let e = conv.append(keys.ipns(), &text("m"), &salt(n as u64)).unwrap();
                    blocks.insert(e.cid(), e.block().to_vec());
                    written[usize::from(!alice)].insert(e.cid());
                    queue.push((alice, e.block().to_vec()));
                }
                Op::Deliver(i) if !queue.is_empty() => {
                    let (to_bob, block) = queue.remove(i % queue.len());
                    let conv = if to_bob { &mut cb } else { &mut ca };
                    conv.ingest(&block, None).unwrap();
                }
                Op::Deliver(_) => {}
            }
        }
        for (side, conv) in [(0, &ca), (1, &cb)] {
            let reached = walk(&conv.outbox_heads(), &blocks);
            prop_assert_eq!(&reached, &written[side]);
        }
    }
}

/// A reply's block links only its author's own entries; the entry it answers
/// is a parent only inside the envelope.
#[test]
fn replies_link_the_other_side_only_inside_the_envelope() {
    let (a, mut ca, b, mut cb) = pair();
    let a1 = ca.append(a.ipns(), &text("one"), &salt(1)).unwrap();
    cb.ingest(a1.block(), None).unwrap();
    let b1 = cb.append(b.ipns(), &text("two"), &salt(2)).unwrap();
    ca.ingest(b1.block(), None).unwrap();
    let a2 = ca.append(a.ipns(), &text("three"), &salt(3)).unwrap();

    assert_eq!(b1.parents(), &[a1.cid()]);
    assert!(b1.sealed().prev().is_empty());
    let a1_bytes = a1.cid().to_bytes();
    assert!(!b1.block().windows(a1_bytes.len()).any(|w| w == a1_bytes));

    assert_eq!(a2.sealed().prev(), &[a1.cid()]);
    let mut both = vec![a1.cid(), b1.cid()];
    both.sort_unstable();
    assert_eq!(a2.parents(), both.as_slice());
    assert_eq!(a2.clock(), 3);
    assert_eq!(ca.outbox_heads(), vec![a2.cid()]);
    assert_eq!(cb.outbox_heads(), vec![b1.cid()]);
}
