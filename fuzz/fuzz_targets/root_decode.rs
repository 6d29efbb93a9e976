//! IPNS root blocks from anyone: a root decodes only from its canonical
//! encoding (so it re-encodes to the same bytes), or is a typed error;
//! never a panic.
#![no_main]

use kaichi_privatelog::{Root, RootCid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = Root::decode(data) {
        assert_eq!(root.encode(), data);
        assert_eq!(root.cid(), RootCid::of(data));
        for (_, heads) in root.outboxes() {
            assert!(!heads.is_empty());
        }
    }
});
