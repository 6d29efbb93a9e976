//! BIP39 seed phrases and SLIP-0010 Ed25519 derivation (Solana's wallets).

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;
use zeroize::Zeroizing;

/// Hardened index bit.
const HARDENED: u32 = 0x8000_0000;
/// Deepest path accepted (BIP44 uses five levels).
const MAX_DEPTH: usize = 8;

/// A seed phrase or derivation path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeedPhraseError {
    /// Not a valid English BIP39 mnemonic (unknown word, wrong word count or
    /// bad checksum). The phrase itself is never included.
    #[error("invalid BIP39 seed phrase: {0}")]
    InvalidMnemonic(String),
    /// The derivation path is not of the form `m/44'/501'/0'/0'`.
    #[error("invalid derivation path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given (truncated).
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A SLIP-0010 derivation path. Ed25519 supports only hardened indices.
///
/// The default is Solana's `m/44'/501'/0'/0'` (Phantom, Solflare, Backpack,
/// and `solana-keygen ... prompt://?key=0/0`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// `m/44'/501'/account'/change'`.
    pub fn solana(account: u32, change: u32) -> Result<Self, SeedPhraseError> {
        if account >= HARDENED || change >= HARDENED {
            return Err(SeedPhraseError::InvalidPath {
                path: format!("m/44'/501'/{account}'/{change}'"),
                reason: "index out of range",
            });
        }
        Ok(Self(vec![44, 501, account, change]))
    }

    /// The (unhardened) indices.
    pub fn indices(&self) -> &[u32] {
        &self.0
    }

    /// Derives the 32-byte Ed25519 seed at this path from a BIP39 seed.
    pub fn derive(&self, seed: &[u8]) -> Zeroizing<[u8; 32]> {
        let (mut key, mut chain) = hmac512(b"ed25519 seed", &[seed]);
        for index in &self.0 {
            let ser = (index | HARDENED).to_be_bytes();
            let (k, c) = hmac512(chain.as_ref(), &[&[0u8], key.as_ref(), &ser]);
            key = k;
            chain = c;
        }
        key
    }
}

impl Default for DerivationPath {
    fn default() -> Self {
        Self(vec![44, 501, 0, 0])
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for i in &self.0 {
            write!(f, "/{i}'")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DerivationPath({self})")
    }
}

impl FromStr for DerivationPath {
    type Err = SeedPhraseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| SeedPhraseError::InvalidPath {
            path: s.chars().take(64).collect(),
            reason,
        };
        let mut parts = s.split('/');
        if parts.next() != Some("m") {
            return Err(bad("must start with m/"));
        }
        let mut out = Vec::new();
        for part in parts {
            let digits = part
                .strip_suffix('\'')
                .or_else(|| part.strip_suffix('h'))
                .ok_or_else(|| bad("Ed25519 (SLIP-0010) supports hardened indices only"))?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("index is not a number"));
            }
            let index: u32 = digits.parse().map_err(|_| bad("index out of range"))?;
            if index >= HARDENED {
                return Err(bad("index out of range"));
            }
            out.push(index);
            if out.len() > MAX_DEPTH {
                return Err(bad("path too deep"));
            }
        }
        Ok(Self(out))
    }
}

/// HMAC-SHA512 split into (left, right) halves, both secret.
fn hmac512(key: &[u8], parts: &[&[u8]]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    let out: Zeroizing<[u8; 64]> = Zeroizing::new(mac.finalize().into_bytes().into());
    let mut left = Zeroizing::new([0u8; 32]);
    let mut right = Zeroizing::new([0u8; 32]);
    left.copy_from_slice(&out[..32]);
    right.copy_from_slice(&out[32..]);
    (left, right)
}

/// Checks and normalises an English BIP39 phrase and returns its 64-byte
/// seed for `passphrase` (NFKD-normalised, as BIP39 specifies).
pub(crate) fn bip39_seed(
    phrase: &str,
    passphrase: &str,
) -> Result<Zeroizing<[u8; 64]>, SeedPhraseError> {
    let lowered = Zeroizing::new(phrase.trim().to_lowercase());
    let mnemonic = bip39::Mnemonic::parse_in(bip39::Language::English, lowered.as_str())
        .map_err(|e| SeedPhraseError::InvalidMnemonic(describe(&e)))?;
    Ok(Zeroizing::new(mnemonic.to_seed(passphrase)))
}

/// Describes a mnemonic error without echoing any word of the phrase.
fn describe(e: &bip39::Error) -> String {
    match e {
        bip39::Error::BadWordCount(n) => format!("{n} words (expected 12, 15, 18, 21 or 24)"),
        bip39::Error::UnknownWord(i) => format!("word {} is not in the English list", i + 1),
        bip39::Error::InvalidChecksum => {
            "checksum mismatch (a word is wrong or out of order)".into()
        }
        _ => "malformed phrase".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// SLIP-0010 test vector 1 for ed25519 (seed 000102...0f).
    #[test]
    fn slip10_vector_1() {
        let seed = unhex("000102030405060708090a0b0c0d0e0f");
        let cases = [
            (
                "m",
                "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
            ),
            (
                "m/0'",
                "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
            ),
            (
                "m/0'/1'",
                "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
            ),
            (
                "m/0'/1'/2'/2'/1000000000'",
                "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
            ),
        ];
        for (path, key) in cases {
            let p: DerivationPath = path.parse().unwrap();
            assert_eq!(p.derive(&seed).to_vec(), unhex(key), "{path}");
        }
    }

    #[test]
    fn paths_parse_and_print() {
        let p: DerivationPath = "m/44'/501'/0'/0'".parse().unwrap();
        assert_eq!(p, DerivationPath::default());
        assert_eq!(p.to_string(), "m/44'/501'/0'/0'");
        assert_eq!(
            "m/44h/501h".parse::<DerivationPath>().unwrap().indices(),
            &[44, 501]
        );
        for bad in [
            "",
            "44'/501'",
            "m/44",
            "m/x'",
            "m/4294967295'",
            "m//0'",
            "m/-1'",
        ] {
            assert!(bad.parse::<DerivationPath>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bip39_reference_vector() {
        // BIP39 reference vector (Trezor): "abandon" x11 + "about", passphrase TREZOR.
        let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let seed = bip39_seed(phrase, "TREZOR").unwrap();
        assert_eq!(
            seed.to_vec(),
            unhex(
                "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
            )
        );
        let err = bip39_seed("abandon abandon", "").unwrap_err();
        assert!(!err.to_string().contains("abandon"));
        assert!(bip39_seed(&phrase.replace("about", "abandon"), "").is_err());
    }
}
