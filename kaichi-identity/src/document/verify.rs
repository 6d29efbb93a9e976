//! Verifying identity documents.

use prost::Message as _;

use super::proto::{DocumentBody, SignedDocumentPb};
use super::{
    DOCUMENT_VERSION, DeviceGrant, MAX_CLOCK_SKEW, MAX_DEVICES, MAX_DOCUMENT_BYTES,
    MAX_KEY_PACKAGE_REF_BYTES, MAX_KEY_PACKAGES, OpenGrantError, RequestError, ipns_message,
    wallet_message,
};
use crate::derive::{IdentityKeys, IdentityPublic, KeyEpoch};
use crate::keys::{DmPublicKey, IpnsPublicKey};
use crate::name::IpnsName;
use crate::time::Timestamp;
use crate::wallet::{WalletAddress, WalletSignature};

/// A document failed verification; the variant names the violation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Over the size limit.
    #[error("document is {actual} bytes, over {max}")]
    TooLarge {
        /// Bytes given.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Not the document protobuf.
    #[error("not an identity document: {0}")]
    Malformed(String),
    /// A version this crate does not read.
    #[error("unsupported document version: expected {expected}, got {actual}")]
    UnsupportedVersion {
        /// The version supported.
        expected: u32,
        /// The version found.
        actual: u32,
    },
    /// A field has the wrong length or is not a valid key.
    #[error("document field {0} is invalid")]
    InvalidField(&'static str),
    /// The wallet's signature does not verify.
    #[error("the wallet signature does not verify for {0}")]
    BadWalletSignature(WalletAddress),
    /// The IPNS key's signature does not verify.
    #[error("the IPNS key signature does not verify for {0}")]
    BadIpnsSignature(IpnsName),
    /// `expires_at` is not after `created_at`.
    #[error("document expires ({expires_at}) before it is created ({created_at})")]
    InvalidLifetime {
        /// Creation time.
        created_at: Timestamp,
        /// Expiry time.
        expires_at: Timestamp,
    },
    /// Created further in the future than clock skew explains.
    #[error("document is created at {created_at}, in the future (now {now})")]
    NotYetValid {
        /// Creation time.
        created_at: Timestamp,
        /// The time checked against.
        now: Timestamp,
    },
    /// Expired.
    #[error("document expired at {expires_at} (now {now})")]
    Expired {
        /// Expiry time.
        expires_at: Timestamp,
        /// The time checked against.
        now: Timestamp,
    },
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
    /// A device grant is malformed or its request signature is bad.
    #[error("device grant {index}: {source}")]
    BadGrant {
        /// Position in the list.
        index: usize,
        /// Why.
        source: RequestError,
    },
    /// A grant names another identity.
    #[error("device grant {index} is for identity {requested}")]
    ForeignGrant {
        /// Position in the list.
        index: usize,
        /// The identity it names.
        requested: IpnsName,
    },
    /// The primary wallet is listed as a device.
    #[error("the primary wallet is listed as its own device")]
    DeviceIsPrimary,
    /// A device is listed twice.
    #[error("device {0} is listed twice")]
    DuplicateDevice(WalletAddress),
    /// The document belongs to another wallet than expected.
    #[error("document is for wallet {actual}, expected {expected}")]
    WalletMismatch {
        /// The wallet looked up.
        expected: WalletAddress,
        /// The wallet in the document.
        actual: WalletAddress,
    },
    /// A document a device approved names a device the authority does not
    /// let approve.
    #[error("{0} may not approve devices for this identity")]
    NotAnApprover(WalletAddress),
    /// A document a device approved carries an authority that does not
    /// verify, or is not signed by the primary wallet.
    #[error("the approving device's authority: {0}")]
    BadAuthority(Box<DocumentError>),
    /// A document a device approved does not agree with its authority.
    #[error("a document a device approved does not agree with its authority: {0}")]
    AuthorityMismatch(&'static str),
    /// A document a device approved adds, removes or changes an approver
    /// (only the primary wallet does that).
    #[error("only the primary wallet adds, removes or changes approver {0}")]
    ApproverChanged(WalletAddress),
    /// The document is for another IPNS name than expected.
    #[error("document is for IPNS name {actual}, expected {expected}")]
    NameMismatch {
        /// The name looked up.
        expected: Box<IpnsName>,
        /// The name in the document.
        actual: Box<IpnsName>,
    },
}

/// An identity document that passed [`verify_document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDocument {
    public: IdentityPublic,
    created_at: Timestamp,
    expires_at: Timestamp,
    devices: Vec<DeviceGrant>,
    key_packages: Vec<Vec<u8>>,
    /// Set in a document a device approved.
    pub(super) delegation: Option<super::delegation::Delegation>,
}

/// Verifies a serialized identity document at time `now`: both signatures,
/// every field, the lifetime and every device grant; for a document a
/// device approved, also its authority (see [`super::DocumentVersion`]).
pub fn verify_document(bytes: &[u8], now: Timestamp) -> Result<VerifiedDocument, DocumentError> {
    let (signed, body) = decode(bytes)?;
    if signed.authority.is_empty() {
        if !body.approved_by.is_empty() || !body.authority_sha256.is_empty() {
            return Err(DocumentError::InvalidField("approved_by"));
        }
        verify_parts(&signed, &body, now, |wallet, name| {
            let signature = WalletSignature::try_from_slice(&signed.wallet_signature)
                .map_err(|_| DocumentError::InvalidField("wallet_signature"))?;
            if wallet.verify(
                &wallet_message(wallet, name, body.epoch, &signed.body),
                &signature,
            ) {
                Ok(())
            } else {
                Err(DocumentError::BadWalletSignature(*wallet))
            }
        })
    } else {
        super::delegation::verify_delegated(&signed, &body, now)
    }
}

/// The envelope and the body, within the size bound.
fn decode(bytes: &[u8]) -> Result<(SignedDocumentPb, DocumentBody), DocumentError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge {
            actual: bytes.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    let signed =
        SignedDocumentPb::decode(bytes).map_err(|e| DocumentError::Malformed(e.to_string()))?;
    let body = DocumentBody::decode(signed.body.as_slice())
        .map_err(|e| DocumentError::Malformed(e.to_string()))?;
    Ok((signed, body))
}

/// Everything but the wallet's signature, which `wallet_check` verifies
/// (given the primary wallet and the IPNS name) after the keys are read.
pub(super) fn verify_parts(
    signed: &SignedDocumentPb,
    body: &DocumentBody,
    now: Timestamp,
    wallet_check: impl FnOnce(&WalletAddress, &IpnsName) -> Result<(), DocumentError>,
) -> Result<VerifiedDocument, DocumentError> {
    if body.version != DOCUMENT_VERSION {
        return Err(DocumentError::UnsupportedVersion {
            expected: DOCUMENT_VERSION,
            actual: body.version,
        });
    }
    let wallet = WalletAddress::try_from_slice(&body.wallet)
        .map_err(|_| DocumentError::InvalidField("wallet"))?;
    let ipns = IpnsPublicKey::from_bytes(&body.ipns_public_key)
        .map_err(|_| DocumentError::InvalidField("ipns_public_key"))?;
    let dm = DmPublicKey::from_bytes(&body.dm_public_key)
        .map_err(|_| DocumentError::InvalidField("dm_public_key"))?;
    let name = ipns.name();
    wallet_check(&wallet, &name)?;
    if !ipns.verify(&ipns_message(&signed.body), &signed.ipns_signature) {
        return Err(DocumentError::BadIpnsSignature(name));
    }

    let created_at = Timestamp::from_unix_nanos(body.created_at);
    let expires_at = Timestamp::from_unix_nanos(body.expires_at);
    if expires_at <= created_at {
        return Err(DocumentError::InvalidLifetime {
            created_at,
            expires_at,
        });
    }
    if now
        .checked_add(MAX_CLOCK_SKEW)
        .is_some_and(|limit| created_at > limit)
    {
        return Err(DocumentError::NotYetValid { created_at, now });
    }
    if now >= expires_at {
        return Err(DocumentError::Expired { expires_at, now });
    }

    if body.devices.len() > MAX_DEVICES {
        return Err(DocumentError::TooMany {
            what: "devices",
            actual: body.devices.len(),
            max: MAX_DEVICES,
        });
    }
    if body.key_packages.len() > MAX_KEY_PACKAGES {
        return Err(DocumentError::TooMany {
            what: "key packages",
            actual: body.key_packages.len(),
            max: MAX_KEY_PACKAGES,
        });
    }
    if body
        .key_packages
        .iter()
        .any(|k| k.is_empty() || k.len() > MAX_KEY_PACKAGE_REF_BYTES)
    {
        return Err(DocumentError::InvalidField("key_packages"));
    }
    let mut devices = Vec::with_capacity(body.devices.len());
    let mut seen = std::collections::BTreeSet::new();
    for (index, pb) in body.devices.iter().enumerate() {
        let grant =
            DeviceGrant::from_pb(pb).map_err(|source| DocumentError::BadGrant { index, source })?;
        if *grant.request().identity() != name {
            return Err(DocumentError::ForeignGrant {
                index,
                requested: *grant.request().identity(),
            });
        }
        if grant.device_wallet() == wallet {
            return Err(DocumentError::DeviceIsPrimary);
        }
        if !seen.insert(grant.device_wallet()) {
            return Err(DocumentError::DuplicateDevice(grant.device_wallet()));
        }
        devices.push(grant);
    }

    Ok(VerifiedDocument {
        public: IdentityPublic {
            wallet,
            epoch: KeyEpoch::new(body.epoch),
            ipns,
            dm,
        },
        created_at,
        expires_at,
        devices,
        key_packages: body.key_packages.clone(),
        delegation: None,
    })
}

impl VerifiedDocument {
    /// Also requires the document to belong to `expected` (the wallet that
    /// was looked up).
    pub fn for_wallet(self, expected: &WalletAddress) -> Result<Self, DocumentError> {
        if self.public.wallet == *expected {
            Ok(self)
        } else {
            Err(DocumentError::WalletMismatch {
                expected: *expected,
                actual: self.public.wallet,
            })
        }
    }

    /// Also requires the document to be for IPNS name `expected`.
    pub fn for_name(self, expected: &IpnsName) -> Result<Self, DocumentError> {
        let actual = self.public.ipns_name();
        if actual == *expected {
            Ok(self)
        } else {
            Err(DocumentError::NameMismatch {
                expected: Box::new(*expected),
                actual: Box::new(actual),
            })
        }
    }

    /// The identity's public keys.
    pub fn public(&self) -> &IdentityPublic {
        &self.public
    }

    /// Creation time.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// Expiry time.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// Granted devices.
    pub fn devices(&self) -> &[DeviceGrant] {
        &self.devices
    }

    /// The grant for `device`, if listed.
    pub fn grant_for(&self, device: &WalletAddress) -> Option<&DeviceGrant> {
        self.devices.iter().find(|g| g.device_wallet() == *device)
    }

    /// Whether `key` may sign entries for this identity: the identity's IPNS
    /// key or the signing key of a granted device.
    pub fn is_authorised_signer(&self, key: &IpnsPublicKey) -> bool {
        self.public.ipns == *key
            || self
                .devices
                .iter()
                .any(|g| g.request().signing_key() == *key)
    }

    /// Whether `wallet` may author for this identity (the owner or a granted device).
    pub fn is_authorised(&self, wallet: &WalletAddress) -> bool {
        self.public.wallet == *wallet || self.grant_for(wallet).is_some()
    }

    /// MLS KeyPackage references (CID bytes).
    pub fn key_packages(&self) -> &[Vec<u8>] {
        &self.key_packages
    }

    /// Opens this device's grant with the device's own keys (derived from
    /// its own wallet) and returns the identity's keys for this device: the
    /// shared IPNS and DM secrets, and the device's own storage key.
    pub fn open_grant(&self, device: &IdentityKeys) -> Result<IdentityKeys, OpenGrantError> {
        let grant = self
            .grant_for(&device.wallet())
            .ok_or(OpenGrantError::NoGrant(device.wallet()))?;
        let name = self.public.ipns_name();
        let (ipns, dm) = grant.open(device, self.public.wallet, &name, self.public.epoch)?;
        if ipns.public() != self.public.ipns {
            return Err(OpenGrantError::SecretMismatch("IPNS"));
        }
        if dm.public() != self.public.dm {
            return Err(OpenGrantError::SecretMismatch("DM"));
        }
        Ok(IdentityKeys::from_parts(
            self.public.wallet,
            self.public.epoch,
            ipns,
            dm,
            device.store().clone(),
        ))
    }
}
