//! One journal record: a change to a [`super::JournalStore`], as protobuf
//! bytes (see docs/PROTOCOL.md, "Journal records").

use cid::Cid;
use kaichi_identity::{DmPublicKey, IdentityPublic, IpnsPublicKey, KeyEpoch, WalletAddress};
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use crate::ids::{ConversationId, EntryCid};
use crate::log::OrderKey;
use crate::store::StoredConversation;

/// Largest record a journal writes or reads: a block of up to 2 MiB and
/// its CID.
pub const MAX_RECORD_BYTES: usize = 2 * 1024 * 1024 + 1024;

/// Most CIDs one delivery record names (receipts acknowledge at most
/// 1,024 entries; a larger call is written as several records).
pub(crate) const MAX_DELIVERED_PER_RECORD: usize = 1024;

/// The multihash code of SHA2-256.
const SHA2_256: u64 = 0x12;

/// A change to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// A block stored (not pinned).
    Put { cid: Cid, block: Vec<u8> },
    /// A block pinned.
    Pin(Cid),
    /// A block unpinned.
    Unpin(Cid),
    /// A conversation and its peer recorded.
    Conversation(StoredConversation),
    /// An entry stored, pinned and indexed; its author as the writer's
    /// verification found it (the block alone does not say).
    Entry {
        conversation: ConversationId,
        /// Its place in the conversation: the author is written; the clock
        /// and CID are read from the block (checked once, when decoded).
        key: OrderKey,
        block: Vec<u8>,
    },
    /// Entries marked delivered.
    Delivered {
        conversation: ConversationId,
        cids: Vec<EntryCid>,
    },
    /// A conversation marked a request (or accepted).
    Request {
        conversation: ConversationId,
        request: bool,
    },
    /// A group invitation held for a request.
    Hold {
        conversation: ConversationId,
        invitation: Vec<u8>,
    },
    /// The invitations held for a conversation released.
    Release(ConversationId),
    /// A contact's identity document kept.
    PeerDocument {
        conversation: ConversationId,
        document: Vec<u8>,
    },
    /// A wallet blocked (or unblocked).
    Blocked {
        wallet: WalletAddress,
        blocked: bool,
    },
}

/// A journal record that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Longer than [`MAX_RECORD_BYTES`].
    #[error("{actual} bytes, more than the {max} a record may have")]
    TooLarge {
        /// Its length.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Not a protobuf journal record.
    #[error("not a journal record: {0}")]
    Malformed(String),
    /// A record with no change in it, or one this version does not know.
    #[error("a record of an unknown kind")]
    UnknownKind,
    /// A field has the wrong length or form.
    #[error("invalid field {0}")]
    InvalidField(&'static str),
    /// A block does not hash to its CID.
    #[error("block {0} does not match its CID")]
    CidMismatch(Cid),
    /// An entry block is not a valid entry.
    #[error("entry block: {0}")]
    BadEntry(String),
}

#[derive(Clone, PartialEq, prost::Message)]
struct RecordPb {
    #[prost(oneof = "OpPb", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11")]
    op: Option<OpPb>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum OpPb {
    #[prost(message, tag = "1")]
    Put(BytesPairPb),
    #[prost(bytes, tag = "2")]
    Pin(Vec<u8>),
    #[prost(bytes, tag = "3")]
    Unpin(Vec<u8>),
    #[prost(message, tag = "4")]
    Conversation(ConversationPb),
    #[prost(message, tag = "5")]
    Entry(EntryPb),
    #[prost(message, tag = "6")]
    Delivered(DeliveredPb),
    #[prost(message, tag = "7")]
    Request(FlagPb),
    #[prost(message, tag = "8")]
    Hold(BytesPairPb),
    #[prost(bytes, tag = "9")]
    Release(Vec<u8>),
    #[prost(message, tag = "10")]
    PeerDocument(BytesPairPb),
    #[prost(message, tag = "11")]
    Blocked(FlagPb),
}

/// A key (a CID or a conversation id) and bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct BytesPairPb {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ConversationPb {
    #[prost(bytes = "vec", tag = "1")]
    id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    wallet: Vec<u8>,
    #[prost(uint32, tag = "3")]
    epoch: u32,
    #[prost(bytes = "vec", tag = "4")]
    ipns: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    dm: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EntryPb {
    #[prost(bytes = "vec", tag = "1")]
    conversation: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    author: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    block: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct DeliveredPb {
    #[prost(bytes = "vec", tag = "1")]
    conversation: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    cids: Vec<Vec<u8>>,
}

/// A key (a conversation id or a wallet) and a flag.
#[derive(Clone, PartialEq, prost::Message)]
struct FlagPb {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(bool, tag = "2")]
    on: bool,
}

fn pair(key: Vec<u8>, value: &[u8]) -> BytesPairPb {
    BytesPairPb {
        key,
        value: value.to_vec(),
    }
}

impl Record {
    /// The record's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let op = match self {
            Record::Put { cid, block } => OpPb::Put(pair(cid.to_bytes(), block)),
            Record::Pin(cid) => OpPb::Pin(cid.to_bytes()),
            Record::Unpin(cid) => OpPb::Unpin(cid.to_bytes()),
            Record::Conversation(c) => OpPb::Conversation(ConversationPb {
                id: c.id.as_bytes().to_vec(),
                wallet: c.peer.wallet.to_bytes().to_vec(),
                epoch: c.peer.epoch.get(),
                ipns: c.peer.ipns.to_bytes().to_vec(),
                dm: c.peer.dm.to_bytes().to_vec(),
            }),
            Record::Entry {
                conversation,
                key,
                block,
            } => OpPb::Entry(EntryPb {
                conversation: conversation.as_bytes().to_vec(),
                author: key.author.to_vec(),
                block: block.clone(),
            }),
            Record::Delivered { conversation, cids } => OpPb::Delivered(DeliveredPb {
                conversation: conversation.as_bytes().to_vec(),
                cids: cids.iter().map(|c| c.to_bytes().to_vec()).collect(),
            }),
            Record::Request {
                conversation,
                request,
            } => OpPb::Request(FlagPb {
                key: conversation.as_bytes().to_vec(),
                on: *request,
            }),
            Record::Hold {
                conversation,
                invitation,
            } => OpPb::Hold(pair(conversation.as_bytes().to_vec(), invitation)),
            Record::Release(conversation) => OpPb::Release(conversation.as_bytes().to_vec()),
            Record::PeerDocument {
                conversation,
                document,
            } => OpPb::PeerDocument(pair(conversation.as_bytes().to_vec(), document)),
            Record::Blocked { wallet, blocked } => OpPb::Blocked(FlagPb {
                key: wallet.to_bytes().to_vec(),
                on: *blocked,
            }),
        };
        RecordPb { op: Some(op) }.encode_to_vec()
    }

    /// Decodes and checks a record: lengths, keys, and that blocks hash to
    /// their CIDs (SHA2-256) and entry blocks are entries.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge {
                actual: bytes.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        let pb = RecordPb::decode(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        Ok(match pb.op.ok_or(RecordError::UnknownKind)? {
            OpPb::Put(p) => {
                let cid = cid_of(&p.key)?;
                check_digest(&cid, &p.value)?;
                Record::Put {
                    cid,
                    block: p.value,
                }
            }
            OpPb::Pin(c) => Record::Pin(cid_of(&c)?),
            OpPb::Unpin(c) => Record::Unpin(cid_of(&c)?),
            OpPb::Conversation(c) => Record::Conversation(StoredConversation {
                id: conversation_of(&c.id)?,
                peer: IdentityPublic {
                    wallet: wallet_of(&c.wallet)?,
                    epoch: KeyEpoch::new(c.epoch),
                    ipns: IpnsPublicKey::from_bytes(&c.ipns)
                        .map_err(|_| RecordError::InvalidField("ipns"))?,
                    dm: DmPublicKey::from_bytes(&c.dm)
                        .map_err(|_| RecordError::InvalidField("dm"))?,
                },
            }),
            OpPb::Entry(e) => {
                let author = <[u8; 32]>::try_from(e.author.as_slice())
                    .map_err(|_| RecordError::InvalidField("author"))?;
                IpnsPublicKey::from_bytes(&author)
                    .map_err(|_| RecordError::InvalidField("author"))?;
                let sealed = crate::entry::SealedEntry::decode(&e.block, None)
                    .map_err(|e| RecordError::BadEntry(e.to_string()))?;
                Record::Entry {
                    conversation: conversation_of(&e.conversation)?,
                    key: OrderKey {
                        clock: sealed.clock(),
                        author,
                        cid: sealed.cid(),
                    },
                    block: e.block,
                }
            }
            OpPb::Delivered(d) => {
                if d.cids.len() > MAX_DELIVERED_PER_RECORD {
                    return Err(RecordError::InvalidField("cids"));
                }
                Record::Delivered {
                    conversation: conversation_of(&d.conversation)?,
                    cids: d
                        .cids
                        .iter()
                        .map(|c| EntryCid::from_bytes(c))
                        .collect::<Result<_, _>>()
                        .map_err(|_| RecordError::InvalidField("cids"))?,
                }
            }
            OpPb::Request(f) => Record::Request {
                conversation: conversation_of(&f.key)?,
                request: f.on,
            },
            OpPb::Hold(p) => Record::Hold {
                conversation: conversation_of(&p.key)?,
                invitation: p.value,
            },
            OpPb::Release(c) => Record::Release(conversation_of(&c)?),
            OpPb::PeerDocument(p) => Record::PeerDocument {
                conversation: conversation_of(&p.key)?,
                document: p.value,
            },
            OpPb::Blocked(f) => Record::Blocked {
                wallet: wallet_of(&f.key)?,
                blocked: f.on,
            },
        })
    }
}

fn cid_of(bytes: &[u8]) -> Result<Cid, RecordError> {
    match Cid::try_from(bytes) {
        Ok(cid) if cid.to_bytes() == bytes => Ok(cid),
        _ => Err(RecordError::InvalidField("cid")),
    }
}

/// Blocks under a SHA2-256 CID must hash to it (other hash functions are
/// kept as written).
fn check_digest(cid: &Cid, block: &[u8]) -> Result<(), RecordError> {
    let hash = cid.hash();
    if hash.code() == SHA2_256 && hash.digest() != Sha256::digest(block).as_slice() {
        return Err(RecordError::CidMismatch(*cid));
    }
    Ok(())
}

fn conversation_of(bytes: &[u8]) -> Result<ConversationId, RecordError> {
    ConversationId::try_from_slice(bytes).ok_or(RecordError::InvalidField("conversation"))
}

fn wallet_of(bytes: &[u8]) -> Result<WalletAddress, RecordError> {
    WalletAddress::try_from_slice(bytes).map_err(|_| RecordError::InvalidField("wallet"))
}
