//! [`KeypairWallet`]: a wallet whose Ed25519 secret this process holds.

use std::fmt;

use solana_keypair::Keypair;
use solana_signer::Signer as _;
use zeroize::Zeroizing;

use super::seed_phrase::{DerivationPath, SeedPhraseError, bip39_seed};
use super::{SignError, WalletAddress, WalletSignature, WalletSigner};

/// The largest keypair file accepted. A solana-keygen file is at most 64
/// three-digit numbers with separators (~260 bytes); anything far larger is
/// not a keypair.
pub const MAX_KEYPAIR_FILE_BYTES: usize = 4096;

/// A wallet secret could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The input is larger than any keypair.
    #[error("keypair input is {actual} bytes, more than the {max} allowed")]
    TooLarge {
        /// Bytes given.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Not a JSON array of byte values.
    #[error("not a solana-keygen keypair file: {reason} at byte {offset}")]
    NotKeypairJson {
        /// What went wrong.
        reason: &'static str,
        /// Where.
        offset: usize,
    },
    /// The secret has the wrong number of bytes.
    #[error("a keypair is {expected} bytes, got {actual}")]
    WrongLength {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Not base58 text.
    #[error("the secret key is not base58")]
    NotBase58,
    /// The public half does not belong to the secret half.
    #[error("the public key in the keypair does not match its secret key")]
    PublicKeyMismatch,
    /// The seed phrase or path was rejected.
    #[error(transparent)]
    SeedPhrase(#[from] SeedPhraseError),
}

/// A Solana wallet held in memory (the solana-sdk [`Keypair`]). The secret
/// is zeroized on drop and never printed.
pub struct KeypairWallet(Keypair);

impl KeypairWallet {
    /// From a 32-byte Ed25519 secret seed (e.g. fresh randomness).
    pub fn from_secret_seed(seed: &[u8; 32]) -> Self {
        Self(Keypair::new_from_array(*seed))
    }

    /// Parses a solana-keygen keypair file: a JSON array of 64 numbers
    /// (32 secret bytes then the 32-byte public key).
    pub fn from_keypair_json(input: &[u8]) -> Result<Self, LoadError> {
        if input.len() > MAX_KEYPAIR_FILE_BYTES {
            return Err(LoadError::TooLarge {
                actual: input.len(),
                max: MAX_KEYPAIR_FILE_BYTES,
            });
        }
        let bytes = parse_byte_array(input)?;
        Self::from_keypair_bytes(&bytes)
    }

    /// From the 64 keypair bytes (secret seed then public key).
    pub fn from_keypair_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        if bytes.len() != 64 {
            return Err(LoadError::WrongLength {
                expected: 64,
                actual: bytes.len(),
            });
        }
        Keypair::try_from(bytes)
            .map(Self)
            .map_err(|_| LoadError::PublicKeyMismatch)
    }

    /// Parses a base58 secret key as Phantom, Solflare and Backpack export
    /// it (the 64 keypair bytes in base58).
    pub fn from_base58(text: &str) -> Result<Self, LoadError> {
        let text = text.trim();
        if text.len() > 128 {
            return Err(LoadError::TooLarge {
                actual: text.len(),
                max: 128,
            });
        }
        let mut buf = Zeroizing::new([0u8; 96]);
        let n = bs58::decode(text)
            .onto(&mut buf[..])
            .map_err(|_| LoadError::NotBase58)?;
        let bytes = buf.get(..n).ok_or(LoadError::NotBase58)?;
        Self::from_keypair_bytes(bytes)
    }

    /// From a BIP39 English seed phrase, optional passphrase, and a SLIP-0010
    /// path (use [`DerivationPath::default`] for Phantom's
    /// `m/44'/501'/0'/0'`).
    pub fn from_seed_phrase(
        phrase: &str,
        passphrase: &str,
        path: &DerivationPath,
    ) -> Result<Self, LoadError> {
        let seed = bip39_seed(phrase, passphrase)?;
        let key = path.derive(seed.as_ref());
        Ok(Self::from_secret_seed(&key))
    }

    /// From a seed phrase the way `solana-keygen new` and
    /// `solana-keygen recover` do without a derivation path: the first 32
    /// bytes of the BIP39 seed are the secret.
    pub fn from_seed_phrase_solana_keygen(
        phrase: &str,
        passphrase: &str,
    ) -> Result<Self, LoadError> {
        let seed = bip39_seed(phrase, passphrase)?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&seed[..32]);
        Ok(Self::from_secret_seed(&key))
    }

    /// The solana-keygen file form, `[n,n,...]` (a secret).
    pub fn to_keypair_json(&self) -> Zeroizing<String> {
        let bytes = Zeroizing::new(self.0.to_bytes());
        let mut out = Zeroizing::new(String::with_capacity(256));
        out.push('[');
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&b.to_string());
        }
        out.push(']');
        out
    }

    /// The base58 secret key form wallets import (a secret).
    pub fn to_base58(&self) -> Zeroizing<String> {
        let bytes = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(bs58::encode(bytes.as_ref()).into_string())
    }

    /// The solana-sdk keypair.
    pub fn keypair(&self) -> &Keypair {
        &self.0
    }
}

impl WalletSigner for KeypairWallet {
    fn address(&self) -> WalletAddress {
        WalletAddress::from(self.0.pubkey())
    }

    fn sign_message(&self, message: &[u8]) -> Result<WalletSignature, SignError> {
        Ok(WalletSignature::from(self.0.sign_message(message)))
    }
}

impl fmt::Debug for KeypairWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeypairWallet({})", self.address())
    }
}

/// Strictly parses `[n, n, ...]` with each `n` in 0..=255 (whitespace allowed
/// between tokens, nothing else).
fn parse_byte_array(input: &[u8]) -> Result<Zeroizing<Vec<u8>>, LoadError> {
    let err = |reason, offset| LoadError::NotKeypairJson { reason, offset };
    let mut out = Zeroizing::new(Vec::with_capacity(64));
    let mut i = skip_ws(input, 0);
    if input.get(i) != Some(&b'[') {
        return Err(err("expected '['", i));
    }
    i = skip_ws(input, i + 1);
    if input.get(i) == Some(&b']') {
        return finish(input, i + 1, out);
    }
    loop {
        let start = i;
        let mut value: u16 = 0;
        while let Some(d) = input.get(i).filter(|c| c.is_ascii_digit()) {
            value = value * 10 + u16::from(d - b'0');
            if value > 255 || i - start >= 3 {
                return Err(err("number out of the byte range 0..=255", start));
            }
            i += 1;
        }
        if i == start {
            return Err(err("expected a number", i));
        }
        if i - start > 1 && input.get(start) == Some(&b'0') {
            return Err(err("leading zero", start));
        }
        if out.len() >= 64 {
            return Err(LoadError::WrongLength {
                expected: 64,
                actual: out.len() + 1,
            });
        }
        out.push(u8::try_from(value).map_err(|_| err("number out of range", start))?);
        i = skip_ws(input, i);
        match input.get(i) {
            Some(b',') => i = skip_ws(input, i + 1),
            Some(b']') => return finish(input, i + 1, out),
            _ => return Err(err("expected ',' or ']'", i)),
        }
    }
}

fn finish(
    input: &[u8],
    i: usize,
    out: Zeroizing<Vec<u8>>,
) -> Result<Zeroizing<Vec<u8>>, LoadError> {
    let end = skip_ws(input, i);
    if end != input.len() {
        return Err(LoadError::NotKeypairJson {
            reason: "trailing data after ']'",
            offset: end,
        });
    }
    Ok(out)
}

fn skip_ws(input: &[u8], mut i: usize) -> usize {
    while input
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet() -> KeypairWallet {
        KeypairWallet::from_secret_seed(&[42u8; 32])
    }

    #[test]
    fn keypair_json_round_trips() {
        let w = wallet();
        let json = w.to_keypair_json();
        assert!(json.starts_with('[') && !json.contains(' '));
        let back = KeypairWallet::from_keypair_json(json.as_bytes()).unwrap();
        assert_eq!(back.address(), w.address());
        let spaced = json.replace(',', ", ");
        assert!(KeypairWallet::from_keypair_json(format!(" {spaced}\n").as_bytes()).is_ok());
    }

    #[test]
    fn base58_round_trips() {
        let w = wallet();
        let back = KeypairWallet::from_base58(&w.to_base58()).unwrap();
        assert_eq!(back.address(), w.address());
    }

    #[test]
    fn bad_keypair_files_get_typed_errors() {
        let good = wallet().to_keypair_json().to_string();
        let truncated = &good[..good.len() / 2];
        assert!(matches!(
            KeypairWallet::from_keypair_json(truncated.as_bytes()),
            Err(LoadError::NotKeypairJson { .. })
        ));
        assert!(matches!(
            KeypairWallet::from_keypair_json(b"[1,2,3]"),
            Err(LoadError::WrongLength {
                expected: 64,
                actual: 3
            })
        ));
        assert!(matches!(
            KeypairWallet::from_keypair_json(b"[256]"),
            Err(LoadError::NotKeypairJson { .. })
        ));
        assert!(matches!(
            KeypairWallet::from_keypair_json(&vec![b' '; 5000]),
            Err(LoadError::TooLarge { .. })
        ));
        let mut mismatched: Vec<u8> = (0..64).map(|_| 1u8).collect();
        mismatched[40] = 2;
        assert!(matches!(
            KeypairWallet::from_keypair_bytes(&mismatched),
            Err(LoadError::PublicKeyMismatch)
        ));
        assert!(matches!(
            KeypairWallet::from_keypair_json(format!("{good}x").as_bytes()),
            Err(LoadError::NotKeypairJson { .. })
        ));
        assert!(matches!(
            KeypairWallet::from_base58("0OIl"),
            Err(LoadError::NotBase58)
        ));
        assert!(matches!(
            KeypairWallet::from_base58("abc"),
            Err(LoadError::WrongLength { .. })
        ));
    }

    #[test]
    fn debug_shows_only_the_address() {
        let w = wallet();
        assert_eq!(format!("{w:?}"), format!("KeypairWallet({})", w.address()));
    }

    #[test]
    fn signatures_verify_against_the_address() {
        let w = wallet();
        let sig = w.sign_message(b"hello").unwrap();
        assert!(w.address().verify(b"hello", &sig));
        assert!(!w.address().verify(b"hellp", &sig));
    }
}
