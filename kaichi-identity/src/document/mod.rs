//! Identity documents: the signed binding wallet -> IPNS key -> DM key.
//!
//! A document is signed twice: by the wallet (over a human-readable summary
//! that commits to the body's SHA-256) and by the IPNS key (over a domain
//! prefix and the body bytes exactly as stored). It lists the devices the
//! identity has granted its secrets to and references its MLS KeyPackages.
//! A document is a block: the identity's IPNS record points at its CID, so
//! whoever knows the IPNS name (or, through a DHT provider record, the
//! wallet) finds and verifies it.
//!
//! Multi-device: a second wallet makes a [`DeviceRequest`]; the primary
//! turns it into a [`DeviceGrant`] that seals the identity's IPNS and DM
//! secrets to the device's own derived key, lists it in a new document, and
//! the device opens it with [`VerifiedDocument::open_grant`]. Revocation is a
//! new key epoch and a document without the grant.
//!
//! Delegated approval: the primary may grant a device the right to approve
//! ([`DeviceGrant::with_approver`]). That device then signs documents with
//! its own wallet ([`DocumentBuilder::sign_as_device`]), carrying the
//! primary-signed document that grants it the right (the *authority*); it
//! may add and remove other devices but not approvers. Documents of one
//! identity are ordered by [`DocumentVersion`]: a newer primary-signed
//! document comes after every document built on an older authority, so a
//! revoked approver cannot outdate its revocation.

mod build;
mod delegation;
mod grant;
mod proto;
mod verify;

use sha2::{Digest, Sha256};

pub use build::{BuildError, DocumentBuilder};
pub use delegation::DocumentVersion;
pub use grant::{DeviceGrant, DeviceRequest, GrantError, OpenGrantError, RequestError};
pub use verify::{DocumentError, VerifiedDocument, verify_document};

use crate::encoding::hex;
use crate::name::IpnsName;
use crate::wallet::WalletAddress;

/// The document format version this crate writes and reads.
pub const DOCUMENT_VERSION: u32 = 1;
/// Largest serialized document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Most device grants one document may list.
pub const MAX_DEVICES: usize = 32;
/// Most KeyPackage references one document may list.
pub const MAX_KEY_PACKAGES: usize = 16;
/// Longest KeyPackage reference (a CID) accepted.
pub const MAX_KEY_PACKAGE_REF_BYTES: usize = 128;
/// How far in the future `created_at` may be (clock skew between devices).
pub const MAX_CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(600);

/// Domain prefix of the IPNS key's signature.
const IPNS_SIGNATURE_PREFIX: &[u8] = b"kaichi-identity-document-v1:";

/// The human-readable message the wallet signs for a document body.
pub(crate) fn wallet_message(
    wallet: &WalletAddress,
    name: &IpnsName,
    epoch: u32,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "Kaichi identity document v1\n\
         Sign to publish your Kaichi identity. It does not send a transaction.\n\
         wallet: {wallet}\n\
         ipns: {name}\n\
         epoch: {epoch}\n\
         body-sha256: {}",
        hex(&Sha256::digest(body))
    )
    .into_bytes()
}

/// The bytes the IPNS key signs.
pub(crate) fn ipns_message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(IPNS_SIGNATURE_PREFIX.len() + body.len());
    m.extend_from_slice(IPNS_SIGNATURE_PREFIX);
    m.extend_from_slice(body);
    m
}

/// The message an approving device's wallet signs for a document body, in
/// the primary wallet's place.
pub(crate) fn device_wallet_message(
    device: &WalletAddress,
    name: &IpnsName,
    epoch: u32,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "Kaichi identity document v1, approved by a device\n\
         Sign to change the devices of a Kaichi identity you may approve for. It does not send a transaction.\n\
         device: {device}\n\
         ipns: {name}\n\
         epoch: {epoch}\n\
         body-sha256: {}",
        hex(&Sha256::digest(body))
    )
    .into_bytes()
}
