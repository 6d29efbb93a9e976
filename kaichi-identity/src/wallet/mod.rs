//! Solana wallets: addresses, signatures and the [`WalletSigner`] capability.
//!
//! Everything Kaichi needs from a wallet is "sign this message". A wallet
//! that can only sign (a browser extension, a hardware wallet) plugs in by
//! implementing [`WalletSigner`]; [`KeypairWallet`] is the implementation for
//! keys this process holds (solana-keygen files, base58 exports, seed phrases).
//! Callers that sign asynchronously can skip the trait: build the message with
//! [`crate::derivation_message`], sign it wherever the wallet lives and pass
//! the signature to [`crate::IdentityKeys::from_wallet_signature`].

mod address;
mod keypair;
mod seed_phrase;

pub use address::{AddressError, WalletAddress, WalletSignature};
pub use keypair::{KeypairWallet, LoadError, MAX_KEYPAIR_FILE_BYTES};
pub use seed_phrase::{DerivationPath, SeedPhraseError};

/// A wallet could not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The user declined in the wallet's UI.
    #[error("the wallet declined to sign")]
    Declined,
    /// The wallet is not reachable (locked, unplugged, extension gone).
    #[error("wallet unavailable: {0}")]
    Unavailable(String),
}

/// A Solana wallet that can sign arbitrary messages with its Ed25519 key.
///
/// Implementations must produce standard Ed25519 signatures over the exact
/// message bytes (as `signMessage` in Solana wallet adapters does). Ed25519
/// is deterministic, which is what lets every device re-derive the same keys.
pub trait WalletSigner {
    /// The wallet's address (its Ed25519 public key).
    fn address(&self) -> WalletAddress;

    /// Signs `message` exactly as given.
    fn sign_message(&self, message: &[u8]) -> Result<WalletSignature, SignError>;
}

impl<T: WalletSigner + ?Sized> WalletSigner for &T {
    fn address(&self) -> WalletAddress {
        (**self).address()
    }
    fn sign_message(&self, message: &[u8]) -> Result<WalletSignature, SignError> {
        (**self).sign_message(message)
    }
}
