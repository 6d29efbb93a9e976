//! Identifiers: conversation ids and entry CIDs.

use std::fmt;
use std::str::FromStr;

use cid::Cid;
use multihash::Multihash;
use sha2::{Digest, Sha256};

/// The multicodec of raw blocks (identity documents, Welcomes, ratchet
/// trees, KeyPackages, attachment chunks).
pub const RAW_CODEC: u64 = 0x55;
/// The multicodec of DAG-CBOR blocks (log entries, roots, attachment
/// manifests): IPFS nodes follow their tag-42 links.
pub const DAG_CBOR_CODEC: u64 = 0x71;
/// The multihash code of sha2-256.
pub const SHA2_256: u64 = 0x12;
/// Length of a binary CID here: version, codec, hash code, length, digest.
pub const ENTRY_CID_BYTES: usize = 36;

/// An identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not a CID.
    #[error("not a CID: {0}")]
    NotACid(String),
    /// A CID, but not the CIDv1 / codec / sha2-256 expected (entries are
    /// DAG-CBOR, other blocks raw).
    #[error(
        "expected a CIDv1 with codec {expected:#x} and sha2-256; got version {version:?}, codec {codec:#x}, hash {hash:#x}"
    )]
    NotAnEntryCid {
        /// The codec expected.
        expected: u64,
        /// CID version.
        version: u64,
        /// Codec.
        codec: u64,
        /// Multihash code.
        hash: u64,
    },
    /// Not 32 bytes of hex.
    #[error("a conversation id is 64 hex digits")]
    BadConversationId,
}

/// A conversation id: 32 bytes derived from both participants' keys,
/// opaque to anyone else. Displays as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId([u8; 32]);

impl ConversationId {
    /// From the raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// From a slice that must be 32 bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConversationId({self})")
    }
}

impl FromStr for ConversationId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 || !s.is_ascii() {
            return Err(IdError::BadConversationId);
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = s.get(2 * i..2 * i + 2).ok_or(IdError::BadConversationId)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| IdError::BadConversationId)?;
        }
        Ok(Self(out))
    }
}

/// A CIDv1 over sha2-256 with a fixed multicodec: the 32-byte digest is all
/// it stores. See [`EntryCid`] and [`BlockCid`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Cid<const CODEC: u64>([u8; 32]);

/// The CID of a log entry block: CIDv1, DAG-CBOR, sha2-256, so an IPFS
/// node follows an entry's parent links (a recursive pin of a head holds the
/// whole log).
pub type EntryCid = Sha256Cid<DAG_CBOR_CODEC>;

/// The CID of an opaque block (identity document, Welcome, ratchet tree,
/// KeyPackage, attachment chunk): CIDv1, raw, sha2-256.
pub type BlockCid = Sha256Cid<RAW_CODEC>;

impl<const CODEC: u64> Sha256Cid<CODEC> {
    /// The CID of `block`.
    pub fn of(block: &[u8]) -> Self {
        Self(Sha256::digest(block).into())
    }

    /// From a sha2-256 digest.
    pub const fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The sha2-256 digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// As a `cid::Cid`.
    pub fn to_cid(&self) -> Cid {
        // Wrapping 32 bytes into a 64-byte multihash cannot fail.
        let mh = Multihash::<64>::wrap(SHA2_256, &self.0).unwrap_or_default();
        Cid::new_v1(CODEC, mh)
    }

    /// The binary CID (36 bytes).
    pub fn to_bytes(&self) -> [u8; ENTRY_CID_BYTES] {
        let mut out = [0u8; ENTRY_CID_BYTES];
        // Both codecs (0x55, 0x71) are one-byte varints.
        out[..4].copy_from_slice(&[0x01, CODEC as u8, 0x12, 0x20]);
        out[4..].copy_from_slice(&self.0);
        out
    }

    /// From a binary CID, which must have this type's codec.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        let cid = Cid::try_from(bytes).map_err(|e| IdError::NotACid(e.to_string()))?;
        Self::try_from(cid)
    }
}

impl<const CODEC: u64> TryFrom<Cid> for Sha256Cid<CODEC> {
    type Error = IdError;
    fn try_from(cid: Cid) -> Result<Self, Self::Error> {
        let mh = cid.hash();
        let ok = cid.version() == cid::Version::V1
            && cid.codec() == CODEC
            && mh.code() == SHA2_256
            && mh.size() == 32;
        let digest = <[u8; 32]>::try_from(mh.digest()).ok().filter(|_| ok);
        digest.map(Self).ok_or(IdError::NotAnEntryCid {
            expected: CODEC,
            version: cid.version().into(),
            codec: cid.codec(),
            hash: mh.code(),
        })
    }
}

impl<const CODEC: u64> fmt::Display for Sha256Cid<CODEC> {
    /// Base32 (`bafyrei...` for entries, `bafkrei...` for raw blocks), the
    /// default CIDv1 text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_cid(), f)
    }
}

impl<const CODEC: u64> fmt::Debug for Sha256Cid<CODEC> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if CODEC == DAG_CBOR_CODEC {
            "EntryCid"
        } else {
            "BlockCid"
        };
        write!(f, "{kind}({self})")
    }
}

impl<const CODEC: u64> FromStr for Sha256Cid<CODEC> {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > 128 {
            return Err(IdError::NotACid("too long".into()));
        }
        let cid = Cid::try_from(s).map_err(|e| IdError::NotACid(e.to_string()))?;
        Self::try_from(cid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_cids_are_dag_cbor_sha256_cidv1() {
        let c = EntryCid::of(b"hello");
        let text = c.to_string();
        assert!(text.starts_with("bafyrei"), "{text}");
        let raw = BlockCid::of(b"hello");
        assert!(raw.to_string().starts_with("bafkrei"));
        assert_eq!(BlockCid::from_bytes(&raw.to_bytes()).unwrap(), raw);
        // The same digest under the other codec is not an entry CID.
        assert!(matches!(
            EntryCid::from_bytes(&raw.to_bytes()),
            Err(IdError::NotAnEntryCid {
                expected: 0x71,
                codec: 0x55,
                ..
            })
        ));
        assert_eq!(text.parse::<EntryCid>().unwrap(), c);
        assert_eq!(EntryCid::from_bytes(&c.to_bytes()).unwrap(), c);
        assert_eq!(c.to_cid().to_bytes(), c.to_bytes().to_vec());
        // A dag-pb CIDv0 is not an entry CID.
        assert!(matches!(
            "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N".parse::<EntryCid>(),
            Err(IdError::NotAnEntryCid { .. })
        ));
    }

    #[test]
    fn conversation_ids_round_trip() {
        let id = ConversationId::from_bytes([0xab; 32]);
        assert_eq!(id.to_string().parse::<ConversationId>().unwrap(), id);
        assert!("zz".parse::<ConversationId>().is_err());
    }
}
