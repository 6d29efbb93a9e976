//! IPNS records, exactly per the IPNS record specification
//! (<https://specs.ipfs.tech/ipns/ipns-record/>).
//!
//! [`create_record`] signs V2 (and, by default, legacy V1) records with an
//! identity's [`IpnsKeypair`](crate::IpnsKeypair); [`validate_record`] applies
//! the spec's verification steps in order, with the current time passed in.
//! Records produced here validate in kubo/boxo and the JavaScript `ipns`
//! package, and theirs validate here (see the interop tests).

mod cbor;
mod create;
mod path;
mod proto;
mod record;
mod validate;

pub use cbor::CborError;
pub use create::{CreateError, RecordParams, create_record};
pub use path::{ContentPath, MAX_PATH_BYTES, PathError};
pub use record::IpnsRecord;
pub use validate::{ValidateError, validate_record};

/// The largest serialized `IpnsEntry` accepted or produced (10 KiB).
pub const MAX_RECORD_BYTES: usize = 10 * 1024;

/// Prefix of the bytes signed by `signatureV2`.
pub(crate) const SIGNATURE_V2_PREFIX: &[u8] = b"ipns-signature:";

/// `ValidityType` EOL: the record is valid until the `Validity` time.
pub(crate) const VALIDITY_EOL: u64 = 0;
