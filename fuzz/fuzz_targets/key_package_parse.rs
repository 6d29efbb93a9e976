//! KeyPackage parsing and validation with arbitrary bytes: a typed error or
//! a KeyPackage whose credential binds to its key, never a panic.
#![no_main]

use kaichi_groups::{MemoryProvider, NoDevices, parse_key_package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let provider = MemoryProvider::default();
    if let Ok((kp, name)) = parse_key_package(&provider, data, &NoDevices) {
        let key = kp.leaf_node().signature_key().as_slice().to_vec();
        assert_eq!(
            name.inlined_ed25519().map(|k| k.to_bytes().to_vec()),
            Some(key)
        );
    }
});
