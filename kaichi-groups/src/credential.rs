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
    identity_name(basic.identity())
}

/// The IPNS name a basic credential's identity bytes hold (UTF-8 `k51…`),
/// whichever MLS engine parsed the credential.
pub fn identity_name(identity: &[u8]) -> Result<IpnsName, CredentialError> {
    std::str::from_utf8(identity)
        .ok()
        .and_then(|s| s.parse::<IpnsName>().ok())
        .ok_or(CredentialError::NotAName)
}

/// Checks that a basic credential's `identity` (an IPNS name) binds a
/// leaf's `signature_key`: the name's own key, or a device key `devices`
/// vouches for. The engine-neutral form of [`verify_binding`].
pub fn bind_identity(
    identity: &[u8],
    signature_key: &[u8],
    devices: &(impl DeviceDirectory + ?Sized),
) -> Result<IpnsName, CredentialError> {
    bind_name(identity_name(identity)?, signature_key, devices)
}

fn bind_name(
    name: IpnsName,
    signature_key: &[u8],
    devices: &(impl DeviceDirectory + ?Sized),
) -> Result<IpnsName, CredentialError> {
    // The common case by byte comparison: no curve point is decompressed
    // (joining a 10,000-member group checks 10,000 leaves).
    if inlined_key(&name).is_some_and(|k| k.as_slice() == signature_key) {
        return Ok(name);
    }
    let key = IpnsPublicKey::from_bytes(signature_key).map_err(|_| CredentialError::BadKey)?;
    if devices.is_device_of(&name, &key) {
        Ok(name)
    } else {
        Err(CredentialError::Unbound(name))
    }
}

/// Checks that `signature_key` may sign for the credential's name; returns the name.
pub fn verify_binding(
    credential: &Credential,
    signature_key: &[u8],
    devices: &(impl DeviceDirectory + ?Sized),
) -> Result<IpnsName, CredentialError> {
    bind_name(credential_name(credential)?, signature_key, devices)
}

/// The Ed25519 key bytes an IPNS name inlines: the name is the identity
/// multihash of the protobuf `PublicKey { Type: Ed25519, Data: key }`.
fn inlined_key(name: &IpnsName) -> Option<[u8; 32]> {
    const PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    let bytes = name.to_bytes();
    match bytes.split_at_checked(PREFIX.len()) {
        Some((prefix, key)) if prefix == PREFIX => key.try_into().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_inlined_key_is_the_names_key() {
        let k = kaichi_identity::IpnsKeypair::from_seed(&[7; 32]);
        assert_eq!(inlined_key(&k.name()), Some(k.public().to_bytes()));
        assert_eq!(
            k.name().inlined_ed25519().unwrap().to_bytes(),
            k.public().to_bytes()
        );
    }
}
