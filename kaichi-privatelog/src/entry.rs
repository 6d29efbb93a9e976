//! Log entries: building, signing, decoding and verifying.

use kaichi_identity::{IpnsKeypair, IpnsPublicKey};
use prost::Message as _;

use crate::envelope::{self, EnvelopeError, Header, MAX_ENVELOPE_BYTES, SALT_BYTES};
use crate::ids::{ConversationId, ENTRY_CID_BYTES, EntryCid};
use crate::keys::ConversationKeys;
use crate::message::{Message, MessageError};
use crate::proto::{EntryBodyPb, SignedEntryPb};

/// Most parents one entry may name.
pub const MAX_PARENTS: usize = 64;
/// Largest entry block accepted.
pub const MAX_ENTRY_BYTES: usize = MAX_ENVELOPE_BYTES + MAX_PARENTS * (ENTRY_CID_BYTES + 2) + 512;
/// Domain prefix of entry signatures.
const SIGNATURE_PREFIX: &[u8] = b"kaichi-privatelog-entry-v1:";

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
    /// Not an entry protobuf.
    #[error("not an entry: {0}")]
    Malformed(String),
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
        let body = EntryBodyPb {
            conversation: conversation.as_bytes().to_vec(),
            author: author.to_bytes().to_vec(),
            clock,
            parents: parents.iter().map(|p| p.to_bytes().to_vec()).collect(),
            envelope: envelope.clone(),
            signer: signer.map(|s| s.to_bytes().to_vec()).unwrap_or_default(),
        }
        .encode_to_vec();
        let mut signed = Vec::with_capacity(SIGNATURE_PREFIX.len() + body.len());
        signed.extend_from_slice(SIGNATURE_PREFIX);
        signed.extend_from_slice(&body);
        let block = SignedEntryPb {
            signature: signing.sign(&signed).to_vec(),
            body,
        }
        .encode_to_vec();
        Ok(Self {
            cid: EntryCid::of(&block),
            block,
            conversation,
            author,
            clock,
            parents,
            signer,
            envelope,
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
        let pb = SignedEntryPb::decode(block).map_err(|e| IngestError::Malformed(e.to_string()))?;
        if pb.signature.len() != 64 {
            return Err(IngestError::InvalidField("signature"));
        }
        let body = EntryBodyPb::decode(pb.body.as_slice())
            .map_err(|e| IngestError::Malformed(e.to_string()))?;
        let conversation = ConversationId::try_from_slice(&body.conversation)
            .ok_or(IngestError::InvalidField("conversation"))?;
        let author = IpnsPublicKey::from_bytes(&body.author)
            .map_err(|_| IngestError::InvalidField("author"))?;
        let signer = if body.signer.is_empty() {
            None
        } else {
            Some(
                IpnsPublicKey::from_bytes(&body.signer)
                    .map_err(|_| IngestError::InvalidField("signer"))?,
            )
        };
        if body.parents.len() > MAX_PARENTS {
            return Err(IngestError::BadParents);
        }
        let parents = body
            .parents
            .iter()
            .map(|p| EntryCid::from_bytes(p).map_err(|_| IngestError::InvalidField("parents")))
            .collect::<Result<Vec<_>, _>>()?;
        if parents.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
            return Err(IngestError::BadParents);
        }
        if body.clock == 0 || (body.clock == 1) != parents.is_empty() {
            return Err(IngestError::ClockRule {
                clock: body.clock,
                expected: if parents.is_empty() { 1 } else { 2 },
            });
        }
        if verify {
            let key = signer.as_ref().unwrap_or(&author);
            let mut signed = Vec::with_capacity(SIGNATURE_PREFIX.len() + pb.body.len());
            signed.extend_from_slice(SIGNATURE_PREFIX);
            signed.extend_from_slice(&pb.body);
            if !key.verify(&signed, &pb.signature) {
                return Err(IngestError::BadSignature);
            }
        }
        Ok(Self {
            cid,
            block: block.to_vec(),
            conversation,
            author,
            clock: body.clock,
            parents,
            signer,
            envelope: body.envelope,
        })
    }

    /// Decrypts the message with the conversation's keys.
    pub fn open(&self, keys: &ConversationKeys) -> Result<Message, IngestError> {
        let bytes = envelope::open(keys, &self.header(), &self.envelope)?;
        Ok(Message::decode(&bytes)?)
    }
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
