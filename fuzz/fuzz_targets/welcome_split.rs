//! Split Welcomes (`kaichi_groups::welcome`) and their index
//! (`kaichi_transport::welcome_index`): never a panic. The first byte picks
//! what the rest is: 0, a Welcome to split (each shard then rebuilds, for
//! its first member, a Welcome naming that member alone); 1, a header and
//! a shard (two bytes of the header's length first); 2, a KeyPackage to
//! reference; 3, an index (what decodes re-encodes to itself).
#![no_main]

use kaichi_groups::welcome::{key_package_ref, split_welcome, welcome_for, welcome_secrets};
use kaichi_transport::welcome_index::WelcomeIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let Ok(split) = split_welcome(rest, 3) else {
                return;
            };
            for shard in &split.shards {
                let own = welcome_for(&split.header, &shard.bytes, &[shard.first])
                    .expect("a shard rebuilds a Welcome for its first member");
                assert_eq!(welcome_secrets(&own), Ok(1));
            }
        }
        1 => {
            let [a, b, rest @ ..] = rest else { return };
            let at = usize::from(u16::from_be_bytes([*a, *b])).min(rest.len());
            let (header, shard) = rest.split_at(at);
            if let Some(first) = shard.get(..32) {
                let mine = [kaichi_groups::KeyPackageRef::from_slice(first).expect("32 bytes")];
                if let Ok(w) = welcome_for(header, shard, &mine) {
                    assert_eq!(welcome_secrets(&w), Ok(1));
                }
            }
        }
        2 => {
            let _ = key_package_ref(rest);
        }
        _ => {
            if let Ok(index) = WelcomeIndex::decode(rest) {
                assert_eq!(WelcomeIndex::decode(&index.encode()), Ok(index));
            }
        }
    }
});
