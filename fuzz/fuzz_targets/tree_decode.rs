//! Ratchet trees decoded chunk by chunk (`kaichi_groups::TreeDecoder`):
//! never a panic; chunked decoding ends as whole decoding does (the same
//! tree or the same error); a tree that decodes re-encodes to its input.
//! The first byte is the number of cuts (mod 8), then two bytes a cut
//! position; the rest is the tree.
#![no_main]

use kaichi_groups::{RatchetTree, TreeDecoder};
use libfuzzer_sys::fuzz_target;

/// A bound the fuzzer can reach.
const BOUND: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let Some((cuts, tree)) = rest.split_at_checked(2 * usize::from(n % 8)) else {
        return;
    };
    let mut at: Vec<usize> = cuts
        .chunks(2)
        .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])) % (tree.len() + 1))
        .collect();
    at.push(0);
    at.push(tree.len());
    at.sort_unstable();
    let whole = RatchetTree::from_bytes(tree, BOUND).map(|t| t.to_bytes());
    let mut decoder = TreeDecoder::new(BOUND);
    let chunked = at
        .windows(2)
        .try_for_each(|w| decoder.push(&tree[w[0]..w[1]]))
        .and_then(|()| decoder.finish())
        .map(|t| t.to_bytes());
    assert_eq!(whole, chunked);
    if let Ok(bytes) = whole {
        assert_eq!(bytes, tree);
    }
});
