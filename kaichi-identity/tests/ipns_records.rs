//! Creating and validating our own IPNS records, and rejecting tampered ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use kaichi_identity::ipns::{
    CreateError, MAX_RECORD_BYTES, RecordParams, ValidateError, create_record, validate_record,
};
use kaichi_identity::{IpnsKeypair, Timestamp};
use proptest::prelude::*;

const NOW: Timestamp = Timestamp::from_unix_secs(1_795_000_000);

fn key(seed: u8) -> IpnsKeypair {
    IpnsKeypair::from_seed(&[seed; 32])
}

fn params(seq: u64) -> RecordParams {
    RecordParams::new(
        "/ipfs/bafkqaddwgevxmmraojswg33smq",
        seq,
        NOW.checked_add(Duration::from_secs(86_400)).unwrap(),
    )
}

#[test]
fn created_records_validate() {
    let k = key(1);
    for v1 in [true, false] {
        let mut p = params(3);
        p.v1_compatible = v1;
        p.ttl = Duration::from_secs(60);
        let bytes = create_record(&k, &p).unwrap();
        let rec = validate_record(&bytes, &k.name(), NOW).unwrap();
        assert_eq!(rec.value(), p.value.as_slice());
        assert_eq!(rec.sequence(), 3);
        assert_eq!(rec.ttl(), Duration::from_secs(60));
        assert_eq!(rec.validity(), p.validity);
        assert_eq!(rec.is_v1_compatible(), v1);
    }
}

#[test]
fn expiry_uses_the_time_passed_in() {
    let k = key(1);
    let p = params(0);
    let bytes = create_record(&k, &p).unwrap();
    assert!(validate_record(&bytes, &k.name(), p.validity).is_err());
    assert!(
        validate_record(
            &bytes,
            &k.name(),
            Timestamp::from_unix_nanos(p.validity.unix_nanos() - 1)
        )
        .is_ok()
    );
}

#[test]
fn wrong_name_is_rejected() {
    let bytes = create_record(&key(1), &params(0)).unwrap();
    assert!(matches!(
        validate_record(&bytes, &key(2).name(), NOW),
        Err(ValidateError::BadSignatureV2(_))
    ));
}

#[test]
fn size_limits_hold_both_ways() {
    let k = key(1);
    let mut p = params(0);
    p.value = vec![b'a'; MAX_RECORD_BYTES];
    assert!(matches!(
        create_record(&k, &p),
        Err(CreateError::TooLarge { .. })
    ));
    p.value = vec![];
    assert_eq!(create_record(&k, &p), Err(CreateError::EmptyValue));
    assert!(matches!(
        validate_record(&vec![0u8; MAX_RECORD_BYTES + 1], &k.name(), NOW),
        Err(ValidateError::TooLarge { .. })
    ));
}

#[test]
fn newer_sequence_supersedes() {
    let k = key(1);
    let a = validate_record(&create_record(&k, &params(1)).unwrap(), &k.name(), NOW).unwrap();
    let b = validate_record(&create_record(&k, &params(2)).unwrap(), &k.name(), NOW).unwrap();
    assert!(b.supersedes(&a));
    assert!(!a.supersedes(&b));
    assert!(!a.supersedes(&a));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any single-byte change to a signed record is rejected (or, when it
    /// only touches the unsigned legacy V1 signature, leaves the signed
    /// content unchanged).
    #[test]
    fn any_single_byte_change_is_rejected(seed in any::<u8>(), seq in any::<u64>(),
                                          index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let k = key(seed);
        let p = params(seq);
        let bytes = create_record(&k, &p).unwrap();
        let original = validate_record(&bytes, &k.name(), NOW).unwrap();
        let mut tampered = bytes.clone();
        let i = index.index(tampered.len());
        tampered[i] ^= flip;
        match validate_record(&tampered, &k.name(), NOW) {
            Err(_) => {}
            Ok(rec) => {
                // Only the legacy signatureV1 is outside signatureV2's
                // coverage; changing it must not change what was signed.
                prop_assert_eq!(rec, original);
            }
        }
    }

    #[test]
    fn create_validate_round_trip(seed in any::<u8>(), seq in any::<u64>(),
                                  value in "/ipfs/[a-z2-7]{1,200}", ttl_s in 0u64..1_000_000,
                                  life in 1u64..10_000_000, v1 in any::<bool>()) {
        let k = key(seed);
        let p = RecordParams {
            value: value.clone().into_bytes(),
            sequence: seq,
            validity: NOW.checked_add(Duration::from_secs(life)).unwrap(),
            ttl: Duration::from_secs(ttl_s),
            v1_compatible: v1,
        };
        let rec = validate_record(&create_record(&k, &p).unwrap(), &k.name(), NOW).unwrap();
        prop_assert_eq!(rec.value_str(), Some(value.as_str()));
        prop_assert_eq!(rec.sequence(), seq);
        prop_assert_eq!(rec.ttl(), Duration::from_secs(ttl_s));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = validate_record(&bytes, &key(1).name(), NOW);
    }
}
