//! Replicas with the same entries show the same view, whatever the delivery
//! order (real signed, encrypted entries, edits and reactions included).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::LazyLock;

use common::{pair, salt, text};
use kaichi_privatelog::{Conversation, Message, MessageBody};
use proptest::prelude::*;

/// A conversation of 40 entries with concurrency, edits, deletes and reactions.
static BLOCKS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let (a, mut ca, b, mut cb) = pair();
    let mut blocks = Vec::new();
    let mut last = None;
    for i in 0..40u64 {
        let (conv, key, other) = if i % 3 == 0 {
            (&mut cb, b.ipns(), &mut ca)
        } else {
            (&mut ca, a.ipns(), &mut cb)
        };
        let msg = match (i % 7, last) {
            (5, Some(t)) => Message {
                sent_at_ms: i,
                body: MessageBody::Reaction {
                    target: t,
                    reaction: "🔥".into(),
                    remove: false,
                },
            },
            (6, Some(t)) => Message {
                sent_at_ms: i,
                body: MessageBody::Edit {
                    target: t,
                    text: format!("edited {i}"),
                },
            },
            _ => text(&format!("m{i}")),
        };
        let e = conv.append(key, &msg, &salt(i)).unwrap();
        if matches!(msg.body, MessageBody::Text { .. }) {
            last = Some(e.cid());
        }
        // Deliver only some entries right away, so the sides write concurrently.
        if i % 4 != 1 {
            other.ingest(e.block(), None).unwrap();
        }
        blocks.push(e.block().to_vec());
    }
    blocks
});

static FULL: LazyLock<Conversation> =
    LazyLock::new(|| replica(&(0..BLOCKS.len()).collect::<Vec<_>>()));

fn replica(order: &[usize]) -> Conversation {
    let (_, _, b, _) = pair();
    let a = common::keys(1);
    let mut c = Conversation::new(&b, &a.public()).unwrap();
    for i in order {
        let blocks = &*BLOCKS;
        // Signatures are covered elsewhere; this property is about the view.
        c.ingest_stored(&blocks[i % blocks.len()]).unwrap();
    }
    c
}

proptest! {
    // 64 cases by default; the long run in .ci/run sets PROPTEST_CASES=10000.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn same_set_same_view(order in proptest::collection::vec(any::<usize>(), 0..80)) {
        let shuffled = replica(&order);
        let mut seen: Vec<usize> = order.iter().map(|i| i % BLOCKS.len()).collect();
        seen.sort_unstable();
        seen.dedup();
        let sorted = replica(&seen);
        prop_assert_eq!(shuffled.page(None, 1000), sorted.page(None, 1000));
        prop_assert_eq!(shuffled.heads(), sorted.heads());
        prop_assert_eq!(shuffled.missing(), sorted.missing());
        // Completing the set by merge gives the full view.
        let mut merged = shuffled.clone();
        merged.merge(&FULL);
        prop_assert_eq!(merged.page(None, 1000), FULL.page(None, 1000));
    }
}
