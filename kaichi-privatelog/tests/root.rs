//! Roots: any set of outboxes round-trips through its one canonical block,
//! and no input makes the decoder panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_privatelog::{AuthorTag, BlockCid, EntryCid, MAX_PARENTS, Root, RootCid};
use proptest::prelude::*;

fn outboxes() -> impl Strategy<Value = Vec<([u8; 32], Vec<u32>)>> {
    proptest::collection::vec(
        (
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u32>(), 1..MAX_PARENTS),
        ),
        0..20,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn roots_round_trip_whatever_the_insertion_order(
        outboxes in outboxes(),
        doc in any::<[u8; 8]>(),
    ) {
        let mut forward = Root::new(BlockCid::of(&doc));
        let mut backward = Root::new(BlockCid::of(&doc));
        for (tag, heads) in &outboxes {
            let heads: Vec<EntryCid> = heads.iter().map(|h| EntryCid::of(&h.to_be_bytes())).collect();
            forward.set_outbox(AuthorTag::from_bytes(*tag), heads).unwrap();
        }
        // Rebuild `backward` from `forward`'s outboxes in reverse order.
        let listed: Vec<(AuthorTag, Vec<EntryCid>)> =
            forward.outboxes().map(|(t, h)| (*t, h.to_vec())).collect();
        for (tag, heads) in listed.iter().rev() {
            backward.set_outbox(*tag, heads.iter().rev().copied().collect()).unwrap();
        }
        let block = forward.encode();
        prop_assert_eq!(&backward.encode(), &block);
        prop_assert!(block.len() <= kaichi_privatelog::MAX_ROOT_BYTES);
        let decoded = Root::decode(&block).unwrap();
        prop_assert_eq!(&decoded, &forward);
        prop_assert_eq!(decoded.cid(), RootCid::of(&block));
    }

    #[test]
    fn arbitrary_bytes_are_a_root_or_a_typed_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(root) = Root::decode(&bytes) {
            prop_assert_eq!(root.encode(), bytes);
        }
    }
}
