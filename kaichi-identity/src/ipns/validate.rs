//! Validating IPNS records, step by step as the spec's "Record Verification".

use std::time::Duration;

use prost::Message as _;

use super::cbor::{CborError, RecordData};
use super::proto::IpnsEntry;
use super::record::IpnsRecord;
use super::{MAX_RECORD_BYTES, SIGNATURE_V2_PREFIX, VALIDITY_EOL};
use crate::keys::IpnsPublicKey;
use crate::name::IpnsName;
use crate::time::{Timestamp, TimestampError};

/// A record failed validation. Variants follow the spec's steps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateError {
    /// Step 1: over the size limit.
    #[error("record is {actual} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Bytes given.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not an `IpnsEntry` protobuf.
    #[error("not an IpnsEntry protobuf: {0}")]
    Protobuf(String),
    /// Step 2: `signatureV2` missing or empty (V1-only records are invalid).
    #[error("record has no signatureV2 (V1-only records are not accepted)")]
    MissingSignatureV2,
    /// Step 2: `data` missing or empty.
    #[error("record has no data")]
    MissingData,
    /// Step 3: no `pubKey` and the name does not inline a key.
    #[error("no public key: the record has no pubKey and name {0} does not inline one")]
    PublicKeyMissing(IpnsName),
    /// Step 3: `pubKey` is not a libp2p Ed25519 public key.
    #[error("pubKey is not a supported libp2p Ed25519 public key")]
    UnsupportedPublicKey,
    /// Step 3: `pubKey` belongs to a different name.
    #[error("pubKey belongs to {actual}, not {expected}")]
    PublicKeyMismatch {
        /// The name being resolved.
        expected: Box<IpnsName>,
        /// The name of the embedded key.
        actual: Box<IpnsName>,
    },
    /// Step 4: `data` is not the expected DAG-CBOR.
    #[error("record data: {0}")]
    Data(#[from] CborError),
    /// Step 6: `signatureV2` does not verify.
    #[error("signatureV2 does not verify for {0}")]
    BadSignatureV2(IpnsName),
    /// Step 7: a legacy V1 field differs from the signed data.
    #[error("legacy field {0} does not match the signed data")]
    V1FieldMismatch(&'static str),
    /// Step 8: a validity type other than EOL.
    #[error("unsupported ValidityType {0} (only 0 = EOL)")]
    UnsupportedValidityType(u64),
    /// Step 8: `Validity` is not an RFC 3339 time.
    #[error("Validity: {0}")]
    BadValidity(TimestampError),
    /// Step 8: the record has expired.
    #[error("record expired at {validity} (now {now})")]
    Expired {
        /// End of validity.
        validity: Timestamp,
        /// The time checked against.
        now: Timestamp,
    },
}

/// Validates a serialized record for `name` at time `now`.
///
/// Follows the spec's verification steps in order and fails on the first
/// error. The legacy `signatureV1` is never used for verification.
pub fn validate_record(
    bytes: &[u8],
    name: &IpnsName,
    now: Timestamp,
) -> Result<IpnsRecord, ValidateError> {
    // 1. Size limit before parsing.
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(ValidateError::TooLarge {
            actual: bytes.len(),
            max: MAX_RECORD_BYTES,
        });
    }
    let entry = IpnsEntry::decode(bytes).map_err(|e| ValidateError::Protobuf(e.to_string()))?;

    // 2. signatureV2 and data present and non-empty.
    let signature = entry
        .signature_v2
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(ValidateError::MissingSignatureV2)?;
    let data_bytes = entry
        .data
        .as_deref()
        .filter(|d| !d.is_empty())
        .ok_or(ValidateError::MissingData)?;

    // 3. The public key: embedded, or inlined in the name.
    let key = match entry.pub_key.as_deref().filter(|k| !k.is_empty()) {
        Some(pb) => {
            let key = decode_libp2p_ed25519(pb).ok_or(ValidateError::UnsupportedPublicKey)?;
            if key.name() != *name {
                return Err(ValidateError::PublicKeyMismatch {
                    expected: Box::new(*name),
                    actual: Box::new(key.name()),
                });
            }
            key
        }
        None => name
            .inlined_ed25519()
            .ok_or(ValidateError::PublicKeyMissing(*name))?,
    };

    // 4. Deserialize the DAG-CBOR data.
    let data = RecordData::decode(data_bytes)?;

    // 5-6. Verify signatureV2 over the prefix and the raw data bytes.
    let mut signed = Vec::with_capacity(SIGNATURE_V2_PREFIX.len() + data_bytes.len());
    signed.extend_from_slice(SIGNATURE_V2_PREFIX);
    signed.extend_from_slice(data_bytes);
    if !key.verify(&signed, signature) {
        return Err(ValidateError::BadSignatureV2(*name));
    }

    // 7. Legacy fields, when present, must equal the signed data.
    let v1_present = entry.signature_v1.as_deref().is_some_and(|s| !s.is_empty())
        || entry.value.as_deref().is_some_and(|v| !v.is_empty());
    if v1_present {
        check_v1(&entry, &data)?;
    }

    // 8. Validity.
    if data.validity_type != VALIDITY_EOL {
        return Err(ValidateError::UnsupportedValidityType(data.validity_type));
    }
    let validity_text = std::str::from_utf8(&data.validity).map_err(|_| {
        ValidateError::BadValidity(TimestampError::NotRfc3339("<not UTF-8>".into()))
    })?;
    let validity =
        Timestamp::parse_rfc3339_clamped(validity_text).map_err(ValidateError::BadValidity)?;
    if validity <= now {
        return Err(ValidateError::Expired { validity, now });
    }

    Ok(IpnsRecord {
        name: *name,
        value: data.value,
        sequence: data.sequence,
        validity,
        ttl: Duration::from_nanos(data.ttl),
        v1_compatible: v1_present,
    })
}

fn check_v1(entry: &IpnsEntry, data: &RecordData) -> Result<(), ValidateError> {
    if entry.value.as_deref().unwrap_or_default() != data.value.as_slice() {
        return Err(ValidateError::V1FieldMismatch("value"));
    }
    if entry.validity.as_deref().unwrap_or_default() != data.validity.as_slice() {
        return Err(ValidateError::V1FieldMismatch("validity"));
    }
    if u64::try_from(entry.validity_type.unwrap_or(0)).ok() != Some(data.validity_type) {
        return Err(ValidateError::V1FieldMismatch("validityType"));
    }
    if entry.sequence.unwrap_or(0) != data.sequence {
        return Err(ValidateError::V1FieldMismatch("sequence"));
    }
    if entry.ttl.unwrap_or(0) != data.ttl {
        return Err(ValidateError::V1FieldMismatch("ttl"));
    }
    Ok(())
}

/// Decodes a libp2p `PublicKey` protobuf holding an Ed25519 key.
fn decode_libp2p_ed25519(pb: &[u8]) -> Option<IpnsPublicKey> {
    let pk = libp2p_identity::PublicKey::try_decode_protobuf(pb).ok()?;
    let ed = pk.try_into_ed25519().ok()?;
    IpnsPublicKey::from_bytes(&ed.to_bytes()).ok()
}
