//! Plaintext messages: text, replies, edits, deletes, reactions, read
//! markers and attachments.

use std::fmt;

use cid::Cid;
use prost::Message as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::ids::EntryCid;
use crate::proto::{AttachmentPb, EditPb, Kind, MessagePb, ReactionPb, TextPb};

/// Longest text of a message or edit, in bytes.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// Longest reaction, in bytes.
pub const MAX_REACTION_BYTES: usize = 64;
/// Most attachments on one message.
pub const MAX_ATTACHMENTS: usize = 16;
/// Longest attachment MIME type or file name, in bytes.
pub const MAX_ATTACHMENT_FIELD_BYTES: usize = 255;

/// A message could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Not the message protobuf.
    #[error("not a message: {0}")]
    Malformed(String),
    /// No message kind.
    #[error("the message has no kind")]
    MissingKind,
    /// A CID field is not a valid CID of the right kind.
    #[error("{0} is not a valid CID")]
    BadCid(&'static str),
    /// An attachment key is not 32 bytes.
    #[error("an attachment key must be 32 bytes")]
    BadKey,
    /// A field exceeds its limit.
    #[error("{field} is {actual} bytes (max {max})")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its size.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Too many attachments.
    #[error("{actual} attachments (max {max})")]
    TooManyAttachments {
        /// How many.
        actual: usize,
        /// The limit.
        max: usize,
    },
}

/// A message as its author wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender's clock, Unix milliseconds. Informational only: order comes
    /// from the log, never from this.
    pub sent_at_ms: u64,
    /// What the message says or does.
    pub body: MessageBody,
}

/// What a message is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageBody {
    /// Text, optionally replying to an entry and carrying attachments.
    Text {
        /// The text.
        text: String,
        /// The entry this replies to.
        reply_to: Option<EntryCid>,
        /// Attached content.
        attachments: Vec<Attachment>,
    },
    /// Replaces the text of one of the author's own earlier messages.
    Edit {
        /// The message edited.
        target: EntryCid,
        /// The new text.
        text: String,
    },
    /// Deletes one of the author's own earlier messages.
    Delete {
        /// The message deleted.
        target: EntryCid,
    },
    /// Adds (or with `remove`, withdraws) a reaction.
    Reaction {
        /// The message reacted to.
        target: EntryCid,
        /// The reaction, e.g. an emoji.
        reaction: String,
        /// Withdraw instead of add.
        remove: bool,
    },
    /// The author has read everything up to this entry.
    ReadMarker {
        /// The last entry read.
        up_to: EntryCid,
    },
}

impl Message {
    /// A plain text message.
    pub fn text(text: impl Into<String>, sent_at_ms: u64) -> Self {
        Self {
            sent_at_ms,
            body: MessageBody::Text {
                text: text.into(),
                reply_to: None,
                attachments: Vec::new(),
            },
        }
    }

    /// Serializes the message, checking every limit.
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        let kind = match &self.body {
            MessageBody::Text {
                text,
                reply_to,
                attachments,
            } => {
                check_len("text", text.len(), MAX_TEXT_BYTES)?;
                if attachments.len() > MAX_ATTACHMENTS {
                    return Err(MessageError::TooManyAttachments {
                        actual: attachments.len(),
                        max: MAX_ATTACHMENTS,
                    });
                }
                for a in attachments {
                    check_len("mime", a.mime.len(), MAX_ATTACHMENT_FIELD_BYTES)?;
                    check_len("name", a.name.len(), MAX_ATTACHMENT_FIELD_BYTES)?;
                }
                Kind::Text(TextPb {
                    text: text.clone(),
                    reply_to: reply_to.map(|c| c.to_bytes().to_vec()).unwrap_or_default(),
                    attachments: attachments.iter().map(Attachment::to_pb).collect(),
                })
            }
            MessageBody::Edit { target, text } => {
                check_len("text", text.len(), MAX_TEXT_BYTES)?;
                Kind::Edit(EditPb {
                    target: target.to_bytes().to_vec(),
                    text: text.clone(),
                })
            }
            MessageBody::Delete { target } => Kind::Delete(target.to_bytes().to_vec()),
            MessageBody::Reaction {
                target,
                reaction,
                remove,
            } => {
                check_len("reaction", reaction.len(), MAX_REACTION_BYTES)?;
                Kind::Reaction(ReactionPb {
                    target: target.to_bytes().to_vec(),
                    reaction: reaction.clone(),
                    remove: *remove,
                })
            }
            MessageBody::ReadMarker { up_to } => Kind::ReadMarker(up_to.to_bytes().to_vec()),
        };
        Ok(MessagePb {
            sent_at_ms: self.sent_at_ms,
            kind: Some(kind),
        }
        .encode_to_vec())
    }

    /// Parses and validates a message.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let pb = MessagePb::decode(bytes).map_err(|e| MessageError::Malformed(e.to_string()))?;
        let entry =
            |field, b: &[u8]| EntryCid::from_bytes(b).map_err(|_| MessageError::BadCid(field));
        let body = match pb.kind.ok_or(MessageError::MissingKind)? {
            Kind::Text(t) => {
                check_len("text", t.text.len(), MAX_TEXT_BYTES)?;
                if t.attachments.len() > MAX_ATTACHMENTS {
                    return Err(MessageError::TooManyAttachments {
                        actual: t.attachments.len(),
                        max: MAX_ATTACHMENTS,
                    });
                }
                MessageBody::Text {
                    reply_to: if t.reply_to.is_empty() {
                        None
                    } else {
                        Some(entry("reply_to", &t.reply_to)?)
                    },
                    attachments: t
                        .attachments
                        .iter()
                        .map(Attachment::from_pb)
                        .collect::<Result<_, _>>()?,
                    text: t.text,
                }
            }
            Kind::Edit(e) => {
                check_len("text", e.text.len(), MAX_TEXT_BYTES)?;
                MessageBody::Edit {
                    target: entry("target", &e.target)?,
                    text: e.text,
                }
            }
            Kind::Delete(t) => MessageBody::Delete {
                target: entry("target", &t)?,
            },
            Kind::Reaction(r) => {
                check_len("reaction", r.reaction.len(), MAX_REACTION_BYTES)?;
                MessageBody::Reaction {
                    target: entry("target", &r.target)?,
                    reaction: r.reaction,
                    remove: r.remove,
                }
            }
            Kind::ReadMarker(t) => MessageBody::ReadMarker {
                up_to: entry("up_to", &t)?,
            },
        };
        Ok(Self {
            sent_at_ms: pb.sent_at_ms,
            body,
        })
    }
}

fn check_len(field: &'static str, actual: usize, max: usize) -> Result<(), MessageError> {
    if actual > max {
        return Err(MessageError::TooLong { field, actual, max });
    }
    Ok(())
}

/// The symmetric key of an attachment (zeroized on drop, never printed).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AttachmentKey(pub [u8; 32]);

impl fmt::Debug for AttachmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AttachmentKey(..)")
    }
}

/// Content attached to a message, stored as its own encrypted IPFS content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The (encrypted) content's CID.
    pub cid: Cid,
    /// The key that decrypts it.
    pub key: AttachmentKey,
    /// Plaintext size in bytes.
    pub size: u64,
    /// MIME type.
    pub mime: String,
    /// File name.
    pub name: String,
}

impl Attachment {
    fn to_pb(&self) -> AttachmentPb {
        AttachmentPb {
            cid: self.cid.to_bytes(),
            key: self.key.0.to_vec(),
            size: self.size,
            mime: self.mime.clone(),
            name: self.name.clone(),
        }
    }

    fn from_pb(pb: &AttachmentPb) -> Result<Self, MessageError> {
        check_len("mime", pb.mime.len(), MAX_ATTACHMENT_FIELD_BYTES)?;
        check_len("name", pb.name.len(), MAX_ATTACHMENT_FIELD_BYTES)?;
        Ok(Self {
            cid: Cid::try_from(pb.cid.as_slice())
                .map_err(|_| MessageError::BadCid("attachment"))?,
            key: AttachmentKey(
                <[u8; 32]>::try_from(pb.key.as_slice()).map_err(|_| MessageError::BadKey)?,
            ),
            size: pb.size,
            mime: pb.mime.clone(),
            name: pb.name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let target = EntryCid::of(b"x");
        let bodies = vec![
            MessageBody::Text {
                text: "hi".into(),
                reply_to: Some(target),
                attachments: vec![Attachment {
                    cid: target.to_cid(),
                    key: AttachmentKey([7; 32]),
                    size: 10,
                    mime: "image/png".into(),
                    name: "a.png".into(),
                }],
            },
            MessageBody::Edit {
                target,
                text: "hello".into(),
            },
            MessageBody::Delete { target },
            MessageBody::Reaction {
                target,
                reaction: "👍".into(),
                remove: false,
            },
            MessageBody::ReadMarker { up_to: target },
        ];
        for body in bodies {
            let m = Message {
                sent_at_ms: 5,
                body,
            };
            assert_eq!(Message::decode(&m.encode().unwrap()).unwrap(), m);
        }
    }

    #[test]
    fn limits_are_enforced_both_ways() {
        let m = Message::text("x".repeat(MAX_TEXT_BYTES + 1), 0);
        assert!(matches!(m.encode(), Err(MessageError::TooLong { .. })));
        assert_eq!(Message::decode(&[]), Err(MessageError::MissingKind));
        assert!(matches!(
            Message::decode(&[0xff]),
            Err(MessageError::Malformed(_))
        ));
    }
}
