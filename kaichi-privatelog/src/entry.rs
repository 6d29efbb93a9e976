//! Log entries: building, sealing, decoding, opening and verifying.
//!
//! An entry block carries nothing that names a participant: the author is a
//! tag only the two participants can compute, and the signature (with the
//! device key that made it) is inside the envelope. So [`SealedEntry`] is
//! what anyone can check (CID, canonical form, fields, links), and
//! [`Entry`] is what a participant gets after opening and verifying it
//! ([`crate::Conversation::ingest`]).

use cid::Cid;
use kaichi_identity::{IpnsKeypair, IpnsPublicKey};
use prost::Message as _;
use zeroize::Zeroizing;

use crate::dag::{ENTRY_VERSION, EntryNode, NodeError};
use crate::envelope::{self, EnvelopeError, Header, MAX_ENVELOPE_BYTES, SALT_BYTES};
use crate::ids::{ConversationId, ENTRY_CID_BYTES, EntryCid, SHA2_256};
use crate::keys::{AuthorTag, ConversationKeys};
use crate::message::{MAX_ATTACHMENTS, Message, MessageBody, MessageError};
use crate::proto::SignedMessagePb;

/// Most parents one entry may name.
pub const MAX_PARENTS: usize = 64;
/// Largest entry block accepted: the envelope, the links (each a tag, a
/// byte-string header, 0x00 and up to 36 bytes of CID) and the fixed fields.
pub const MAX_ENTRY_BYTES: usize =
    MAX_ENVELOPE_BYTES + (MAX_PARENTS + MAX_ATTACHMENTS) * (ENTRY_CID_BYTES + 8) + 512;
/// Domain prefix of entry signatures (over the header bytes and the message).
const SIGNATURE_PREFIX: &[u8] = b"kaichi-privatelog-entry-v2:";
/// Room the signature, signer and framing take inside the envelope.
const SIGNED_OVERHEAD: usize = 128;

/// An entry block was rejected. Nothing is stored or changed when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// Over the size limit.
    #[error("entry is {actual} bytes (max {max})")]
    TooLarge {
        /// Bytes.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes do not hash to the CID they were announced under.
    #[error("block does not match its CID: expected {expected}, got {actual}")]
    CidMismatch {
        /// The CID it was fetched or announced as.
        expected: EntryCid,
        /// The CID of the bytes.
        actual: EntryCid,
    },
    /// Not a DAG-CBOR entry map.
    #[error("not an entry: {0}")]
    Malformed(String),
    /// A DAG-CBOR entry, but not the canonical encoding of its content.
    #[error("entry is not canonical DAG-CBOR")]
    NonCanonical,
    /// A version-1 (protobuf) entry: this version reads only DAG-CBOR
    /// entries (format 2).
    #[error("entry is in the retired version-1 (protobuf) format")]
    LegacyFormat,
    /// An entry format version this crate does not read.
    #[error("unsupported entry format version {0}")]
    UnsupportedVersion(u64),
    /// The links to attached files do not match the message's attachments.
    #[error("the entry's file links do not match its message's attachments")]
    FilesMismatch,
    /// A field has the wrong length or form.
    #[error("entry field {0} is invalid")]
    InvalidField(&'static str),
    /// The entry belongs to another conversation.
    #[error("entry is for conversation {actual}, not {expected}")]
    WrongConversation {
        /// This conversation.
        expected: ConversationId,
        /// The entry's.
        actual: ConversationId,
    },
    /// The author tag names neither participant.
    #[error("the author is not a participant of this conversation")]
    UnknownAuthor,
    /// The signing key is neither the author's nor one of its granted devices'.
    #[error("the signer is not authorised for this author")]
    UnauthorisedSigner,
    /// The signature does not verify.
    #[error("the entry signature does not verify")]
    BadSignature,
    /// Parents are not sorted and unique, or too many.
    #[error("parents must be sorted, unique and at most {MAX_PARENTS}")]
    BadParents,
    /// The Lamport clock rule is violated.
    #[error("clock {clock} breaks the rule clock = 1 + max(parent clocks) (expected {expected})")]
    ClockRule {
        /// The entry's clock.
        clock: u64,
        /// What the parents imply (a lower bound while parents are missing).
        expected: u64,
    },
    /// The entry was rejected before for breaking the clock rule.
    #[error("the entry was rejected before for breaking the clock rule")]
    PreviouslyRejected,
    /// The envelope does not open.
    #[error("envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The message inside is invalid.
    #[error("message: {0}")]
    Message(#[from] MessageError),
}

/// An entry block whose CID, canonical form and fields have been checked:
/// what anyone (a relay, an IPFS node, a tool) can know without the
/// conversation's keys. Not yet opened, and not yet known to be authentic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEntry {
    cid: EntryCid,
    block: Vec<u8>,
    conversation: ConversationId,
    from: AuthorTag,
    clock: u64,
    parents: Vec<EntryCid>,
    files: Vec<Cid>,
    envelope: Vec<u8>,
    header: Vec<u8>,
}

impl SealedEntry {
    /// Decodes a block and checks its CID (when `expected` is given), size,
    /// canonical DAG-CBOR form and fields. Opening and the signature are
    /// the conversation's job ([`crate::Conversation::ingest_sealed`]).
    pub fn decode(block: &[u8], expected: Option<&EntryCid>) -> Result<Self, IngestError> {
        if block.len() > MAX_ENTRY_BYTES {
            return Err(IngestError::TooLarge {
                actual: block.len(),
                max: MAX_ENTRY_BYTES,
            });
        }
        let cid = EntryCid::of(block);
        if let Some(expected) = expected.filter(|e| **e != cid) {
            return Err(IngestError::CidMismatch {
                expected: *expected,
                actual: cid,
            });
        }
        let node = EntryNode::decode(block).map_err(|e| match e {
            NodeError::Malformed(why) => IngestError::Malformed(why),
            NodeError::NonCanonical => IngestError::NonCanonical,
            NodeError::Legacy => IngestError::LegacyFormat,
        })?;
        if node.v != ENTRY_VERSION {
            return Err(IngestError::UnsupportedVersion(node.v));
        }
        let conversation = ConversationId::try_from_slice(&node.conversation)
            .ok_or(IngestError::InvalidField("conversation"))?;
        let from = <[u8; 32]>::try_from(node.from.as_slice())
            .map(AuthorTag)
            .map_err(|_| IngestError::InvalidField("from"))?;
        if node.parents.len() > MAX_PARENTS {
            return Err(IngestError::BadParents);
        }
        let parents = node
            .parents
            .iter()
            .map(|p| EntryCid::try_from(*p).map_err(|_| IngestError::InvalidField("parents")))
            .collect::<Result<Vec<_>, _>>()?;
        if parents.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
            return Err(IngestError::BadParents);
        }
        if node.files.len() > MAX_ATTACHMENTS || !node.files.iter().all(is_file_link) {
            return Err(IngestError::InvalidField("files"));
        }
        if node.clock == 0 || (node.clock == 1) != parents.is_empty() {
            return Err(IngestError::ClockRule {
                clock: node.clock,
                expected: if parents.is_empty() { 1 } else { 2 },
            });
        }
        let header = node.header_bytes();
        let envelope = node.env.ok_or(IngestError::InvalidField("env"))?;
        Ok(Self {
            cid,
            block: block.to_vec(),
            conversation,
            from,
            clock: node.clock,
            parents,
            files: node.files,
            envelope,
            header,
        })
    }

    /// The entry's CID.
    pub fn cid(&self) -> EntryCid {
        self.cid
    }

    /// The block bytes (what the CID hashes; store and send these).
    pub fn block(&self) -> &[u8] {
        &self.block
    }

    /// The conversation.
    pub fn conversation(&self) -> ConversationId {
        self.conversation
    }

    /// The author tag (only the participants can tell whose it is).
    pub fn from(&self) -> &AuthorTag {
        &self.from
    }

    /// The Lamport clock.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// The parents.
    pub fn parents(&self) -> &[EntryCid] {
        &self.parents
    }

    /// Links to the roots of attached files (what a recursive pin of the
    /// entry also pins), in the message's order.
    pub fn files(&self) -> &[Cid] {
        &self.files
    }

    /// The envelope (encrypted, signed message).
    pub fn envelope(&self) -> &[u8] {
        &self.envelope
    }

    /// Opens the envelope as a participant: finds the author from the tag,
    /// decrypts, checks the signature (when `verify`) and the file links.
    /// Returns the entry and its message; whether the signer may write for
    /// the author is the caller's check.
    pub(crate) fn open(
        &self,
        keys: &ConversationKeys,
        verify: bool,
    ) -> Result<(Entry, Message), IngestError> {
        if self.conversation != keys.id() {
            return Err(IngestError::WrongConversation {
                expected: keys.id(),
                actual: self.conversation,
            });
        }
        let author = *keys
            .author_of(&self.from)
            .ok_or(IngestError::UnknownAuthor)?;
        let header = Header {
            conversation: &self.conversation,
            author: &author,
            clock: self.clock,
            bytes: &self.header,
        };
        let plaintext = envelope::open(keys, &header, &self.envelope)?;
        let SignedMessagePb {
            message,
            signature,
            signer,
        } = SignedMessagePb::decode(plaintext.as_slice())
            .map_err(|e| IngestError::Malformed(e.to_string()))?;
        let message = Zeroizing::new(message);
        let signer = match signer.as_slice() {
            [] => None,
            bytes => Some(
                IpnsPublicKey::from_bytes(bytes)
                    .map_err(|_| IngestError::InvalidField("signer"))?,
            ),
        };
        if verify {
            let key = signer.as_ref().unwrap_or(&author);
            let bytes = signed_bytes(&self.header, &message);
            if signature.len() != 64 || !key.verify(&bytes, &signature) {
                return Err(IngestError::BadSignature);
            }
        }
        let message = Message::decode(&message)?;
        if attachment_links(&message) != self.files {
            return Err(IngestError::FilesMismatch);
        }
        let entry = Entry {
            sealed: self.clone(),
            author,
            signer,
        };
        Ok((entry, message))
    }
}

/// An entry a participant opened and verified: its author and signer are
/// known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    sealed: SealedEntry,
    author: IpnsPublicKey,
    signer: Option<IpnsPublicKey>,
}

impl Entry {
    /// The entry's CID.
    pub fn cid(&self) -> EntryCid {
        self.sealed.cid
    }

    /// The block bytes (what the CID hashes; store and send these).
    pub fn block(&self) -> &[u8] {
        &self.sealed.block
    }

    /// The conversation.
    pub fn conversation(&self) -> ConversationId {
        self.sealed.conversation
    }

    /// The author's IPNS key.
    pub fn author(&self) -> &IpnsPublicKey {
        &self.author
    }

    /// The Lamport clock.
    pub fn clock(&self) -> u64 {
        self.sealed.clock
    }

    /// The parents.
    pub fn parents(&self) -> &[EntryCid] {
        &self.sealed.parents
    }

    /// Links to the roots of attached files, in the message's order.
    pub fn files(&self) -> &[Cid] {
        &self.sealed.files
    }

    /// The envelope (encrypted, signed message).
    pub fn envelope(&self) -> &[u8] {
        &self.sealed.envelope
    }

    /// The device key that signed, when not the author's own key.
    pub fn signer(&self) -> Option<&IpnsPublicKey> {
        self.signer.as_ref()
    }

    /// The block as anyone sees it.
    pub fn sealed(&self) -> &SealedEntry {
        &self.sealed
    }

    /// Builds, signs and seals an entry. `parents` must be sorted and unique.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn build(
        keys: &ConversationKeys,
        signing: &IpnsKeypair,
        author: IpnsPublicKey,
        clock: u64,
        parents: Vec<EntryCid>,
        message: &Message,
        salt: &[u8; SALT_BYTES],
    ) -> Result<Self, BuildError> {
        let from = keys
            .author_tag(&author)
            .ok_or(BuildError::NotAParticipant)?;
        let encoded = Zeroizing::new(message.encode()?);
        let signer = (signing.public() != author).then(|| signing.public());
        let conversation = keys.id();
        let mut node = EntryNode {
            v: ENTRY_VERSION,
            env: None,
            from: from.0.to_vec(),
            clock,
            files: attachment_links(message),
            parents: parents.iter().map(EntryCid::to_cid).collect(),
            conversation: conversation.as_bytes().to_vec(),
        };
        let header_bytes = node.header_bytes();
        let signature = signing.sign(&signed_bytes(&header_bytes, &encoded));
        let plaintext = Zeroizing::new(
            SignedMessagePb {
                message: encoded.to_vec(),
                signature: signature.to_vec(),
                signer: signer.map(|s| s.to_bytes().to_vec()).unwrap_or_default(),
            }
            .encode_to_vec(),
        );
        if plaintext.len() > envelope::MAX_PLAINTEXT_BYTES {
            return Err(BuildError::Envelope(EnvelopeError::TooLarge {
                actual: encoded.len(),
                max: envelope::MAX_PLAINTEXT_BYTES - SIGNED_OVERHEAD,
            }));
        }
        let header = Header {
            conversation: &conversation,
            author: &author,
            clock,
            bytes: &header_bytes,
        };
        let sealed_envelope = envelope::seal(keys, &header, &plaintext, salt)?;
        node.env = Some(sealed_envelope.clone());
        let block = node.encode();
        Ok(Self {
            sealed: SealedEntry {
                cid: EntryCid::of(&block),
                block,
                conversation,
                from,
                clock,
                parents,
                files: node.files,
                envelope: sealed_envelope,
                header: header_bytes,
            },
            author,
            signer,
        })
    }
}

/// What an entry signature covers.
fn signed_bytes(header: &[u8], message: &[u8]) -> Vec<u8> {
    [SIGNATURE_PREFIX, header, message].concat()
}

/// The links an entry carries for a message's attachments.
fn attachment_links(message: &Message) -> Vec<Cid> {
    match &message.body {
        MessageBody::Text { attachments, .. } => attachments.iter().map(|a| a.cid).collect(),
        _ => Vec::new(),
    }
}

/// A file link: a CIDv1 over sha2-256, as Kaichi writes them.
fn is_file_link(cid: &Cid) -> bool {
    cid.version() == cid::Version::V1 && cid.hash().code() == SHA2_256 && cid.hash().size() == 32
}

/// An entry could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The message is invalid.
    #[error("message: {0}")]
    Message(#[from] MessageError),
    /// The message does not fit an envelope.
    #[error("envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The author is not one of the conversation's participants.
    #[error("the author is not a participant of this conversation")]
    NotAParticipant,
}
