//! The local member's signing key, as openmls' `Signer`.

use kaichi_identity::{IpnsKeypair, IpnsName};
use openmls::prelude::{BasicCredential, CredentialWithKey};
use openmls_traits::signatures::{Signer, SignerError};
use openmls_traits::types::SignatureScheme;

/// Who the local member is in groups: its IPNS name and the Ed25519 key its
/// leaves sign with (the identity's own IPNS key, or a granted device key).
#[derive(Debug)]
pub struct MemberSigner {
    name: IpnsName,
    key: IpnsKeypair,
}

impl MemberSigner {
    /// The identity itself: the name is the key's.
    pub fn identity(key: IpnsKeypair) -> Self {
        Self {
            name: key.name(),
            key,
        }
    }

    /// A device of `identity` signing with its own key (which that
    /// identity's document must grant for other members to accept it).
    pub fn device(identity: IpnsName, key: IpnsKeypair) -> Self {
        Self {
            name: identity,
            key,
        }
    }

    /// The identity's IPNS name.
    pub fn name(&self) -> IpnsName {
        self.name
    }

    /// The leaf signature public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.public().to_bytes()
    }

    /// The Ed25519 key pair as `seed || public key` (what mls-rs' RustCrypto
    /// provider takes as a signature secret key).
    pub(crate) fn keypair_bytes(&self) -> zeroize::Zeroizing<[u8; 64]> {
        let mut out = zeroize::Zeroizing::new([0u8; 64]);
        out[..32].copy_from_slice(&*self.key.seed());
        out[32..].copy_from_slice(&self.public_key());
        out
    }

    /// The credential and key that go into this member's leaves.
    pub(crate) fn credential(&self) -> CredentialWithKey {
        CredentialWithKey {
            credential: BasicCredential::new(self.name.to_string().into_bytes()).into(),
            signature_key: self.public_key().to_vec().into(),
        }
    }
}

impl Signer for MemberSigner {
    fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.key.sign(payload).to_vec())
    }

    fn signature_scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}
