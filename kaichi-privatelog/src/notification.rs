//! Inbox notifications: what a sender publishes on the recipient's inbox
//! topic, sealed to the recipient's DM key so relays see the topic but not
//! the sender or the conversation.
//!
//! Sealed form: `0x01 || ephemeral X25519 public key (32) || ChaCha20-Poly1305
//! ciphertext`, key = HKDF-SHA256(salt = "kaichi-inbox-v1", ikm = X25519(e,
//! recipient), info = ephemeral || recipient), nonce = 0^12 (one key per message).

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use kaichi_identity::{DmPublicKey, DmSecret};
use prost::Message as _;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Largest sealed notification (also the gossipsub message limit).
pub const MAX_NOTIFICATION_BYTES: usize = 256 * 1024;
/// Most inline blocks or heads in one notification.
pub const MAX_NOTIFICATION_ITEMS: usize = 64;
const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"kaichi-inbox-v1";

/// A notification could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// Over the size limit.
    #[error("notification is {actual} bytes (max {max})")]
    TooLarge {
        /// Bytes.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Shorter than a sealed notification or an unknown version.
    #[error("not a sealed notification")]
    Malformed,
    /// Not sealed to this identity, or tampered.
    #[error("the notification does not open with this identity's key")]
    Unseal,
    /// The plaintext is not a notification protobuf.
    #[error("bad notification: {0}")]
    Decode(String),
    /// Too many heads or blocks.
    #[error("notification lists too many heads or blocks")]
    TooManyItems,
    /// The recipient key is a low-order point.
    #[error("the recipient's DM key is not usable")]
    WeakKey,
}

/// What a notification says.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Notification {
    /// The sender's signed identity document.
    #[prost(bytes = "vec", tag = "1")]
    pub sender_document: Vec<u8>,
    /// The conversation id (32 bytes).
    #[prost(bytes = "vec", tag = "2")]
    pub conversation: Vec<u8>,
    /// The sender's view of the conversation heads (binary CIDs).
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub heads: Vec<Vec<u8>>,
    /// New entry blocks, inline when they fit.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub blocks: Vec<Vec<u8>>,
    /// An invitation to a group (then `conversation` and `heads` are empty).
    #[prost(message, optional, tag = "5")]
    pub invitation: Option<GroupInvitation>,
    /// A request to join a token-holder group, to its sequencer (then
    /// `conversation` and `heads` are empty).
    #[prost(message, optional, tag = "6")]
    pub join_request: Option<JoinRequest>,
    /// The sequencer's refusal of a join request (an admission comes as an
    /// `invitation`).
    #[prost(message, optional, tag = "7")]
    pub join_refusal: Option<JoinRefusal>,
    /// Self-sync between an identity's devices: in a notification sent to
    /// the sender's own inbox (`sender_document` is the recipient's own
    /// identity), the signed document of the conversation's other
    /// participant. Its `blocks` must then be entries this identity wrote.
    #[prost(bytes = "vec", tag = "8")]
    pub peer_document: Vec<u8>,
    /// Self-sync between an identity's devices: the groups the identity is
    /// in, for a device that is not in them yet to ask their sequencers.
    #[prost(message, repeated, tag = "9")]
    pub own_groups: Vec<OwnGroup>,
    /// A delivery receipt: entries of the recipient's (the conversation's
    /// other participant's) that the sender has stored.
    #[prost(message, optional, tag = "10")]
    pub receipt: Option<Receipt>,
    /// In a notification to this identity's own devices (self-sync): the
    /// sequence number of the last IPNS record the sending device published
    /// for the identity (0: none yet), so the next record any device
    /// publishes outranks it, whatever its clock says.
    #[prost(uint64, tag = "11")]
    pub ipns_sequence: u64,
}

/// Most entries one receipt acknowledges.
pub const MAX_RECEIPT_ENTRIES: usize = 1024;

/// Entries of the conversation the receipt's sender stored (durably)
/// and the recipient wrote: their binary CIDs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Receipt {
    /// Binary entry CIDs, at most [`MAX_RECEIPT_ENTRIES`].
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub entries: Vec<Vec<u8>>,
}

/// A group an identity is in, as its devices tell each other.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OwnGroup {
    /// The group's 32-byte id.
    #[prost(bytes = "vec", tag = "1")]
    pub group: Vec<u8>,
    /// Its sequencer (binary IPNS name).
    #[prost(bytes = "vec", tag = "2")]
    pub sequencer: Vec<u8>,
}

/// A request to join a token-holder group: the requester's KeyPackage (its
/// identity document is the notification's `sender_document`, whose wallet
/// the sequencer checks).
#[derive(Clone, PartialEq, prost::Message)]
pub struct JoinRequest {
    /// The group's 32-byte id.
    #[prost(bytes = "vec", tag = "1")]
    pub group: Vec<u8>,
    /// The requester's KeyPackage (an `MLSMessage`).
    #[prost(bytes = "vec", tag = "2")]
    pub key_package: Vec<u8>,
    /// 16 random bytes: a request is answered once.
    #[prost(bytes = "vec", tag = "3")]
    pub nonce: Vec<u8>,
    /// When it was sent (Unix milliseconds); stale requests are dropped.
    #[prost(uint64, tag = "4")]
    pub sent_at_ms: u64,
}

/// Why a sequencer refused a join request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct JoinRefusal {
    /// The group's 32-byte id.
    #[prost(bytes = "vec", tag = "1")]
    pub group: Vec<u8>,
    /// The request's nonce.
    #[prost(bytes = "vec", tag = "2")]
    pub nonce: Vec<u8>,
    /// The reason (`kaichi_transport::JoinRefused`'s wire codes: 1 balance too low,
    /// 2 balance unavailable, 3 not open to requests, 4 unknown group,
    /// 5 too many requests, 6 already a member, 7 refused by the policy).
    #[prost(uint32, tag = "3")]
    pub reason: u32,
    /// What the wallet holds (reason 1), in base units.
    #[prost(uint64, tag = "4")]
    pub held: u64,
    /// What the group asks for (reason 1), in base units.
    #[prost(uint64, tag = "5")]
    pub needed: u64,
}

/// An invitation: the Welcome and the ratchet tree travel as blocks the
/// invitee fetches from the inviter by CID (a Welcome for a large group is
/// megabytes; the notification stays small).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GroupInvitation {
    /// The group's 32-byte id.
    #[prost(bytes = "vec", tag = "1")]
    pub group: Vec<u8>,
    /// CID of the Welcome (an `MLSMessage`).
    #[prost(bytes = "vec", tag = "2")]
    pub welcome: Vec<u8>,
    /// CID of the TLS-serialised ratchet tree.
    #[prost(bytes = "vec", tag = "3")]
    pub ratchet_tree: Vec<u8>,
    /// The inviter's listen addresses (binary multiaddrs), to fetch from.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub addresses: Vec<Vec<u8>>,
    /// Whether `welcome` names the index of a split Welcome (a header and
    /// shards of the secrets, for commits adding many members) rather than
    /// the Welcome itself.
    #[prost(bool, tag = "5")]
    pub split_welcome: bool,
}

fn cipher(shared: &[u8; 32], ephemeral: &DmPublicKey, recipient: &DmPublicKey) -> ChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(DOMAIN), shared);
    let mut info = [0u8; 64];
    info[..32].copy_from_slice(ephemeral.as_bytes());
    info[32..].copy_from_slice(recipient.as_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is a valid HKDF-SHA256 output length.
    #[allow(clippy::expect_used)]
    hk.expand(&info, key.as_mut()).expect("32-byte HKDF output");
    ChaCha20Poly1305::new(&(*key).into())
}

impl Notification {
    /// Seals the notification to `recipient`; `ephemeral` must be fresh random bytes.
    pub fn seal(
        &self,
        recipient: &DmPublicKey,
        ephemeral: Zeroizing<[u8; 32]>,
    ) -> Result<Vec<u8>, NotificationError> {
        if self.heads.len() > MAX_NOTIFICATION_ITEMS
            || self.blocks.len() > MAX_NOTIFICATION_ITEMS
            || self.own_groups.len() > MAX_NOTIFICATION_ITEMS
        {
            return Err(NotificationError::TooManyItems);
        }
        let eph = DmSecret::from_bytes(*ephemeral);
        let eph_pub = eph.public();
        let shared = eph.diffie_hellman(recipient);
        if shared.iter().all(|b| *b == 0) {
            return Err(NotificationError::WeakKey);
        }
        let plain = Zeroizing::new(self.encode_to_vec());
        let ct = cipher(&shared, &eph_pub, recipient)
            .encrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: &plain,
                    aad: DOMAIN,
                },
            )
            .map_err(|_| NotificationError::Unseal)?;
        let mut out = Vec::with_capacity(33 + ct.len());
        out.push(VERSION);
        out.extend_from_slice(eph_pub.as_bytes());
        out.extend_from_slice(&ct);
        if out.len() > MAX_NOTIFICATION_BYTES {
            return Err(NotificationError::TooLarge {
                actual: out.len(),
                max: MAX_NOTIFICATION_BYTES,
            });
        }
        Ok(out)
    }

    /// Opens a sealed notification with the recipient's DM secret.
    pub fn open(recipient: &DmSecret, sealed: &[u8]) -> Result<Self, NotificationError> {
        if sealed.len() > MAX_NOTIFICATION_BYTES {
            return Err(NotificationError::TooLarge {
                actual: sealed.len(),
                max: MAX_NOTIFICATION_BYTES,
            });
        }
        let (&version, rest) = sealed.split_first().ok_or(NotificationError::Malformed)?;
        if version != VERSION || rest.len() < 32 + 16 {
            return Err(NotificationError::Malformed);
        }
        let (eph, ct) = rest.split_at(32);
        let eph = DmPublicKey::from_bytes(eph).map_err(|_| NotificationError::Malformed)?;
        let shared = recipient.diffie_hellman(&eph);
        let plain = Zeroizing::new(
            cipher(&shared, &eph, &recipient.public())
                .decrypt(
                    &[0u8; 12].into(),
                    Payload {
                        msg: ct,
                        aad: DOMAIN,
                    },
                )
                .map_err(|_| NotificationError::Unseal)?,
        );
        let n =
            Self::decode(plain.as_slice()).map_err(|e| NotificationError::Decode(e.to_string()))?;
        if n.heads.len() > MAX_NOTIFICATION_ITEMS
            || n.blocks.len() > MAX_NOTIFICATION_ITEMS
            || n.own_groups.len() > MAX_NOTIFICATION_ITEMS
        {
            return Err(NotificationError::TooManyItems);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let bob = DmSecret::from_bytes([2; 32]);
        let n = Notification {
            sender_document: vec![1, 2, 3],
            conversation: vec![9; 32],
            heads: vec![vec![1; 36]],
            blocks: vec![vec![7; 300]],
            ..Default::default()
        };
        let sealed = n.seal(&bob.public(), Zeroizing::new([5; 32])).unwrap();
        assert_eq!(Notification::open(&bob, &sealed).unwrap(), n);
        let eve = DmSecret::from_bytes([3; 32]);
        assert_eq!(
            Notification::open(&eve, &sealed),
            Err(NotificationError::Unseal)
        );
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(Notification::open(&bob, &bad).is_err());
        }
        assert_eq!(
            Notification::open(&bob, &[]),
            Err(NotificationError::Malformed)
        );
    }
}
