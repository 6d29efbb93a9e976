//! Device requests and grants: sharing an identity with a second wallet.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use prost::Message as _;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::proto::{DeviceGrantPb, DeviceRequestPb};
use crate::derive::{IdentityKeys, KeyEpoch};
use crate::encoding::hex;
use crate::keys::{DmPublicKey, DmSecret, IpnsKeypair, IpnsPublicKey};
use crate::name::IpnsName;
use crate::time::Timestamp;
use crate::wallet::{SignError, WalletAddress, WalletSignature, WalletSigner};

/// Largest serialized device request accepted.
const MAX_REQUEST_BYTES: usize = 1024;
/// Sealed payload: IPNS seed (32) + DM secret (32) + Poly1305 tag (16).
const SEALED_LEN: usize = 80;
const SEAL_DOMAIN: &[u8] = b"kaichi-device-grant-v1";

/// A device request could not be made, decoded or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The device wallet did not sign.
    #[error("the device wallet did not sign: {0}")]
    Sign(#[from] SignError),
    /// The keys given were derived from another wallet than the signer.
    #[error("device keys belong to {keys}, but the signer is {signer}")]
    WalletMismatch {
        /// Wallet of the derived keys.
        keys: WalletAddress,
        /// Wallet that signs.
        signer: WalletAddress,
    },
    /// Over the size limit.
    #[error("device request is {actual} bytes, over {max}")]
    TooLarge {
        /// Bytes given.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Not a request protobuf.
    #[error("not a device request: {0}")]
    Malformed(String),
    /// A field has the wrong length or form.
    #[error("device request field {0} is invalid")]
    InvalidField(&'static str),
    /// The device wallet's signature does not verify.
    #[error("device request signature does not verify for device {0}")]
    BadSignature(WalletAddress),
}

/// A grant could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The request names another identity.
    #[error("the request is for identity {requested}, not {ours}")]
    WrongIdentity {
        /// The identity named in the request.
        requested: Box<IpnsName>,
        /// The identity issuing the grant.
        ours: Box<IpnsName>,
    },
    /// The device is the identity's own wallet.
    #[error("the primary wallet cannot be its own device")]
    DeviceIsPrimary,
    /// The device key is a low-order point (no shared secret).
    #[error("the device key is not a usable X25519 key")]
    WeakDeviceKey,
}

/// A grant could not be opened by this device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenGrantError {
    /// The document lists no grant for this wallet.
    #[error("no grant for device {0} in this document")]
    NoGrant(WalletAddress),
    /// The grant was sealed to a different device key (another epoch?).
    #[error("the grant is sealed to device key {granted}, this device has {ours}")]
    DeviceKeyMismatch {
        /// The key the grant names.
        granted: DmPublicKey,
        /// This device's key.
        ours: DmPublicKey,
    },
    /// Decryption failed: tampered or not sealed to this device.
    #[error("the sealed secrets do not open with this device's key")]
    Unseal,
    /// The opened secrets are not the document's keys.
    #[error("the opened {0} secret does not match the document's public key")]
    SecretMismatch(&'static str),
}

/// A device wallet's signed request to be granted an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRequest {
    identity: IpnsName,
    device_wallet: WalletAddress,
    device_epoch: KeyEpoch,
    device_key: DmPublicKey,
    signing_key: IpnsPublicKey,
    signature: WalletSignature,
}

impl DeviceRequest {
    /// The device asks to join `identity`: `device_keys` are the device's own
    /// keys (derived from `device_wallet`), whose DM key the grant is sealed to.
    pub fn create<W: WalletSigner + ?Sized>(
        device_wallet: &W,
        device_keys: &IdentityKeys,
        identity: IpnsName,
    ) -> Result<Self, RequestError> {
        let signer = device_wallet.address();
        if signer != device_keys.wallet() {
            return Err(RequestError::WalletMismatch {
                keys: device_keys.wallet(),
                signer,
            });
        }
        let device_key = device_keys.dm().public();
        let signing_key = device_keys.ipns().public();
        let msg = request_message(
            &identity,
            &signer,
            device_keys.epoch(),
            &device_key,
            &signing_key,
        );
        let signature = device_wallet.sign_message(&msg)?;
        let req = Self {
            identity,
            device_wallet: signer,
            device_epoch: device_keys.epoch(),
            device_key,
            signing_key,
            signature,
        };
        req.verify()?;
        Ok(req)
    }

    /// Serializes the request (to hand to the primary device).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_pb().encode_to_vec()
    }

    /// Parses and verifies a request.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RequestError> {
        if bytes.len() > MAX_REQUEST_BYTES {
            return Err(RequestError::TooLarge {
                actual: bytes.len(),
                max: MAX_REQUEST_BYTES,
            });
        }
        let pb =
            DeviceRequestPb::decode(bytes).map_err(|e| RequestError::Malformed(e.to_string()))?;
        Self::from_pb(&pb)
    }

    pub(crate) fn from_pb(pb: &DeviceRequestPb) -> Result<Self, RequestError> {
        let req = Self {
            identity: IpnsName::from_bytes(&pb.identity)
                .map_err(|_| RequestError::InvalidField("identity"))?,
            device_wallet: WalletAddress::try_from_slice(&pb.device_wallet)
                .map_err(|_| RequestError::InvalidField("device_wallet"))?,
            device_epoch: KeyEpoch::new(pb.device_epoch),
            device_key: DmPublicKey::from_bytes(&pb.device_key)
                .map_err(|_| RequestError::InvalidField("device_key"))?,
            signing_key: IpnsPublicKey::from_bytes(&pb.signing_key)
                .map_err(|_| RequestError::InvalidField("signing_key"))?,
            signature: WalletSignature::try_from_slice(&pb.signature)
                .map_err(|_| RequestError::InvalidField("signature"))?,
        };
        req.verify()?;
        Ok(req)
    }

    pub(crate) fn to_pb(&self) -> DeviceRequestPb {
        DeviceRequestPb {
            identity: self.identity.to_bytes(),
            device_wallet: self.device_wallet.to_bytes().to_vec(),
            device_epoch: self.device_epoch.get(),
            device_key: self.device_key.to_bytes().to_vec(),
            signing_key: self.signing_key.to_bytes().to_vec(),
            signature: self.signature.as_bytes().to_vec(),
        }
    }

    fn verify(&self) -> Result<(), RequestError> {
        let msg = request_message(
            &self.identity,
            &self.device_wallet,
            self.device_epoch,
            &self.device_key,
            &self.signing_key,
        );
        if self.device_wallet.verify(&msg, &self.signature) {
            Ok(())
        } else {
            Err(RequestError::BadSignature(self.device_wallet))
        }
    }

    /// The identity the device asks to join.
    pub fn identity(&self) -> &IpnsName {
        &self.identity
    }

    /// The device's wallet.
    pub fn device_wallet(&self) -> WalletAddress {
        self.device_wallet
    }

    /// The device's key epoch.
    pub fn device_epoch(&self) -> KeyEpoch {
        self.device_epoch
    }

    /// The device's X25519 key the grant is sealed to.
    pub fn device_key(&self) -> DmPublicKey {
        self.device_key
    }

    /// The device's own Ed25519 signing key (its derived IPNS key), which
    /// signs the entries it writes on the identity's behalf.
    pub fn signing_key(&self) -> IpnsPublicKey {
        self.signing_key
    }
}

/// An identity's grant of its IPNS and DM secrets to a device wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    request: DeviceRequest,
    ephemeral_key: DmPublicKey,
    sealed: Vec<u8>,
    granted_at: Timestamp,
    approver: bool,
}

impl DeviceGrant {
    /// Seals `identity`'s secrets to the requesting device. `ephemeral` must
    /// be 32 fresh random bytes (the caller owns randomness).
    pub fn issue(
        identity: &IdentityKeys,
        request: &DeviceRequest,
        ephemeral: Zeroizing<[u8; 32]>,
        now: Timestamp,
    ) -> Result<Self, GrantError> {
        let ours = identity.ipns().name();
        if request.identity != ours {
            return Err(GrantError::WrongIdentity {
                requested: Box::new(request.identity),
                ours: Box::new(ours),
            });
        }
        if request.device_wallet == identity.wallet() {
            return Err(GrantError::DeviceIsPrimary);
        }
        let eph = DmSecret::from_bytes(*ephemeral);
        let ephemeral_key = eph.public();
        let shared = eph.diffie_hellman(&request.device_key);
        if shared.iter().all(|b| *b == 0) {
            return Err(GrantError::WeakDeviceKey);
        }
        let cipher = seal_cipher(&shared, &ephemeral_key, request, &ours);
        let mut plain = Zeroizing::new([0u8; 64]);
        plain[..32].copy_from_slice(identity.ipns().seed().as_ref());
        plain[32..].copy_from_slice(identity.dm().to_bytes().as_ref());
        let aad = seal_aad(identity.wallet(), &ours, identity.epoch(), request);
        let sealed = cipher
            .encrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: plain.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| GrantError::WeakDeviceKey)?;
        Ok(Self {
            request: request.clone(),
            ephemeral_key,
            sealed,
            granted_at: now,
            approver: false,
        })
    }

    /// The same grant, with the right to approve and revoke other devices
    /// (`true`) or without it. Only a document the primary wallet signs may
    /// grant it; a document a device approved keeps every approver as it was.
    pub fn with_approver(mut self, approver: bool) -> Self {
        self.approver = approver;
        self
    }

    /// Whether the device may approve and revoke other devices.
    pub fn is_approver(&self) -> bool {
        self.approver
    }

    /// The device request this grant answers.
    pub fn request(&self) -> &DeviceRequest {
        &self.request
    }

    /// The granted device wallet.
    pub fn device_wallet(&self) -> WalletAddress {
        self.request.device_wallet
    }

    /// When the grant was issued.
    pub fn granted_at(&self) -> Timestamp {
        self.granted_at
    }

    pub(crate) fn to_pb(&self) -> DeviceGrantPb {
        DeviceGrantPb {
            request: Some(self.request.to_pb()),
            ephemeral_key: self.ephemeral_key.to_bytes().to_vec(),
            sealed_secrets: self.sealed.clone(),
            granted_at: self.granted_at.unix_nanos(),
            approver: self.approver,
        }
    }

    pub(crate) fn from_pb(pb: &DeviceGrantPb) -> Result<Self, RequestError> {
        let request = DeviceRequest::from_pb(
            pb.request
                .as_ref()
                .ok_or(RequestError::InvalidField("request"))?,
        )?;
        if pb.sealed_secrets.len() != SEALED_LEN {
            return Err(RequestError::InvalidField("sealed_secrets"));
        }
        Ok(Self {
            request,
            ephemeral_key: DmPublicKey::from_bytes(&pb.ephemeral_key)
                .map_err(|_| RequestError::InvalidField("ephemeral_key"))?,
            sealed: pb.sealed_secrets.clone(),
            granted_at: Timestamp::from_unix_nanos(pb.granted_at),
            approver: pb.approver,
        })
    }

    /// Opens the grant with the device's own keys. The caller checks the
    /// result against the document (see [`super::VerifiedDocument::open_grant`]).
    pub(crate) fn open(
        &self,
        device: &IdentityKeys,
        primary_wallet: WalletAddress,
        identity: &IpnsName,
        identity_epoch: KeyEpoch,
    ) -> Result<(IpnsKeypair, DmSecret), OpenGrantError> {
        let ours = device.dm().public();
        if ours != self.request.device_key {
            return Err(OpenGrantError::DeviceKeyMismatch {
                granted: self.request.device_key,
                ours,
            });
        }
        let shared = device.dm().diffie_hellman(&self.ephemeral_key);
        let cipher = seal_cipher(&shared, &self.ephemeral_key, &self.request, identity);
        let aad = seal_aad(primary_wallet, identity, identity_epoch, &self.request);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &[0u8; 12].into(),
                    Payload {
                        msg: &self.sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| OpenGrantError::Unseal)?,
        );
        let mut ipns_seed = Zeroizing::new([0u8; 32]);
        let mut dm = Zeroizing::new([0u8; 32]);
        ipns_seed.copy_from_slice(plain.get(..32).ok_or(OpenGrantError::Unseal)?);
        dm.copy_from_slice(plain.get(32..64).ok_or(OpenGrantError::Unseal)?);
        Ok((
            IpnsKeypair::from_seed(&ipns_seed),
            DmSecret::from_bytes(*dm),
        ))
    }
}

/// What the device wallet signs to request a grant.
fn request_message(
    identity: &IpnsName,
    device: &WalletAddress,
    epoch: KeyEpoch,
    device_key: &DmPublicKey,
    signing_key: &IpnsPublicKey,
) -> Vec<u8> {
    format!(
        "Kaichi device request v1\n\
         Sign to add this wallet as a device of a Kaichi identity.\n\
         identity: {identity}\n\
         device: {device}\n\
         device-key: {}\n\
         device-signing-key: {}\n\
         epoch: {epoch}",
        hex(device_key.as_bytes()),
        hex(&signing_key.to_bytes())
    )
    .into_bytes()
}

fn seal_cipher(
    shared: &[u8; 32],
    ephemeral: &DmPublicKey,
    request: &DeviceRequest,
    identity: &IpnsName,
) -> ChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(SEAL_DOMAIN), shared);
    let mut info = Vec::with_capacity(160);
    info.extend_from_slice(ephemeral.as_bytes());
    info.extend_from_slice(request.device_key.as_bytes());
    info.extend_from_slice(&identity.to_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is a valid HKDF-SHA256 output length.
    #[allow(clippy::expect_used)]
    hk.expand(&info, key.as_mut()).expect("32-byte HKDF output");
    ChaCha20Poly1305::new(&(*key).into())
}

fn seal_aad(
    primary: WalletAddress,
    identity: &IpnsName,
    epoch: KeyEpoch,
    request: &DeviceRequest,
) -> Vec<u8> {
    let mut aad = Vec::with_capacity(160);
    aad.extend_from_slice(SEAL_DOMAIN);
    aad.extend_from_slice(&primary.to_bytes());
    aad.extend_from_slice(&identity.to_bytes());
    aad.extend_from_slice(&epoch.get().to_be_bytes());
    aad.extend_from_slice(&request.device_wallet.to_bytes());
    aad.extend_from_slice(&request.device_epoch.get().to_be_bytes());
    aad
}
