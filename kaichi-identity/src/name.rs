//! IPNS names: the libp2p PeerId of the IPNS key, shown as a CIDv1 (`k51...`).

use std::fmt;
use std::str::FromStr;

use cid::Cid;
use libp2p_identity::PeerId;

use crate::keys::IpnsPublicKey;

/// The multicodec of a libp2p public key CID.
const LIBP2P_KEY_CODEC: u64 = 0x72;
/// The `identity` multihash code (the key is inlined in the name).
const IDENTITY_MULTIHASH: u64 = 0x00;
/// Longest accepted textual name (a CIDv1 of an inlined key is ~62 chars; RSA
/// names hashed with sha2-256 are shorter).
const MAX_NAME_CHARS: usize = 256;

/// An IPNS name: the multihash of a libp2p public key.
///
/// `Display` is the canonical CIDv1 `libp2p-key` in base36 (`k51...`), the
/// form kubo, go-libp2p and js-libp2p print. `FromStr` also takes the base32
/// CIDv1 (`bafz...`) and the base58btc PeerId (`12D3KooW...`, `Qm...`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpnsName(PeerId);

/// A string or byte sequence is not an IPNS name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Empty input.
    #[error("empty IPNS name")]
    Empty,
    /// Longer than any IPNS name.
    #[error("IPNS name too long: {actual} characters (max {max})")]
    TooLong {
        /// Characters given.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Not a CID or PeerId in a known multibase.
    #[error("not a CID or PeerId: {0}")]
    Malformed(String),
    /// A CIDv1 whose codec is not `libp2p-key` (0x72).
    #[error("CID codec must be libp2p-key (0x72), got {0:#x}")]
    WrongCodec(u64),
    /// The multihash is not a valid PeerId (unsupported hash or size).
    #[error("multihash is not a valid libp2p PeerId")]
    InvalidPeerId,
}

impl IpnsName {
    /// The name of an Ed25519 IPNS key (always inlined with the identity multihash).
    pub fn from_ed25519(key: &IpnsPublicKey) -> Self {
        Self(key.to_libp2p().to_peer_id())
    }

    /// From a libp2p PeerId.
    pub fn from_peer_id(peer: PeerId) -> Self {
        Self(peer)
    }

    /// The PeerId (the libp2p view of this name).
    pub fn peer_id(&self) -> &PeerId {
        &self.0
    }

    /// The multihash bytes (the binary IPNS name).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// From the binary multihash.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NameError> {
        PeerId::from_bytes(bytes)
            .map(Self)
            .map_err(|_| NameError::InvalidPeerId)
    }

    /// The DHT routing key, `/ipns/` + binary name.
    pub fn routing_key(&self) -> Vec<u8> {
        let mut key = b"/ipns/".to_vec();
        key.extend_from_slice(&self.0.to_bytes());
        key
    }

    /// The base58btc PeerId form (`12D3KooW...`).
    pub fn to_peer_id_string(&self) -> String {
        self.0.to_base58()
    }

    /// The CIDv1 `libp2p-key` of this name.
    pub fn to_cid(&self) -> Cid {
        Cid::new_v1(LIBP2P_KEY_CODEC, *self.0.as_ref())
    }

    /// The Ed25519 key inlined in the name, when the name inlines one.
    pub fn inlined_ed25519(&self) -> Option<IpnsPublicKey> {
        let mh = self.0.as_ref();
        if mh.code() != IDENTITY_MULTIHASH {
            return None;
        }
        let pk = libp2p_identity::PublicKey::try_decode_protobuf(mh.digest()).ok()?;
        let ed = pk.try_into_ed25519().ok()?;
        IpnsPublicKey::from_bytes(&ed.to_bytes()).ok()
    }
}

impl fmt::Display for IpnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self
            .to_cid()
            .to_string_of_base(cid::multibase::Base::Base36Lower)
        {
            Ok(s) => f.write_str(&s),
            Err(_) => f.write_str(&self.to_peer_id_string()),
        }
    }
}

impl fmt::Debug for IpnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IpnsName({self})")
    }
}

impl FromStr for IpnsName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        let chars = s.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(NameError::TooLong {
                actual: chars,
                max: MAX_NAME_CHARS,
            });
        }
        // The form every Kaichi name is printed in (`k…`) by the fast
        // decoder; anything it does not take, by the generic one.
        let cid = match s
            .strip_prefix('k')
            .and_then(|digits| crate::base36::decode_lower(digits.as_bytes()))
        {
            Some(bytes) => Cid::try_from(bytes.as_slice()),
            None => Cid::try_from(s),
        };
        match cid {
            // `Qm...`: a base58btc sha2-256 PeerId reads as a CIDv0.
            Ok(cid) if cid.version() == cid::Version::V0 => PeerId::from_multihash(*cid.hash())
                .map(Self)
                .map_err(|_| NameError::InvalidPeerId),
            Ok(cid) if cid.codec() != LIBP2P_KEY_CODEC => Err(NameError::WrongCodec(cid.codec())),
            Ok(cid) => PeerId::from_multihash(*cid.hash())
                .map(Self)
                .map_err(|_| NameError::InvalidPeerId),
            // `12D3KooW...`: a base58btc PeerId has no multibase prefix.
            Err(cid_err) => PeerId::from_str(s).map(Self).map_err(|_| {
                NameError::Malformed(format!("neither a CID ({cid_err}) nor a base58 PeerId"))
            }),
        }
    }
}
