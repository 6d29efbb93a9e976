#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod attachment;
pub mod blob;
pub mod car;
mod conversation;
mod dag;
mod delivery;
mod entry;
mod envelope;
mod ids;
mod keys;
mod log;
mod message;
pub mod notification;
mod proto;
mod root;
pub mod store;
mod view;

pub use conversation::{AppendError, Conversation, Ingested};
pub use delivery::MAX_UNDELIVERED;
pub use entry::{BuildError, Entry, IngestError, MAX_ENTRY_BYTES, MAX_PARENTS, SealedEntry};
pub use envelope::{EnvelopeError, MAX_ENVELOPE_BYTES, MAX_PLAINTEXT_BYTES, SALT_BYTES};
pub use ids::{
    BlockCid, ConversationId, DAG_CBOR_CODEC, ENTRY_CID_BYTES, EntryCid, IdError, RAW_CODEC,
    SHA2_256, Sha256Cid,
};
pub use keys::{AuthorTag, ConversationKeyError, ConversationKeys};
pub use log::{
    ClockViolation, ColdEntries, ColdError, EntryMeta, InsertError, Inserted, LogSet, OrderKey,
};
pub use message::{
    Attachment, AttachmentKey, MAX_ATTACHMENT_FIELD_BYTES, MAX_ATTACHMENTS, MAX_REACTION_BYTES,
    MAX_TEXT_BYTES, Message, MessageBody, MessageError,
};
pub use root::{MAX_ROOT_BYTES, MAX_ROOT_OUTBOXES, Root, RootCid, RootError};
pub use view::{Cursor, CursorError, MAX_PAGE, Page, ViewMessage};
