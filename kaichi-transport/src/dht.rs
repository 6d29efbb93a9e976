//! Validation of records in Kaichi's DHT.
//!
//! Two namespaces are accepted: `/kaichi/id/<sha256>` holds an identity
//! document (the key must be its wallet's [`document_dht_key`] or its IPNS
//! name's [`document_name_dht_key`]) and `/ipns/<name>` holds an IPNS record valid for
//! that name, not older than the one already held. Everything else is refused.

use kaichi_identity::document::{
    DocumentError, document_dht_key, document_name_dht_key, verify_document,
};
use kaichi_identity::ipns::{ValidateError, validate_record};
use kaichi_identity::{IpnsName, NameError, Timestamp};

/// A DHT record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The key is in no namespace Kaichi stores.
    #[error("unknown DHT key namespace")]
    UnknownNamespace,
    /// The identity document does not verify.
    #[error("identity document: {0}")]
    Document(#[source] DocumentError),
    /// The document is stored under another wallet's (or name's) key.
    #[error("the document does not belong to the wallet or name of this key")]
    WrongKey,
    /// The key's name is not an IPNS name.
    #[error("IPNS key: {0}")]
    Name(#[source] NameError),
    /// The IPNS record does not validate for the name in the key.
    #[error("IPNS record: {0}")]
    Ipns(#[source] ValidateError),
    /// The IPNS record is older than the one held.
    #[error("an IPNS record with a higher sequence is already held")]
    Stale,
}

/// Checks a record before it is stored; `existing` is the value held under
/// the same key, if any.
pub fn validate_dht_record(
    key: &[u8],
    value: &[u8],
    existing: Option<&[u8]>,
    now: Timestamp,
) -> Result<(), RecordError> {
    if key.starts_with(b"/kaichi/id/") {
        let doc = verify_document(value, now).map_err(RecordError::Document)?;
        if document_dht_key(&doc.public().wallet) != key
            && document_name_dht_key(&doc.public().ipns_name()) != key
        {
            return Err(RecordError::WrongKey);
        }
        return Ok(());
    }
    if let Some(name) = key.strip_prefix(b"/ipns/") {
        let name = IpnsName::from_bytes(name).map_err(RecordError::Name)?;
        let new = validate_record(value, &name, now).map_err(RecordError::Ipns)?;
        if let Some(old) = existing.and_then(|o| validate_record(o, &name, now).ok())
            && old.supersedes(&new)
        {
            return Err(RecordError::Stale);
        }
        return Ok(());
    }
    Err(RecordError::UnknownNamespace)
}
