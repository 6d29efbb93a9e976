//! Conversation keys: both participants derive the same id and key from the
//! X25519 shared secret of their DM keys; nobody else can.

use std::fmt;

use hkdf::Hkdf;
use kaichi_identity::{IdentityKeys, IdentityPublic, IpnsPublicKey};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::ids::ConversationId;

const SALT: &[u8] = b"kaichi-privatelog-v1";
const INFO_ID: &[u8] = b"kaichi-privatelog-v1 conversation id";
const INFO_KEY: &[u8] = b"kaichi-privatelog-v1 conversation key";
const INFO_TAG: &[u8] = b"kaichi-privatelog-v2 author tag";

/// What an entry says about its author: a 32-byte tag only the two
/// participants can compute, so an observer of the blocks cannot tell who
/// wrote them (or test a guess against a public key).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorTag(pub(crate) [u8; 32]);

impl AuthorTag {
    /// From the raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AuthorTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorTag(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

/// Conversation keys could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConversationKeyError {
    /// Both sides are the same identity.
    #[error("a conversation needs two different identities")]
    SameIdentity,
    /// The peer's DM key is a low-order point (no shared secret).
    #[error("the peer's DM key is not a usable X25519 key")]
    WeakPeerKey,
}

/// A conversation's id and symmetric key (the key zeroizes on drop).
#[derive(Clone)]
pub struct ConversationKeys {
    id: ConversationId,
    key: Zeroizing<[u8; 32]>,
    pair: [IpnsPublicKey; 2],
    /// The author tag of each of `pair`.
    tags: [AuthorTag; 2],
}

impl ConversationKeys {
    /// Derives the keys of the conversation between `me` and `peer`.
    /// `derive(a, b)` and `derive(b, a)` give the same result.
    pub fn derive(me: &IdentityKeys, peer: &IdentityPublic) -> Result<Self, ConversationKeyError> {
        let mine = me.public();
        if mine.ipns == peer.ipns {
            return Err(ConversationKeyError::SameIdentity);
        }
        let shared = me.dm().diffie_hellman(&peer.dm);
        if shared.iter().all(|b| *b == 0) {
            return Err(ConversationKeyError::WeakPeerKey);
        }
        let mut pair = [mine.ipns, peer.ipns];
        pair.sort_by_key(IpnsPublicKey::to_bytes);
        let hk = Hkdf::<Sha256>::new(Some(SALT), shared.as_ref());
        let id = expand(&hk, INFO_ID, &pair);
        let key = expand(&hk, INFO_KEY, &pair);
        let tag_key = expand(&hk, INFO_TAG, &pair);
        let tag = |author: &IpnsPublicKey| {
            let hk = Hkdf::<Sha256>::new(None, tag_key.as_ref());
            let mut out = [0u8; 32];
            // 32 bytes is a valid HKDF-SHA256 output length.
            #[allow(clippy::expect_used)]
            hk.expand(&author.to_bytes(), &mut out)
                .expect("32-byte HKDF output");
            AuthorTag(out)
        };
        let tags = [tag(&pair[0]), tag(&pair[1])];
        Ok(Self {
            id: ConversationId::from_bytes(*id),
            key,
            pair,
            tags,
        })
    }

    /// The conversation id.
    pub fn id(&self) -> ConversationId {
        self.id
    }

    /// The two participants' IPNS keys, sorted.
    pub fn participants(&self) -> &[IpnsPublicKey; 2] {
        &self.pair
    }

    /// The tag entries of `author` carry, when `author` is a participant.
    pub fn author_tag(&self, author: &IpnsPublicKey) -> Option<AuthorTag> {
        self.pair
            .iter()
            .position(|p| p == author)
            .map(|i| self.tags[i])
    }

    /// The participant whose entries carry `tag`.
    pub fn author_of(&self, tag: &AuthorTag) -> Option<&IpnsPublicKey> {
        self.tags
            .iter()
            .position(|t| t == tag)
            .map(|i| &self.pair[i])
    }

    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.key
    }
}

impl fmt::Debug for ConversationKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationKeys")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn expand(hk: &Hkdf<Sha256>, label: &[u8], pair: &[IpnsPublicKey; 2]) -> Zeroizing<[u8; 32]> {
    let mut info = Vec::with_capacity(label.len() + 64);
    info.extend_from_slice(label);
    for k in pair {
        info.extend_from_slice(&k.to_bytes());
    }
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is a valid HKDF-SHA256 output length.
    #[allow(clippy::expect_used)]
    hk.expand(&info, out.as_mut()).expect("32-byte HKDF output");
    out
}
