//! Deterministic key derivation from a wallet signature.
//!
//! The wallet signs a fixed, human-readable message naming the wallet and a
//! key epoch. Ed25519 signatures are deterministic (RFC 8032), so the same
//! wallet yields the same signature, and therefore the same keys, on every
//! device. HKDF-SHA256 expands the signature into independent keys.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::{DmPublicKey, DmSecret, IpnsKeypair, IpnsPublicKey, StoreKey};
use crate::name::IpnsName;
use crate::wallet::{SignError, WalletAddress, WalletSignature, WalletSigner};

/// HKDF salt for identity keys.
const SALT: &[u8] = b"kaichi-identity-v1";
/// HKDF info labels, one per derived key.
const INFO_IPNS: &[u8] = b"kaichi-identity-v1 ipns ed25519 seed";
const INFO_DM: &[u8] = b"kaichi-identity-v1 dm x25519 secret";
const INFO_STORE: &[u8] = b"kaichi-identity-v1 local store key";

/// A key epoch. A new epoch rotates every derived key; old epochs stay
/// derivable from the wallet, so old history stays readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct KeyEpoch(u32);

impl KeyEpoch {
    /// The first epoch.
    pub const ZERO: Self = Self(0);

    /// An epoch from its number.
    pub const fn new(n: u32) -> Self {
        Self(n)
    }

    /// The epoch number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The next epoch, or `None` at `u32::MAX`.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for KeyEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Keys could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeriveError {
    /// The wallet did not sign.
    #[error("the wallet did not sign the key derivation message: {0}")]
    Sign(#[from] SignError),
    /// The signature does not verify against the wallet address, so it
    /// would not be reproducible on another device.
    #[error("the wallet's signature does not verify against address {wallet}")]
    BadSignature {
        /// The wallet that was asked to sign.
        wallet: WalletAddress,
    },
}

/// The exact message a wallet signs to derive its Kaichi keys. It is
/// human-readable so wallet UIs show what is being signed.
pub fn derivation_message(wallet: &WalletAddress, epoch: KeyEpoch) -> Vec<u8> {
    format!(
        "Kaichi identity keys v1\n\
         Sign this message to unlock your Kaichi messages on this device.\n\
         It does not send a transaction or cost anything.\n\
         wallet: {wallet}\n\
         epoch: {epoch}"
    )
    .into_bytes()
}

/// Every secret an identity derives from its wallet at one epoch.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityKeys {
    wallet: WalletAddress,
    epoch: KeyEpoch,
    ipns: IpnsKeypair,
    dm: DmSecret,
    store: StoreKey,
}

impl IdentityKeys {
    /// Asks `wallet` to sign the derivation message and derives the keys.
    pub fn derive<W: WalletSigner + ?Sized>(
        wallet: &W,
        epoch: KeyEpoch,
    ) -> Result<Self, DeriveError> {
        let address = wallet.address();
        let signature = wallet.sign_message(&derivation_message(&address, epoch))?;
        Self::from_wallet_signature(address, epoch, &signature)
    }

    /// Derives the keys from a signature the wallet made elsewhere over
    /// [`derivation_message`]`(wallet, epoch)`. The signature is checked.
    pub fn from_wallet_signature(
        wallet: WalletAddress,
        epoch: KeyEpoch,
        signature: &WalletSignature,
    ) -> Result<Self, DeriveError> {
        if !wallet.verify(&derivation_message(&wallet, epoch), signature) {
            return Err(DeriveError::BadSignature { wallet });
        }
        let hk = Hkdf::<Sha256>::new(Some(SALT), signature.as_bytes());
        let ipns = IpnsKeypair::from_seed(&expand(&hk, INFO_IPNS));
        let dm = DmSecret::from_bytes(*expand(&hk, INFO_DM));
        let store = StoreKey::from_bytes(*expand(&hk, INFO_STORE));
        Ok(Self {
            wallet,
            epoch,
            ipns,
            dm,
            store,
        })
    }

    /// Reassembles keys received through a device grant.
    pub(crate) fn from_parts(
        wallet: WalletAddress,
        epoch: KeyEpoch,
        ipns: IpnsKeypair,
        dm: DmSecret,
        store: StoreKey,
    ) -> Self {
        Self {
            wallet,
            epoch,
            ipns,
            dm,
            store,
        }
    }

    /// The wallet these keys belong to.
    pub fn wallet(&self) -> WalletAddress {
        self.wallet
    }

    /// The key epoch.
    pub fn epoch(&self) -> KeyEpoch {
        self.epoch
    }

    /// The IPNS (and libp2p host) key.
    pub fn ipns(&self) -> &IpnsKeypair {
        &self.ipns
    }

    /// The X25519 direct-message key.
    pub fn dm(&self) -> &DmSecret {
        &self.dm
    }

    /// The local at-rest encryption key.
    pub fn store(&self) -> &StoreKey {
        &self.store
    }

    /// What others may know about this identity.
    pub fn public(&self) -> IdentityPublic {
        IdentityPublic {
            wallet: self.wallet,
            epoch: self.epoch,
            ipns: self.ipns.public(),
            dm: self.dm.public(),
        }
    }
}

impl fmt::Debug for IdentityKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeys")
            .field("wallet", &self.wallet)
            .field("epoch", &self.epoch)
            .field("ipns_name", &self.ipns.name())
            .finish_non_exhaustive()
    }
}

/// The public half of an identity at one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityPublic {
    /// The wallet that owns the identity.
    pub wallet: WalletAddress,
    /// The key epoch.
    pub epoch: KeyEpoch,
    /// The IPNS public key.
    pub ipns: IpnsPublicKey,
    /// The X25519 direct-message public key.
    pub dm: DmPublicKey,
}

impl IdentityPublic {
    /// The identity's IPNS name.
    pub fn ipns_name(&self) -> IpnsName {
        self.ipns.name()
    }
}

fn expand(hk: &Hkdf<Sha256>, info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 255 * 32 byte limit.
    #[allow(clippy::expect_used)]
    hk.expand(info, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::KeypairWallet;

    #[test]
    fn message_names_wallet_and_epoch() {
        let w = WalletAddress::from_bytes([1; 32]);
        let m = String::from_utf8(derivation_message(&w, KeyEpoch::new(7))).unwrap();
        assert!(m.starts_with("Kaichi identity keys v1\n"));
        assert!(m.contains(&format!("wallet: {w}\n")));
        assert!(m.ends_with("epoch: 7"));
    }

    #[test]
    fn derivation_is_deterministic_and_epoch_separated() {
        let wallet = KeypairWallet::from_secret_seed(&[5; 32]);
        let a = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        let b = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        let c = IdentityKeys::derive(&wallet, KeyEpoch::new(1)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.ipns(), c.ipns());
        assert_ne!(a.dm(), c.dm());
        assert_ne!(a.store(), c.store());
        // The three keys of one epoch are independent of each other.
        assert_ne!(*a.ipns().seed(), *a.dm().to_bytes());
        assert_ne!(*a.dm().to_bytes(), *a.store().as_bytes());
    }

    /// Pins the derivation: any change to the message, salt or labels breaks
    /// every user's ability to re-derive their keys, so it must be deliberate.
    #[test]
    fn derivation_known_answer() {
        let wallet = KeypairWallet::from_secret_seed(&[5; 32]);
        let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        assert_eq!(keys.public().ipns_name().to_string(), KAT_NAME);
        assert_eq!(keys.public().dm.to_string(), KAT_DM);
    }
    const KAT_NAME: &str = "k51qzi5uqu5dlcmsdc1ws1r0akfs2mfyvmxy6h9xntd6aq59bvdeu9f04w0tt8";
    const KAT_DM: &str = "7b439ea46f9ca7ef7baf0df6c036865352c13fae75bd9405555e856d99464638";

    #[test]
    fn forged_signature_is_rejected() {
        let wallet = KeypairWallet::from_secret_seed(&[5; 32]);
        let other = KeypairWallet::from_secret_seed(&[6; 32]);
        let msg = derivation_message(&wallet.address(), KeyEpoch::ZERO);
        let sig = other.sign_message(&msg).unwrap();
        assert!(matches!(
            IdentityKeys::from_wallet_signature(wallet.address(), KeyEpoch::ZERO, &sig),
            Err(DeriveError::BadSignature { .. })
        ));
    }

    #[test]
    fn debug_has_no_secrets() {
        let wallet = KeypairWallet::from_secret_seed(&[5; 32]);
        let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        let dbg = format!("{keys:?}");
        assert!(!dbg.contains(&crate::encoding::hex(keys.store().as_bytes())));
        assert!(!dbg.contains(&crate::encoding::hex(keys.dm().to_bytes().as_ref())));
    }
}
