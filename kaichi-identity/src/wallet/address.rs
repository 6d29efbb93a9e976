//! Wallet addresses and signatures.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;
use solana_pubkey::Pubkey;

/// A wallet address or signature could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Not base58.
    #[error("not base58: {0}")]
    NotBase58(String),
    /// Decoded to the wrong number of bytes.
    #[error("{kind} must be {expected} bytes, got {actual}")]
    WrongLength {
        /// What was parsed.
        kind: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes decoded.
        actual: usize,
    },
}

/// A Solana wallet address: the wallet's 32-byte Ed25519 public key, shown
/// in base58 exactly as Solana tools print it.
///
/// Any 32 bytes form a Solana address (program-derived addresses are off the
/// curve); signature checks reject addresses that are not valid keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WalletAddress(Pubkey);

impl WalletAddress {
    /// From the 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Pubkey::new_from_array(bytes))
    }

    /// From a slice that must be exactly 32 bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, AddressError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self::from_bytes)
            .map_err(|_| AddressError::WrongLength {
                kind: "wallet address",
                expected: 32,
                actual: bytes.len(),
            })
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// As the solana-sdk type.
    pub fn to_pubkey(&self) -> Pubkey {
        self.0
    }

    /// Verifies a wallet signature over `message` (strict Ed25519, as the
    /// Solana runtime checks). False for addresses that are not curve points.
    pub fn verify(&self, message: &[u8], signature: &WalletSignature) -> bool {
        let Ok(vk) = VerifyingKey::from_bytes(self.0.as_array()) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        vk.verify_strict(message, &sig).is_ok()
    }
}

impl From<Pubkey> for WalletAddress {
    fn from(p: Pubkey) -> Self {
        Self(p)
    }
}

impl fmt::Display for WalletAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for WalletAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletAddress({})", self.0)
    }
}

impl FromStr for WalletAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // 32 bytes are at most 44 base58 characters; refuse long input early.
        if s.len() > 44 {
            return Err(AddressError::WrongLength {
                kind: "wallet address",
                expected: 32,
                actual: s.len() * 3 / 4,
            });
        }
        let bytes = bs58::decode(s)
            .into_vec()
            .map_err(|e| AddressError::NotBase58(e.to_string()))?;
        Self::try_from_slice(&bytes)
    }
}

/// A 64-byte Ed25519 signature made by a wallet.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalletSignature([u8; 64]);

impl WalletSignature {
    /// From the 64 raw bytes.
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// From a slice that must be exactly 64 bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, AddressError> {
        <[u8; 64]>::try_from(bytes)
            .map(Self)
            .map_err(|_| AddressError::WrongLength {
                kind: "wallet signature",
                expected: 64,
                actual: bytes.len(),
            })
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl From<solana_signature::Signature> for WalletSignature {
    fn from(s: solana_signature::Signature) -> Self {
        Self(s.into())
    }
}

impl fmt::Display for WalletSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl fmt::Debug for WalletSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletSignature({self})")
    }
}

impl FromStr for WalletSignature {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 88 {
            return Err(AddressError::WrongLength {
                kind: "wallet signature",
                expected: 64,
                actual: s.len() * 3 / 4,
            });
        }
        let bytes = bs58::decode(s)
            .into_vec()
            .map_err(|e| AddressError::NotBase58(e.to_string()))?;
        Self::try_from_slice(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_and_rejects_bad_input() {
        let a = WalletAddress::from_bytes([1u8; 32]);
        assert_eq!(a.to_string().parse::<WalletAddress>().unwrap(), a);
        assert!(matches!(
            "0OIl".parse::<WalletAddress>(),
            Err(AddressError::NotBase58(_))
        ));
        assert!(matches!(
            "3yZe7d".parse::<WalletAddress>(),
            Err(AddressError::WrongLength { actual: 4, .. })
        ));
        assert!("1".repeat(200).parse::<WalletAddress>().is_err());
    }

    #[test]
    fn signature_round_trips() {
        let s = WalletSignature::from_bytes([5u8; 64]);
        assert_eq!(s.to_string().parse::<WalletSignature>().unwrap(), s);
    }
}
