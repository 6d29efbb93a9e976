//! Log entries: building, signing, decoding and verifying.

use cid::Cid;
use kaichi_identity::{IpnsKeypair, IpnsPublicKey};

use crate::dag::{ENTRY_VERSION, EntryNode, NodeError};
use crate::envelope::{self, EnvelopeError, Header, MAX_ENVELOPE_BYTES, SALT_BYTES};
use crate::ids::{ConversationId, ENTRY_CID_BYTES, EntryCid, SHA2_256};
use crate::keys::ConversationKeys;
use crate::message::{MAX_ATTACHMENTS, Message, MessageBody, MessageError};

/// Most parents one entry may name.
pub const MAX_PARENTS: usize = 64;
/// Largest entry block accepted: the envelope, the links (each a tag, a
/// byte-string header, 0x00 and up to 36 bytes of CID) and the fixed fields.
pub const MAX_ENTRY_BYTES: usize =
    MAX_ENVELOPE_BYTES + (MAX_PARENTS + MAX_ATTACHMENTS) * (ENTRY_CID_BYTES + 8) + 512;
/// Domain prefix of entry signatures (over the entry map without `sig`).
const SIGNATURE_PREFIX: &[u8] = b"kaichi-privatelog-entry-v2:";

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
    /// The author is not a participant.
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

/// A decoded entry whose CID, fields and signature have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub(crate) cid: EntryCid,
    pub(crate) block: Vec<u8>,
    pub(crate) conversation: ConversationId,
    pub(crate) author: IpnsPublicKey,
    pub(crate) clock: u64,
    pub(crate) parents: Vec<EntryCid>,
    pub(crate) signer: Option<IpnsPublicKey>,
    pub(crate) files: Vec<Cid>,
    pub(crate) envelope: Vec<u8>,
}

impl Entry {
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

    /// The author's IPNS key.
    pub fn author(&self) -> &IpnsPublicKey {
        &self.author
    }

    /// The Lamport clock.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// The parents.
    pub fn parents(&self) -> &[EntryCid] {
        &self.parents
    }

    /// The encrypted message.
    pub fn envelope(&self) -> &[u8] {
        &self.envelope
    }

    /// Links to the roots of attached files (what a recursive pin of the
    /// entry also pins), in the message's order.
    pub fn files(&self) -> &[Cid] {
        &self.files
    }

    /// The device key that signed, when not the author's own key.
    pub fn signer(&self) -> Option<&IpnsPublicKey> {
        self.signer.as_ref()
    }

    pub(crate) fn header(&self) -> Header<'_> {
        Header {
            conversation: &self.conversation,
            author: &self.author,
            clock: self.clock,
            parents: &self.parents,
            signer: self.signer.as_ref(),
        }
    }

    /// Builds and signs an entry. `parents` must be sorted and unique.
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
        let plaintext = zeroize::Zeroizing::new(message.encode()?);
        let signer = (signing.public() != author).then(|| signing.public());
        let conversation = keys.id();
        let header = Header {
            conversation: &conversation,
            author: &author,
            clock,
            parents: &parents,
            signer: signer.as_ref(),
        };
        let envelope = envelope::seal(keys, &header, &plaintext, salt)?;
        let files = attachment_links(message);
        let mut node = EntryNode {
            v: ENTRY_VERSION,
            env: envelope,
            sig: None,
            clock,
            files,
            author: author.to_bytes().to_vec(),
            signer: signer.map(|s| s.to_bytes().to_vec()),
            parents: parents.iter().map(EntryCid::to_cid).collect(),
            conversation: conversation.as_bytes().to_vec(),
        };
        node.sig = Some(signing.sign(&node.signed_bytes(SIGNATURE_PREFIX)).to_vec());
        let block = node.encode();
        Ok(Self {
            cid: EntryCid::of(&block),
            block,
            conversation,
            author,
            clock,
            parents,
            signer,
            files: node.files,
            envelope: node.env,
        })
    }

    /// Decodes a block and checks its CID (when `expected` is given), size,
    /// fields and signature. Does not check who may author (see
    /// [`crate::Conversation::ingest`], which does).
    pub fn decode_and_verify(
        block: &[u8],
        expected: Option<&EntryCid>,
    ) -> Result<Self, IngestError> {
        Self::decode_checked(block, expected, true)
    }

    /// Decodes a block without verifying its signature: only for blocks this
    /// process verified before storing them.
    pub(crate) fn decode(block: &[u8], expected: Option<&EntryCid>) -> Result<Self, IngestError> {
        Self::decode_checked(block, expected, false)
    }

    /// Decodes once; checks the signature when `verify` is set.
    fn decode_checked(
        block: &[u8],
        expected: Option<&EntryCid>,
        verify: bool,
    ) -> Result<Self, IngestError> {
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
        let signature = node
            .sig
            .as_deref()
            .filter(|s| s.len() == 64)
            .ok_or(IngestError::InvalidField("sig"))?;
        let conversation = ConversationId::try_from_slice(&node.conversation)
            .ok_or(IngestError::InvalidField("conversation"))?;
        let author = IpnsPublicKey::from_bytes(&node.author)
            .map_err(|_| IngestError::InvalidField("author"))?;
        let signer = match &node.signer {
            None => None,
            Some(bytes) => Some(
                IpnsPublicKey::from_bytes(bytes)
                    .map_err(|_| IngestError::InvalidField("signer"))?,
            ),
        };
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
        if verify {
            let key = signer.as_ref().unwrap_or(&author);
            if !key.verify(&node.signed_bytes(SIGNATURE_PREFIX), signature) {
                return Err(IngestError::BadSignature);
            }
        }
        Ok(Self {
            cid,
            block: block.to_vec(),
            conversation,
            author,
            clock: node.clock,
            parents,
            signer,
            files: node.files,
            envelope: node.env,
        })
    }

    /// Decrypts the message with the conversation's keys.
    pub fn open(&self, keys: &ConversationKeys) -> Result<Message, IngestError> {
        let bytes = envelope::open(keys, &self.header(), &self.envelope)?;
        let message = Message::decode(&bytes)?;
        if attachment_links(&message) != self.files {
            return Err(IngestError::FilesMismatch);
        }
        Ok(message)
    }
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
}
