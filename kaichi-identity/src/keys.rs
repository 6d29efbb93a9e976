//! Key newtypes: the IPNS Ed25519 key, the X25519 DM key and the local storage key.
//!
//! Secrets zeroize on drop, print as `Name(..)` and compare in constant time.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::{hex, parse_hex_array};
use crate::name::IpnsName;

/// A key was malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key had the wrong number of bytes.
    #[error("{kind} must be {expected} bytes, got {actual}")]
    WrongLength {
        /// Which key.
        kind: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The bytes are not a valid Ed25519 point.
    #[error("not a valid Ed25519 public key")]
    InvalidEd25519Point,
    /// The bytes are not hex.
    #[error("{kind} is not {expected} bytes of hex")]
    NotHex {
        /// Which key.
        kind: &'static str,
        /// Bytes expected.
        expected: usize,
    },
}

/// The Ed25519 key pair behind an identity's IPNS name. Also the identity's
/// libp2p host key, so the node's PeerId is the user's IPNS name.
#[derive(Clone, ZeroizeOnDrop)]
pub struct IpnsKeypair(SigningKey);

impl IpnsKeypair {
    /// From a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed (a secret; wrapped so the copy zeroizes too).
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> IpnsPublicKey {
        IpnsPublicKey(self.0.verifying_key())
    }

    /// The IPNS name this key publishes under.
    pub fn name(&self) -> IpnsName {
        self.public().name()
    }

    /// Signs `message` (callers add their own domain prefix).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// This key as a libp2p keypair, for the transport's host identity.
    pub fn to_libp2p(&self) -> Result<libp2p_identity::Keypair, KeyError> {
        let mut seed = self.0.to_bytes();
        // `ed25519_from_bytes` zeroizes the buffer it is given.
        let result = libp2p_identity::Keypair::ed25519_from_bytes(&mut seed).map_err(|_| {
            KeyError::WrongLength {
                kind: "Ed25519 seed",
                expected: 32,
                actual: 32,
            }
        });
        seed.zeroize();
        result
    }
}

impl fmt::Debug for IpnsKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IpnsKeypair({})", self.name())
    }
}

impl PartialEq for IpnsKeypair {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}
impl Eq for IpnsKeypair {}

/// The public half of an [`IpnsKeypair`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpnsPublicKey(VerifyingKey);

impl IpnsPublicKey {
    /// From the 32 raw bytes; rejects bytes that are not a valid point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::WrongLength {
            kind: "IPNS public key",
            expected: 32,
            actual: bytes.len(),
        })?;
        VerifyingKey::from_bytes(&arr)
            .map(Self)
            .map_err(|_| KeyError::InvalidEd25519Point)
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The IPNS name (PeerId) of this key.
    pub fn name(&self) -> IpnsName {
        IpnsName::from_ed25519(self)
    }

    /// Verifies an Ed25519 signature strictly (no malleable encodings).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.0.verify_strict(message, &sig).is_ok()
    }

    /// This key as a libp2p public key.
    pub fn to_libp2p(&self) -> libp2p_identity::PublicKey {
        // The bytes come from a validated `VerifyingKey`; libp2p performs the
        // same point check, so this conversion cannot fail.
        #[allow(clippy::expect_used)]
        let ed = libp2p_identity::ed25519::PublicKey::try_from_bytes(self.0.as_bytes())
            .expect("a validated Ed25519 point is accepted by libp2p");
        libp2p_identity::PublicKey::from(ed)
    }
}

impl fmt::Debug for IpnsPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IpnsPublicKey({})", hex(&self.to_bytes()))
    }
}

/// The X25519 static secret used for direct messages and sealed grants.
#[derive(Clone, ZeroizeOnDrop)]
pub struct DmSecret(x25519_dalek::StaticSecret);

impl DmSecret {
    /// From 32 secret bytes (clamped by X25519 when used).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(x25519_dalek::StaticSecret::from(bytes))
    }

    /// The secret bytes, wrapped so the copy zeroizes.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> DmPublicKey {
        DmPublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// X25519 with `their` public key. The result is a secret.
    pub fn diffie_hellman(&self, their: &DmPublicKey) -> Zeroizing<[u8; 32]> {
        let shared = self
            .0
            .diffie_hellman(&x25519_dalek::PublicKey::from(their.0));
        Zeroizing::new(shared.to_bytes())
    }
}

impl fmt::Debug for DmSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DmSecret(..)")
    }
}

impl PartialEq for DmSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}
impl Eq for DmSecret {}

/// An X25519 public key for direct messages. Displays as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DmPublicKey([u8; 32]);

impl DmPublicKey {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| KeyError::WrongLength {
                kind: "DM public key",
                expected: 32,
                actual: bytes.len(),
            })
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The raw bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for DmPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for DmPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DmPublicKey({self})")
    }
}

impl FromStr for DmPublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex_array::<32>(s).map(Self).ok_or(KeyError::NotHex {
            kind: "DM public key",
            expected: 32,
        })
    }
}

/// The key that encrypts this identity's local data at rest.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// From 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The secret bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl PartialEq for StoreKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for StoreKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let seed = [7u8; 32];
        let k = IpnsKeypair::from_seed(&seed);
        let dm = DmSecret::from_bytes([9u8; 32]);
        let st = StoreKey::from_bytes([11u8; 32]);
        for s in [format!("{k:?}"), format!("{dm:?}"), format!("{st:?}")] {
            assert!(!s.contains("0707"), "{s}");
            assert!(!s.contains("0909"), "{s}");
            assert!(!s.contains("0b0b"), "{s}");
            assert!(!s.contains("[7,") && !s.contains("[9,") && !s.contains("[11,"));
        }
        assert_eq!(format!("{dm:?}"), "DmSecret(..)");
    }

    #[test]
    fn dm_public_key_round_trips_through_hex() {
        let pk = DmSecret::from_bytes([1u8; 32]).public();
        assert_eq!(pk.to_string().parse::<DmPublicKey>().unwrap(), pk);
        assert!("zz".parse::<DmPublicKey>().is_err());
    }

    #[test]
    fn x25519_agreement_is_symmetric() {
        let a = DmSecret::from_bytes([1u8; 32]);
        let b = DmSecret::from_bytes([2u8; 32]);
        assert_eq!(
            *a.diffie_hellman(&b.public()),
            *b.diffie_hellman(&a.public())
        );
    }

    #[test]
    fn libp2p_key_matches() {
        let k = IpnsKeypair::from_seed(&[3u8; 32]);
        let peer = k.to_libp2p().unwrap().public().to_peer_id();
        assert_eq!(peer, *k.name().peer_id());
    }
}
