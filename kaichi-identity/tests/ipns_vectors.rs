//! The IPNS record specification's published test vectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use kaichi_identity::ipns::{ValidateError, validate_record};
use kaichi_identity::{IpnsName, Timestamp};

/// 2026-11-25, inside every vector's validity window.
const NOW: Timestamp = Timestamp::from_unix_secs(1_795_000_000);

fn vector(suffix: &str) -> (IpnsName, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ipns");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        if let Some(name) = file.strip_suffix(&format!("_{suffix}.ipns-record")) {
            return (name.parse().unwrap(), std::fs::read(&path).unwrap());
        }
    }
    panic!("no vector {suffix}");
}

#[test]
fn v1_only_is_invalid() {
    let (name, bytes) = vector("v1");
    assert_eq!(
        validate_record(&bytes, &name, NOW),
        Err(ValidateError::MissingSignatureV2)
    );
}

#[test]
fn v1_v2_is_valid() {
    let (name, bytes) = vector("v1-v2");
    let rec = validate_record(&bytes, &name, NOW).unwrap();
    assert_eq!(rec.value_str(), Some("/ipfs/bafkqaddwgevxmmraojswg33smq"));
    assert!(rec.is_v1_compatible());
}

#[test]
fn v1_v2_with_mismatched_v1_value_is_invalid() {
    let (name, bytes) = vector("v1-v2-broken-v1-value");
    assert_eq!(
        validate_record(&bytes, &name, NOW),
        Err(ValidateError::V1FieldMismatch("value"))
    );
}

#[test]
fn broken_signature_v2_is_invalid() {
    let (name, bytes) = vector("v1-v2-broken-signature-v2");
    assert_eq!(
        validate_record(&bytes, &name, NOW),
        Err(ValidateError::BadSignatureV2(name))
    );
}

#[test]
fn broken_signature_v1_is_still_valid() {
    let (name, bytes) = vector("v1-v2-broken-signature-v1");
    let rec = validate_record(&bytes, &name, NOW).unwrap();
    assert_eq!(
        rec.value_str(),
        Some("/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi")
    );
}

#[test]
fn v2_only_is_valid() {
    let (name, bytes) = vector("v2");
    let rec = validate_record(&bytes, &name, NOW).unwrap();
    assert_eq!(
        rec.value_str(),
        Some("/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi")
    );
    assert!(!rec.is_v1_compatible());
}

#[test]
fn vectors_are_rejected_for_other_names_and_after_expiry() {
    let (name, bytes) = vector("v2");
    let (other, _) = vector("v1-v2");
    assert_eq!(
        validate_record(&bytes, &other, NOW),
        Err(ValidateError::BadSignatureV2(other))
    );
    let rec = validate_record(&bytes, &name, NOW).unwrap();
    assert!(matches!(
        validate_record(&bytes, &name, rec.validity()),
        Err(ValidateError::Expired { .. })
    ));
}
