//! Protobuf messages of identity documents (see docs/PROTOCOL.md).

/// What the wallet and the IPNS key sign.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct DocumentBody {
    /// Format version (1).
    #[prost(uint32, tag = "1")]
    pub(crate) version: u32,
    /// The owning wallet's 32-byte address.
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) wallet: Vec<u8>,
    /// The identity's 32-byte Ed25519 IPNS public key.
    #[prost(bytes = "vec", tag = "3")]
    pub(crate) ipns_public_key: Vec<u8>,
    /// The identity's 32-byte X25519 DM public key.
    #[prost(bytes = "vec", tag = "4")]
    pub(crate) dm_public_key: Vec<u8>,
    /// Key epoch the keys were derived at.
    #[prost(uint32, tag = "5")]
    pub(crate) epoch: u32,
    /// Creation time, Unix nanoseconds.
    #[prost(uint64, tag = "6")]
    pub(crate) created_at: u64,
    /// Expiry time, Unix nanoseconds.
    #[prost(uint64, tag = "7")]
    pub(crate) expires_at: u64,
    /// Devices granted this identity's secrets.
    #[prost(message, repeated, tag = "8")]
    pub(crate) devices: Vec<DeviceGrantPb>,
    /// References (CID bytes) to the identity's published MLS KeyPackages.
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub(crate) key_packages: Vec<Vec<u8>>,
    /// A document a device approved: that device's wallet (it signs in the
    /// primary wallet's place). Empty in a document the primary signed.
    #[prost(bytes = "vec", tag = "10")]
    pub(crate) approved_by: Vec<u8>,
    /// A document a device approved: SHA-256 of the primary-signed document
    /// it builds on (carried in `SignedDocumentPb.authority`).
    #[prost(bytes = "vec", tag = "11")]
    pub(crate) authority_sha256: Vec<u8>,
}

/// The signed envelope.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SignedDocumentPb {
    /// `DocumentBody` bytes exactly as signed.
    #[prost(bytes = "vec", tag = "1")]
    pub(crate) body: Vec<u8>,
    /// The wallet's signature (see `wallet_message`).
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) wallet_signature: Vec<u8>,
    /// The IPNS key's signature over the domain prefix and `body`.
    #[prost(bytes = "vec", tag = "3")]
    pub(crate) ipns_signature: Vec<u8>,
    /// A document a device approved: the primary-signed document that
    /// grants that device the right to approve (empty otherwise).
    #[prost(bytes = "vec", tag = "4")]
    pub(crate) authority: Vec<u8>,
}

/// A device's signed request to join an identity.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct DeviceRequestPb {
    /// The identity's IPNS name (binary multihash).
    #[prost(bytes = "vec", tag = "1")]
    pub(crate) identity: Vec<u8>,
    /// The device wallet's address.
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) device_wallet: Vec<u8>,
    /// The epoch of the device's own derived keys.
    #[prost(uint32, tag = "3")]
    pub(crate) device_epoch: u32,
    /// The device's own derived X25519 key, which the grant is sealed to.
    #[prost(bytes = "vec", tag = "4")]
    pub(crate) device_key: Vec<u8>,
    /// The device wallet's signature over the request message.
    #[prost(bytes = "vec", tag = "5")]
    pub(crate) signature: Vec<u8>,
    /// The device's own derived Ed25519 key, which signs its log entries.
    #[prost(bytes = "vec", tag = "6")]
    pub(crate) signing_key: Vec<u8>,
}

/// A grant listed in a document.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct DeviceGrantPb {
    /// The device's request, as it signed it.
    #[prost(message, optional, tag = "1")]
    pub(crate) request: Option<DeviceRequestPb>,
    /// Ephemeral X25519 public key of the seal.
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) ephemeral_key: Vec<u8>,
    /// ChaCha20-Poly1305 of the IPNS seed and DM secret.
    #[prost(bytes = "vec", tag = "3")]
    pub(crate) sealed_secrets: Vec<u8>,
    /// When the grant was issued, Unix nanoseconds.
    #[prost(uint64, tag = "4")]
    pub(crate) granted_at: u64,
    /// The device may approve (and revoke) other devices, in documents it
    /// signs with its own wallet (only the primary wallet grants this).
    #[prost(bool, tag = "5")]
    pub(crate) approver: bool,
}
