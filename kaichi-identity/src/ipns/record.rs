//! A validated IPNS record.

use std::time::Duration;

use crate::name::IpnsName;
use crate::time::Timestamp;

/// An IPNS record that passed [`super::validate_record`] for its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpnsRecord {
    pub(crate) name: IpnsName,
    pub(crate) value: Vec<u8>,
    pub(crate) sequence: u64,
    pub(crate) validity: Timestamp,
    pub(crate) ttl: Duration,
    pub(crate) v1_compatible: bool,
}

impl IpnsRecord {
    /// The name the record was validated for.
    pub fn name(&self) -> &IpnsName {
        &self.name
    }

    /// The signed value (normally a content path such as `/ipfs/<cid>`).
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The value as text, when it is UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }

    /// The sequence number (higher is newer).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// End of validity (EOL).
    pub fn validity(&self) -> Timestamp {
        self.validity
    }

    /// How long resolvers may cache the record.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether the record carries the legacy V1 fields.
    pub fn is_v1_compatible(&self) -> bool {
        self.v1_compatible
    }

    /// Whether `self` supersedes `other` for the same name: a higher
    /// sequence wins; on equal sequences the later validity wins (the rule
    /// boxo and js-ipns use to select between records).
    pub fn supersedes(&self, other: &IpnsRecord) -> bool {
        (self.sequence, self.validity) > (other.sequence, other.validity)
    }
}
