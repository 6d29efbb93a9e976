//! IPNS record decode + validate with arbitrary bytes: never panics, and a
//! record that validates keeps validating (validation is a pure function)
//! and is consistent with the size limit.
#![no_main]

use kaichi_identity::ipns::{MAX_RECORD_BYTES, validate_record};
use kaichi_identity::{IpnsKeypair, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The seed corpus holds records signed by this key (see
    // kaichi-identity/tests/fuzz_seeds.rs) and the spec's vectors.
    let name = IpnsKeypair::from_seed(&[1; 32]).name();
    let now = Timestamp::from_unix_secs(1_795_000_000);
    if let Ok(rec) = validate_record(data, &name, now) {
        assert!(data.len() <= MAX_RECORD_BYTES);
        assert!(rec.validity() > now);
        assert_eq!(validate_record(data, &name, now).ok(), Some(rec));
    }
});
