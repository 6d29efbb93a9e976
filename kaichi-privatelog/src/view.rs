//! The conversation view: text messages in order, with edits, deletes and
//! reactions applied.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::conversation::Conversation;
use crate::ids::EntryCid;
use crate::log::OrderKey;
use crate::message::{Attachment, MessageBody};

/// Most messages one page returns.
pub const MAX_PAGE: usize = 1000;

/// A position in the view; pass it back to get the next (older) page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cursor(pub(crate) OrderKey);

/// A cursor string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor (expected <clock>.<author hex>.<cid>)")]
pub struct CursorError;

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.", self.0.clock)?;
        for b in self.0.author {
            write!(f, "{b:02x}")?;
        }
        write!(f, ".{}", self.0.cid)
    }
}

impl FromStr for Cursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '.');
        let clock = parts
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or(CursorError)?;
        let author_hex = parts
            .next()
            .filter(|a| a.len() == 64 && a.is_ascii())
            .ok_or(CursorError)?;
        let mut author = [0u8; 32];
        for (i, b) in author.iter_mut().enumerate() {
            let pair = author_hex.get(2 * i..2 * i + 2).ok_or(CursorError)?;
            *b = u8::from_str_radix(pair, 16).map_err(|_| CursorError)?;
        }
        let cid = parts
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or(CursorError)?;
        Ok(Self(OrderKey { clock, author, cid }))
    }
}

/// One message as the view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMessage {
    /// The entry of the original message.
    pub cid: EntryCid,
    /// The author's IPNS key bytes.
    pub author: [u8; 32],
    /// Whether this side wrote it.
    pub mine: bool,
    /// Lamport clock.
    pub clock: u64,
    /// The sender's clock, Unix milliseconds (informational).
    pub sent_at_ms: u64,
    /// The text, after the author's latest edit; empty when deleted.
    pub text: String,
    /// Whether the author edited it.
    pub edited: bool,
    /// Whether the author deleted it.
    pub deleted: bool,
    /// The entry it replies to.
    pub reply_to: Option<EntryCid>,
    /// Attachments (dropped when deleted).
    pub attachments: Vec<Attachment>,
    /// Reactions: reaction -> author keys that currently hold it.
    pub reactions: BTreeMap<String, Vec<[u8; 32]>>,
    /// Where this message is in the view.
    pub cursor: Cursor,
    /// The other side holds it: for this side's messages, its node
    /// acknowledged storing it (or read it); the other side's are held here.
    pub delivered: bool,
    /// The reader has seen it: for this side's messages, the other side's
    /// newest read marker covers it; for theirs, this side's does.
    pub read: bool,
}

/// A page of the view, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The messages, newest first.
    pub messages: Vec<ViewMessage>,
    /// Pass this to get older messages; `None` at the start of the conversation.
    pub next: Option<Cursor>,
}

pub(crate) fn page(conv: &Conversation, cursor: Option<&Cursor>, limit: usize) -> Page {
    let limit = limit.clamp(1, MAX_PAGE);
    let log = conv.log();
    let iter: Box<dyn Iterator<Item = &OrderKey>> = match cursor {
        Some(c) => Box::new(log.before(&c.0)),
        None => Box::new(log.iter().rev()),
    };
    let me = conv.me().to_bytes();
    // Read markers, found once per page.
    let peer_read = conv.peer_read_up_to();
    let own_read = conv
        .read_marker(conv.me())
        .and_then(|cid| conv.log().key_of(&cid));
    let mut messages = Vec::with_capacity(limit);
    let mut last = None;
    let mut more = false;
    for key in iter {
        let Some(msg) = conv.message(&key.cid) else {
            continue;
        };
        let MessageBody::Text {
            text,
            reply_to,
            attachments,
        } = &msg.body
        else {
            continue;
        };
        if messages.len() == limit {
            more = true;
            break;
        }
        let mine = key.author == me;
        let read = if mine { peer_read } else { own_read }.is_some_and(|r| *key <= r);
        let mut view = ViewMessage {
            cid: key.cid,
            author: key.author,
            mine,
            clock: key.clock,
            sent_at_ms: msg.sent_at_ms,
            text: text.clone(),
            edited: false,
            deleted: false,
            reply_to: *reply_to,
            attachments: attachments.clone(),
            reactions: BTreeMap::new(),
            cursor: Cursor(*key),
            delivered: !mine || read || conv.delivered().contains(&key.cid),
            read,
        };
        apply_annotations(conv, key, &mut view);
        last = Some(Cursor(*key));
        messages.push(view);
    }
    Page {
        messages,
        next: if more { last } else { None },
    }
}

/// Applies edits and deletes by the message's author and reactions by
/// anyone, in view order (later wins).
fn apply_annotations(conv: &Conversation, target: &OrderKey, view: &mut ViewMessage) {
    let mut notes: Vec<OrderKey> = conv.annotations(&target.cid).to_vec();
    notes.sort_unstable();
    let mut reactions: BTreeMap<(String, [u8; 32]), bool> = BTreeMap::new();
    for note in notes {
        // Annotations must come after what they annotate.
        if note <= *target {
            continue;
        }
        let Some(m) = conv.message(&note.cid) else {
            continue;
        };
        match &m.body {
            MessageBody::Edit { text, .. } if note.author == target.author && !view.deleted => {
                view.text = text.clone();
                view.edited = true;
            }
            MessageBody::Delete { .. } if note.author == target.author => {
                view.deleted = true;
                view.text.clear();
                view.attachments.clear();
            }
            MessageBody::Reaction {
                reaction, remove, ..
            } => {
                reactions.insert((reaction.clone(), note.author), !remove);
            }
            _ => {}
        }
    }
    for ((reaction, author), on) in reactions {
        if on {
            view.reactions.entry(reaction).or_default().push(author);
        }
    }
}
