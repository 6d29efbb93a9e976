//! Creating IPNS records.

use std::time::Duration;

use prost::Message as _;

use super::cbor::RecordData;
use super::proto::IpnsEntry;
use super::{MAX_RECORD_BYTES, SIGNATURE_V2_PREFIX, VALIDITY_EOL};
use crate::keys::IpnsKeypair;
use crate::time::Timestamp;

/// A record could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The value is empty.
    #[error("an IPNS record needs a non-empty value")]
    EmptyValue,
    /// The serialized record would exceed the spec's size limit.
    #[error("the record would be {actual} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Serialized size.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// The TTL does not fit the record's 64-bit nanosecond field.
    #[error("TTL too long for an IPNS record")]
    TtlTooLong,
}

/// What to put in a new record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordParams {
    /// The value, normally a content path such as `/ipfs/<cid>`.
    pub value: Vec<u8>,
    /// Sequence number; must grow with every update of the name.
    pub sequence: u64,
    /// End of validity (EOL).
    pub validity: Timestamp,
    /// How long resolvers may cache the record.
    pub ttl: Duration,
    /// Also write the legacy V1 fields and signature, so pre-2021 resolvers
    /// can read the record (the default, as in kubo and js-ipns).
    pub v1_compatible: bool,
}

impl RecordParams {
    /// The default TTL (5 minutes, as js-ipns uses).
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

    /// A V1+V2 record for `value` valid until `validity`, with the default TTL.
    pub fn new(value: impl Into<Vec<u8>>, sequence: u64, validity: Timestamp) -> Self {
        Self {
            value: value.into(),
            sequence,
            validity,
            ttl: Self::DEFAULT_TTL,
            v1_compatible: true,
        }
    }
}

/// Signs a record for `key`'s name and returns the serialized `IpnsEntry`.
pub fn create_record(key: &IpnsKeypair, params: &RecordParams) -> Result<Vec<u8>, CreateError> {
    if params.value.is_empty() {
        return Err(CreateError::EmptyValue);
    }
    // Fail fast on values that cannot fit before signing anything.
    if params.value.len() > MAX_RECORD_BYTES {
        return Err(CreateError::TooLarge {
            actual: params.value.len(),
            max: MAX_RECORD_BYTES,
        });
    }
    let ttl = u64::try_from(params.ttl.as_nanos()).map_err(|_| CreateError::TtlTooLong)?;
    let validity = params.validity.to_rfc3339().into_bytes();
    let data = RecordData {
        value: params.value.clone(),
        validity: validity.clone(),
        validity_type: VALIDITY_EOL,
        sequence: params.sequence,
        ttl,
    }
    .encode();

    let mut signed = Vec::with_capacity(SIGNATURE_V2_PREFIX.len() + data.len());
    signed.extend_from_slice(SIGNATURE_V2_PREFIX);
    signed.extend_from_slice(&data);
    let mut entry = IpnsEntry {
        signature_v2: Some(key.sign(&signed).to_vec()),
        data: Some(data),
        ..IpnsEntry::default()
    };
    if params.v1_compatible {
        let mut v1 = Vec::with_capacity(params.value.len() + validity.len() + 3);
        v1.extend_from_slice(&params.value);
        v1.extend_from_slice(&validity);
        v1.extend_from_slice(b"EOL");
        entry.signature_v1 = Some(key.sign(&v1).to_vec());
        entry.value = Some(params.value.clone());
        entry.validity_type = Some(0);
        entry.validity = Some(validity);
        entry.sequence = Some(params.sequence);
        entry.ttl = Some(ttl);
    }
    let bytes = entry.encode_to_vec();
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(CreateError::TooLarge {
            actual: bytes.len(),
            max: MAX_RECORD_BYTES,
        });
    }
    Ok(bytes)
}
