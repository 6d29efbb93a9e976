//! Documents a device approved: signed by an approving device's wallet in
//! the primary wallet's place, carrying the primary-signed document that
//! lets the device approve (its *authority*), and how documents of one
//! identity are ordered ([`DocumentVersion`]).

use prost::Message as _;
use sha2::{Digest as _, Sha256};

use super::proto::{DocumentBody, SignedDocumentPb};
use super::verify::{DocumentError, VerifiedDocument, verify_document, verify_parts};
use crate::time::Timestamp;
use crate::wallet::{WalletAddress, WalletSignature};

/// What a document a device approved adds to its verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Delegation {
    /// The approving device's wallet.
    pub(super) by: WalletAddress,
    /// The primary-signed document it builds on.
    pub(super) authority: Vec<u8>,
    /// That document's creation time.
    pub(super) authority_created_at: Timestamp,
}

/// Where a document stands among the documents of its identity: first the
/// creation time of the primary-signed document it rests on (itself, or a
/// device-approved document's authority), then its own. A newer primary
/// document therefore comes after every document a device approved on an
/// older authority: a device whose approver right the primary revoked
/// cannot outdate the revocation, whatever time it writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentVersion {
    authority: Timestamp,
    created: Timestamp,
}

impl DocumentVersion {
    /// When the primary-signed document this one rests on was created.
    pub fn authority_created_at(&self) -> Timestamp {
        self.authority
    }

    /// When this document was created.
    pub fn created_at(&self) -> Timestamp {
        self.created
    }
}

impl VerifiedDocument {
    /// Its place among its identity's documents (newer is greater).
    pub fn version(&self) -> DocumentVersion {
        DocumentVersion {
            authority: self
                .delegation
                .as_ref()
                .map_or(self.created_at(), |d| d.authority_created_at),
            created: self.created_at(),
        }
    }

    /// Whether this document replaces `other` (a newer version).
    pub fn supersedes(&self, other: &VerifiedDocument) -> bool {
        self.version() > other.version()
    }

    /// The approving device's wallet, for a document a device approved
    /// (`None`: the primary wallet signed it).
    pub fn approved_by(&self) -> Option<WalletAddress> {
        self.delegation.as_ref().map(|d| d.by)
    }

    /// The primary-signed document a device-approved one rests on (`None`:
    /// this one is primary-signed). An approving device builds its next
    /// document on it.
    pub fn authority(&self) -> Option<&[u8]> {
        self.delegation.as_ref().map(|d| d.authority.as_slice())
    }
}

/// Verifies a document a device approved: its authority verifies and is
/// primary-signed, grants the device the approver right, is the one the
/// body names, holds the same keys, and came first; the device's wallet
/// signed; the approvers are those the authority lists, unchanged.
pub(super) fn verify_delegated(
    signed: &SignedDocumentPb,
    body: &DocumentBody,
    now: Timestamp,
) -> Result<VerifiedDocument, DocumentError> {
    // One level only: an authority carries no authority of its own.
    let nested = SignedDocumentPb::decode(signed.authority.as_slice()).map_err(|e| {
        DocumentError::BadAuthority(Box::new(DocumentError::Malformed(e.to_string())))
    })?;
    if !nested.authority.is_empty() {
        return Err(DocumentError::BadAuthority(Box::new(
            DocumentError::InvalidField("authority"),
        )));
    }
    let authority = verify_document(&signed.authority, now)
        .map_err(|e| DocumentError::BadAuthority(Box::new(e)))?;
    let by = WalletAddress::try_from_slice(&body.approved_by)
        .map_err(|_| DocumentError::InvalidField("approved_by"))?;
    if !authority.grant_for(&by).is_some_and(|g| g.is_approver()) {
        return Err(DocumentError::NotAnApprover(by));
    }
    if body.authority_sha256.as_slice() != Sha256::digest(&signed.authority).as_slice() {
        return Err(DocumentError::AuthorityMismatch("authority_sha256"));
    }
    let mut doc = verify_parts(signed, body, now, |wallet, name| {
        if *wallet != authority.public().wallet {
            return Err(DocumentError::AuthorityMismatch("wallet"));
        }
        let signature = WalletSignature::try_from_slice(&signed.wallet_signature)
            .map_err(|_| DocumentError::InvalidField("wallet_signature"))?;
        let message = super::device_wallet_message(&by, name, body.epoch, &signed.body);
        if by.verify(&message, &signature) {
            Ok(())
        } else {
            Err(DocumentError::BadWalletSignature(by))
        }
    })?;
    if doc.public() != authority.public() {
        return Err(DocumentError::AuthorityMismatch("keys"));
    }
    if doc.created_at() <= authority.created_at() {
        return Err(DocumentError::AuthorityMismatch(
            "created before its authority",
        ));
    }
    if doc.expires_at() > authority.expires_at() {
        return Err(DocumentError::AuthorityMismatch(
            "expires after its authority",
        ));
    }
    for g in authority.devices().iter().filter(|g| g.is_approver()) {
        if doc.grant_for(&g.device_wallet()) != Some(g) {
            return Err(DocumentError::ApproverChanged(g.device_wallet()));
        }
    }
    for g in doc.devices().iter().filter(|g| g.is_approver()) {
        if !authority
            .grant_for(&g.device_wallet())
            .is_some_and(|a| a.is_approver())
        {
            return Err(DocumentError::ApproverChanged(g.device_wallet()));
        }
    }
    doc.delegation = Some(Delegation {
        by,
        authority: signed.authority.clone(),
        authority_created_at: authority.created_at(),
    });
    Ok(doc)
}
