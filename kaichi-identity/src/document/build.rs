//! Building and signing identity documents.

use std::time::Duration;

use prost::Message as _;

use super::proto::{DocumentBody, SignedDocumentPb};
use super::{
    DOCUMENT_VERSION, DeviceGrant, DocumentError, MAX_DEVICES, MAX_DOCUMENT_BYTES,
    MAX_KEY_PACKAGE_REF_BYTES, MAX_KEY_PACKAGES, device_wallet_message, ipns_message,
    verify_document, wallet_message,
};
use crate::derive::IdentityKeys;
use crate::time::Timestamp;
use crate::wallet::{SignError, WalletAddress, WalletSigner};
use sha2::{Digest as _, Sha256};

/// A document could not be built or signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The wallet did not sign.
    #[error("the wallet did not sign the document: {0}")]
    Sign(#[from] SignError),
    /// The signer is not the wallet the keys belong to.
    #[error("the keys belong to wallet {keys}, but the signer is {signer}")]
    WalletMismatch {
        /// Wallet of the keys.
        keys: WalletAddress,
        /// Wallet that was asked to sign.
        signer: WalletAddress,
    },
    /// The wallet returned a signature that does not verify.
    #[error("the wallet's signature does not verify")]
    BadWalletSignature,
    /// A grant belongs to another identity.
    #[error("grant for device {0} was issued by another identity")]
    ForeignGrant(WalletAddress),
    /// Two grants for one device.
    #[error("device {0} is granted twice")]
    DuplicateDevice(WalletAddress),
    /// Too many entries of some kind.
    #[error("too many {what}: {actual} (max {max})")]
    TooMany {
        /// What.
        what: &'static str,
        /// How many.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// A KeyPackage reference is too long.
    #[error("KeyPackage reference is {actual} bytes (max {max})")]
    KeyPackageRefTooLong {
        /// Bytes given.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// The lifetime is zero or overflows.
    #[error("invalid document lifetime")]
    InvalidLifetime,
    /// A document signed as an approving device breaks the delegation rules.
    #[error("the device may not sign this document: {0}")]
    Delegation(DocumentError),
    /// The serialized document would be too large.
    #[error("document would be {actual} bytes (max {max})")]
    TooLarge {
        /// Bytes.
        actual: usize,
        /// The limit.
        max: usize,
    },
}

/// Assembles an identity document for one identity at one epoch.
#[derive(Debug)]
pub struct DocumentBuilder<'a> {
    keys: &'a IdentityKeys,
    created_at: Timestamp,
    lifetime: Duration,
    devices: Vec<DeviceGrant>,
    key_packages: Vec<Vec<u8>>,
}

impl<'a> DocumentBuilder<'a> {
    /// A document for `keys`, created at `now`, valid for `lifetime`.
    pub fn new(keys: &'a IdentityKeys, now: Timestamp, lifetime: Duration) -> Self {
        Self {
            keys,
            created_at: now,
            lifetime,
            devices: Vec::new(),
            key_packages: Vec::new(),
        }
    }

    /// Lists a device grant.
    pub fn device(mut self, grant: DeviceGrant) -> Self {
        self.devices.push(grant);
        self
    }

    /// References a published MLS KeyPackage (its CID bytes).
    pub fn key_package(mut self, reference: Vec<u8>) -> Self {
        self.key_packages.push(reference);
        self
    }

    /// Validates, then signs with the IPNS key and `wallet`; returns the
    /// serialized signed document.
    pub fn sign<W: WalletSigner + ?Sized>(self, wallet: &W) -> Result<Vec<u8>, BuildError> {
        let keys = self.keys;
        let signer = wallet.address();
        if signer != keys.wallet() {
            return Err(BuildError::WalletMismatch {
                keys: keys.wallet(),
                signer,
            });
        }
        let body = self.body(None)?.encode_to_vec();
        let public = keys.public();
        let name = keys.ipns().name();
        let wallet_msg = wallet_message(&public.wallet, &name, public.epoch.get(), &body);
        let wallet_signature = wallet.sign_message(&wallet_msg)?;
        if !public.wallet.verify(&wallet_msg, &wallet_signature) {
            return Err(BuildError::BadWalletSignature);
        }
        finish(keys, body, wallet_signature.as_bytes().to_vec(), Vec::new())
    }

    /// Signs as an approving device, with `device`'s own wallet in the
    /// primary wallet's place (its grant in `authority`, the primary-signed
    /// document this one builds on, must let it approve), and the IPNS key
    /// the device holds through its grant. The result is verified before
    /// it is returned: a document the rules refuse (an approver added,
    /// removed or changed; a lifetime past the authority's) is an error.
    pub fn sign_as_device<W: WalletSigner + ?Sized>(
        self,
        device: &W,
        authority: &[u8],
    ) -> Result<Vec<u8>, BuildError> {
        let keys = self.keys;
        let now = self.created_at;
        let by = device.address();
        let body = self
            .body(Some((by, Sha256::digest(authority).to_vec())))?
            .encode_to_vec();
        let public = keys.public();
        let message = device_wallet_message(&by, &keys.ipns().name(), public.epoch.get(), &body);
        let signature = device.sign_message(&message)?;
        if !by.verify(&message, &signature) {
            return Err(BuildError::BadWalletSignature);
        }
        let signed = finish(
            keys,
            body,
            signature.as_bytes().to_vec(),
            authority.to_vec(),
        )?;
        verify_document(&signed, now).map_err(BuildError::Delegation)?;
        Ok(signed)
    }

    /// The checked body (`approved`: the approving device and the
    /// authority's digest, for a document a device signs).
    fn body(self, approved: Option<(WalletAddress, Vec<u8>)>) -> Result<DocumentBody, BuildError> {
        let keys = self.keys;
        if self.devices.len() > MAX_DEVICES {
            return Err(BuildError::TooMany {
                what: "devices",
                actual: self.devices.len(),
                max: MAX_DEVICES,
            });
        }
        if self.key_packages.len() > MAX_KEY_PACKAGES {
            return Err(BuildError::TooMany {
                what: "key packages",
                actual: self.key_packages.len(),
                max: MAX_KEY_PACKAGES,
            });
        }
        if let Some(long) = self
            .key_packages
            .iter()
            .find(|k| k.len() > MAX_KEY_PACKAGE_REF_BYTES)
        {
            return Err(BuildError::KeyPackageRefTooLong {
                actual: long.len(),
                max: MAX_KEY_PACKAGE_REF_BYTES,
            });
        }
        let name = keys.ipns().name();
        let mut seen = std::collections::BTreeSet::new();
        for g in &self.devices {
            if *g.request().identity() != name {
                return Err(BuildError::ForeignGrant(g.device_wallet()));
            }
            if !seen.insert(g.device_wallet()) {
                return Err(BuildError::DuplicateDevice(g.device_wallet()));
            }
        }
        let expires_at = self
            .created_at
            .checked_add(self.lifetime)
            .filter(|e| *e > self.created_at)
            .ok_or(BuildError::InvalidLifetime)?;
        let public = keys.public();
        let (approved_by, authority_sha256) = approved
            .map(|(w, digest)| (w.to_bytes().to_vec(), digest))
            .unwrap_or_default();
        Ok(DocumentBody {
            version: DOCUMENT_VERSION,
            wallet: public.wallet.to_bytes().to_vec(),
            ipns_public_key: public.ipns.to_bytes().to_vec(),
            dm_public_key: public.dm.to_bytes().to_vec(),
            epoch: public.epoch.get(),
            created_at: self.created_at.unix_nanos(),
            expires_at: expires_at.unix_nanos(),
            devices: self.devices.iter().map(DeviceGrant::to_pb).collect(),
            key_packages: self.key_packages,
            approved_by,
            authority_sha256,
        })
    }
}

/// Signs `body` with the IPNS key and wraps it with the wallet's signature
/// (and, for a document a device approved, its authority).
fn finish(
    keys: &IdentityKeys,
    body: Vec<u8>,
    wallet_signature: Vec<u8>,
    authority: Vec<u8>,
) -> Result<Vec<u8>, BuildError> {
    let ipns_signature = keys.ipns().sign(&ipns_message(&body));
    let signed = SignedDocumentPb {
        body,
        wallet_signature,
        ipns_signature: ipns_signature.to_vec(),
        authority,
    }
    .encode_to_vec();
    if signed.len() > MAX_DOCUMENT_BYTES {
        return Err(BuildError::TooLarge {
            actual: signed.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    Ok(signed)
}
