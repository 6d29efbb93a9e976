//! Building and signing identity documents.

use std::time::Duration;

use prost::Message as _;

use super::proto::{DocumentBody, SignedDocumentPb};
use super::{
    DOCUMENT_VERSION, DeviceGrant, MAX_DEVICES, MAX_DOCUMENT_BYTES, MAX_KEY_PACKAGE_REF_BYTES,
    MAX_KEY_PACKAGES, ipns_message, wallet_message,
};
use crate::derive::IdentityKeys;
use crate::time::Timestamp;
use crate::wallet::{SignError, WalletAddress, WalletSigner};

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
        let body = DocumentBody {
            version: DOCUMENT_VERSION,
            wallet: public.wallet.to_bytes().to_vec(),
            ipns_public_key: public.ipns.to_bytes().to_vec(),
            dm_public_key: public.dm.to_bytes().to_vec(),
            epoch: public.epoch.get(),
            created_at: self.created_at.unix_nanos(),
            expires_at: expires_at.unix_nanos(),
            devices: self.devices.iter().map(DeviceGrant::to_pb).collect(),
            key_packages: self.key_packages,
        }
        .encode_to_vec();
        let wallet_msg = wallet_message(&public.wallet, &name, public.epoch.get(), &body);
        let wallet_signature = wallet.sign_message(&wallet_msg)?;
        if !public.wallet.verify(&wallet_msg, &wallet_signature) {
            return Err(BuildError::BadWalletSignature);
        }
        let ipns_signature = keys.ipns().sign(&ipns_message(&body));
        let signed = SignedDocumentPb {
            body,
            wallet_signature: wallet_signature.as_bytes().to_vec(),
            ipns_signature: ipns_signature.to_vec(),
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
}
