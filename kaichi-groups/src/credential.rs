//! Self-certifying credentials: a leaf's identity is an IPNS name, and its
//! signature key must be the key that name encodes, or a device key the
//! identity granted.

use kaichi_identity::{IpnsName, IpnsPublicKey};
use openmls::prelude::{BasicCredential, Credential};

/// A credential does not bind its leaf to a Kaichi identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Not a basic credential.
    #[error("not a basic credential")]
    NotBasic,
    /// The identity is not an IPNS name.
    #[error("the credential's identity is not an IPNS name")]
    NotAName,
    /// The signature key is not an Ed25519 key.
    #[error("the leaf's signature key is not an Ed25519 key")]
    BadKey,
    /// The key is neither the name's nor a device key granted to it.
    #[error("{0}: the leaf's signature key is neither this name's key nor a granted device key")]
    Unbound(IpnsName),
}

/// Answers whether a key is a device key an identity granted (from its
/// verified identity document). The common case, a leaf signing with the
/// identity's own key, needs no directory.
pub trait DeviceDirectory {
    /// Whether `identity`'s document grants `key` as a device signing key.
    fn is_device_of(&self, identity: &IpnsName, key: &IpnsPublicKey) -> bool;
}

/// No device keys known: only identities' own keys are accepted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDevices;

impl DeviceDirectory for NoDevices {
    fn is_device_of(&self, _: &IpnsName, _: &IpnsPublicKey) -> bool {
        false
    }
}

impl DeviceDirectory for [kaichi_identity::document::VerifiedDocument] {
    fn is_device_of(&self, identity: &IpnsName, key: &IpnsPublicKey) -> bool {
        self.iter()
            .any(|d| d.public().ipns_name() == *identity && d.is_authorised_signer(key))
    }
}

/// The IPNS name a credential names, without checking the key.
pub fn credential_name(credential: &Credential) -> Result<IpnsName, CredentialError> {
    let basic =
        BasicCredential::try_from(credential.clone()).map_err(|_| CredentialError::NotBasic)?;
    std::str::from_utf8(basic.identity())
        .ok()
        .and_then(|s| s.parse::<IpnsName>().ok())
        .ok_or(CredentialError::NotAName)
}

/// Checks that `signature_key` may sign for the credential's name; returns the name.
pub fn verify_binding(
    credential: &Credential,
    signature_key: &[u8],
    devices: &(impl DeviceDirectory + ?Sized),
) -> Result<IpnsName, CredentialError> {
    let name = credential_name(credential)?;
    let key = IpnsPublicKey::from_bytes(signature_key).map_err(|_| CredentialError::BadKey)?;
    if name.inlined_ed25519() == Some(key) || devices.is_device_of(&name, &key) {
        Ok(name)
    } else {
        Err(CredentialError::Unbound(name))
    }
}
