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
    /// The outbox tag names neither participant of this conversation (an
    /// entry of another conversation, or of nobody).
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
    /// The index of the conversation's settled entries (its store) could
    /// not be read; nothing changed, and the same block may be offered again.
    #[error(transparent)]
    Settled(#[from] crate::log::ColdError),
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
    log: AuthorTag,
    prev: Vec<EntryCid>,
    clock: u64,
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
        let log = <[u8; 32]>::try_from(node.log.as_slice())
            .map(AuthorTag)
            .map_err(|_| IngestError::InvalidField("log"))?;
        let prev = links(node.prev.iter().map(|c| Ok(*c)), "prev")?;
        if node.files.len() > MAX_ATTACHMENTS || !node.files.iter().all(is_file_link) {
            return Err(IngestError::InvalidField("files"));
        }
        if node.clock == 0 {
            return Err(IngestError::ClockRule {
                clock: 0,
                expected: 1,
            });
        }
        let header = node.header_bytes();
        let envelope = node.env.ok_or(IngestError::InvalidField("env"))?;
        Ok(Self {
            cid,
            block: block.to_vec(),
            log,
            prev,
            clock: node.clock,
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

    /// The outbox tag: one per author and conversation, and only the two
    /// participants can tell whose it is.
    pub fn log(&self) -> &AuthorTag {
        &self.log
    }

    /// The author's own previous entries this one links (what an IPFS node
    /// walking the outbox follows).
    pub fn prev(&self) -> &[EntryCid] {
        &self.prev
    }

    /// The Lamport clock.
    pub fn clock(&self) -> u64 {
        self.clock
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
    /// decrypts, checks the parents, the signature (when `verify`) and the
    /// file links. Returns the entry and its message; whether the signer may
    /// write for the author is the caller's check.
    pub(crate) fn open(
        &self,
        keys: &ConversationKeys,
        verify: bool,
    ) -> Result<(Entry, Message), IngestError> {
        let author = *keys
            .author_of(&self.log)
            .ok_or(IngestError::UnknownAuthor)?;
        let conversation = keys.id();
        let header = Header {
            conversation: &conversation,
            author: &author,
            clock: self.clock,
            bytes: &self.header,
        };
        let plaintext = envelope::open(keys, &header, &self.envelope)?;
        let SignedMessagePb {
            message,
            signature,
            signer,
            seen,
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
        let seen = links(
            seen.iter()
                .map(|b| Cid::try_from(b.as_slice()).map_err(|_| ())),
            "seen",
        )?;
        let parents = union(&self.prev, &seen)?;
        if (self.clock == 1) != parents.is_empty() {
            return Err(IngestError::ClockRule {
                clock: self.clock,
                expected: if parents.is_empty() { 1 } else { 2 },
            });
        }
        if verify {
            let key = signer.as_ref().unwrap_or(&author);
            let bytes = signed_bytes(&self.header, &seen, &message);
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
            conversation,
            author,
            signer,
            parents,
        };
        Ok((entry, message))
    }
}

/// Checks a list of entry links: valid entry CIDs, sorted, unique, at most
/// [`MAX_PARENTS`].
fn links(
    cids: impl ExactSizeIterator<Item = Result<Cid, ()>>,
    field: &'static str,
) -> Result<Vec<EntryCid>, IngestError> {
    if cids.len() > MAX_PARENTS {
        return Err(IngestError::BadParents);
    }
    let out = cids
        .map(|c| {
            c.and_then(|c| EntryCid::try_from(c).map_err(|_| ()))
                .map_err(|()| IngestError::InvalidField(field))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if out.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err(IngestError::BadParents);
    }
    Ok(out)
}

/// All parents: `prev` and `seen`, disjoint, at most [`MAX_PARENTS`] in all.
fn union(prev: &[EntryCid], seen: &[EntryCid]) -> Result<Vec<EntryCid>, IngestError> {
    let mut all = [prev, seen].concat();
    all.sort_unstable();
    all.dedup();
    if all.len() != prev.len() + seen.len() || all.len() > MAX_PARENTS {
        return Err(IngestError::BadParents);
    }
    Ok(all)
}

/// An entry a participant opened and verified: its conversation, author,
/// signer and parents are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    sealed: SealedEntry,
    conversation: ConversationId,
    author: IpnsPublicKey,
    signer: Option<IpnsPublicKey>,
    /// `prev` and `seen`, sorted.
    parents: Vec<EntryCid>,
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
        self.conversation
    }

    /// The author's IPNS key.
    pub fn author(&self) -> &IpnsPublicKey {
        &self.author
    }

    /// The Lamport clock.
    pub fn clock(&self) -> u64 {
        self.sealed.clock
    }

    /// All parents, sorted: the author's own previous entries (in the
    /// block) and the other side's (inside the envelope).
    pub fn parents(&self) -> &[EntryCid] {
        &self.parents
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

    /// Builds, signs and seals an entry on top of `prev` (the author's own
    /// outbox heads) and `seen` (the other side's heads), each sorted and
    /// unique.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn build(
        keys: &ConversationKeys,
        signing: &IpnsKeypair,
        author: IpnsPublicKey,
        clock: u64,
        prev: Vec<EntryCid>,
        seen: Vec<EntryCid>,
        message: &Message,
        salt: &[u8; SALT_BYTES],
    ) -> Result<Self, BuildError> {
        let log = keys
            .author_tag(&author)
            .ok_or(BuildError::NotAParticipant)?;
        let parents = union(&prev, &seen).map_err(|_| BuildError::TooManyParents)?;
        let encoded = Zeroizing::new(message.encode()?);
        let signer = (signing.public() != author).then(|| signing.public());
        let conversation = keys.id();
        let mut node = EntryNode {
            v: ENTRY_VERSION,
            env: None,
            log: log.0.to_vec(),
            prev: prev.iter().map(EntryCid::to_cid).collect(),
            clock,
            files: attachment_links(message),
        };
        let header_bytes = node.header_bytes();
        let signature = signing.sign(&signed_bytes(&header_bytes, &seen, &encoded));
        let plaintext = Zeroizing::new(
            SignedMessagePb {
                message: encoded.to_vec(),
                signature: signature.to_vec(),
                signer: signer.map(|s| s.to_bytes().to_vec()).unwrap_or_default(),
                seen: seen.iter().map(|c| c.to_bytes().to_vec()).collect(),
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
                log,
                prev,
                clock,
                files: node.files,
                envelope: sealed_envelope,
                header: header_bytes,
            },
            conversation,
            author,
            signer,
            parents,
        })
    }
}

/// What an entry signature covers: the header bytes, the other side's
/// parents and the message.
fn signed_bytes(header: &[u8], seen: &[EntryCid], message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        SIGNATURE_PREFIX.len() + header.len() + 4 + seen.len() * ENTRY_CID_BYTES + message.len(),
    );
    out.extend_from_slice(SIGNATURE_PREFIX);
    out.extend_from_slice(header);
    // At most MAX_PARENTS, so the count fits.
    out.extend_from_slice(&(seen.len() as u32).to_be_bytes());
    for c in seen {
        out.extend_from_slice(&c.to_bytes());
    }
    out.extend_from_slice(message);
    out
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
    /// More than [`MAX_PARENTS`] parents, or `prev` and `seen` overlap.
    #[error("at most {MAX_PARENTS} distinct parents")]
    TooManyParents,
}
