//! Protobuf messages of message plaintexts (inside envelopes) (see docs/PROTOCOL.md).

/// The plaintext of an envelope: a message and its author's signature.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SignedMessagePb {
    /// `MessagePb` bytes exactly as signed.
    #[prost(bytes = "vec", tag = "1")]
    pub(crate) message: Vec<u8>,
    /// Ed25519 over the domain prefix, the entry's header bytes, `seen` and
    /// `message`.
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) signature: Vec<u8>,
    /// The signing key when it is a granted device's (32 bytes), else empty.
    #[prost(bytes = "vec", tag = "3")]
    pub(crate) signer: Vec<u8>,
    /// The other side's entries this one builds on (binary CIDs, sorted,
    /// unique): parents kept out of the block so it links nobody else's.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub(crate) seen: Vec<Vec<u8>>,
}

/// A message.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct MessagePb {
    /// Sender's clock, Unix milliseconds (informational, not trusted for order).
    #[prost(uint64, tag = "1")]
    pub(crate) sent_at_ms: u64,
    /// What the message is.
    #[prost(oneof = "Kind", tags = "2, 3, 4, 5, 6")]
    pub(crate) kind: Option<Kind>,
}

/// The kinds of message.
#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum Kind {
    /// A text message.
    #[prost(message, tag = "2")]
    Text(TextPb),
    /// An edit of an earlier text message by its author.
    #[prost(message, tag = "3")]
    Edit(EditPb),
    /// A deletion of an earlier message by its author.
    #[prost(bytes, tag = "4")]
    Delete(Vec<u8>),
    /// A reaction to a message.
    #[prost(message, tag = "5")]
    Reaction(ReactionPb),
    /// Everything up to this entry has been read.
    #[prost(bytes, tag = "6")]
    ReadMarker(Vec<u8>),
}

/// A text message.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TextPb {
    /// The text.
    #[prost(string, tag = "1")]
    pub(crate) text: String,
    /// The entry replied to (CID bytes), or empty.
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) reply_to: Vec<u8>,
    /// Attached content.
    #[prost(message, repeated, tag = "3")]
    pub(crate) attachments: Vec<AttachmentPb>,
}

/// An edit.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EditPb {
    /// The edited entry (CID bytes).
    #[prost(bytes = "vec", tag = "1")]
    pub(crate) target: Vec<u8>,
    /// The new text.
    #[prost(string, tag = "2")]
    pub(crate) text: String,
}

/// A reaction.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ReactionPb {
    /// The entry reacted to (CID bytes).
    #[prost(bytes = "vec", tag = "1")]
    pub(crate) target: Vec<u8>,
    /// The reaction, e.g. an emoji.
    #[prost(string, tag = "2")]
    pub(crate) reaction: String,
    /// Withdraws an earlier reaction.
    #[prost(bool, tag = "3")]
    pub(crate) remove: bool,
}

/// An attachment stored as its own (encrypted) IPFS content.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct AttachmentPb {
    /// The content's CID (binary).
    #[prost(bytes = "vec", tag = "1")]
    pub(crate) cid: Vec<u8>,
    /// The key that decrypts it (32 bytes).
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) key: Vec<u8>,
    /// Plaintext size in bytes.
    #[prost(uint64, tag = "3")]
    pub(crate) size: u64,
    /// MIME type.
    #[prost(string, tag = "4")]
    pub(crate) mime: String,
    /// File name.
    #[prost(string, tag = "5")]
    pub(crate) name: String,
}
