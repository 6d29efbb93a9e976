//! A group message reference from the group topic or a served log: never
//! panics; what parses names a blob CID and a size within the bound, and
//! re-encodes to a reference that parses the same.
#![no_main]

use kaichi_transport::group_ref::{GroupMessageRef, kind_code, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = parse(data) else { return };
    assert!(r.size <= kaichi_groups::MAX_MESSAGE_BYTES);
    let again = GroupMessageRef {
        group: r.group.as_bytes().to_vec(),
        epoch: r.epoch,
        kind: kind_code(r.kind),
        blob: r.blob.to_bytes(),
        size: r.size as u64,
    };
    assert_eq!(parse(&again.to_bytes()).ok(), Some(r));
});
