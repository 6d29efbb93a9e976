//! Printing results as text or JSON.

use std::collections::HashMap;

use kaichi_identity::IpnsPublicKey;
use kaichi_privatelog::{Conversation, Page};
use serde::Serialize;

/// Prints `value` as one line of JSON, or `text` for people.
pub(crate) fn emit<T: Serialize>(json: bool, value: &T, text: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(value)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

/// A message as `log show --json` and `dm read --json` print it.
#[derive(Debug, Serialize)]
pub(crate) struct MessageJson {
    pub(crate) cid: String,
    pub(crate) author: String,
    pub(crate) mine: bool,
    pub(crate) clock: u64,
    pub(crate) sent_at_ms: u64,
    pub(crate) text: String,
    pub(crate) edited: bool,
    pub(crate) deleted: bool,
    pub(crate) reply_to: Option<String>,
    pub(crate) reactions: HashMap<String, usize>,
    /// The other side holds it (for own messages: acknowledged or read).
    pub(crate) delivered: bool,
    /// The reader has seen it (for own messages: the other side's read
    /// marker covers it).
    pub(crate) read: bool,
}

/// How the plain output marks a message's delivery state (own messages:
/// sent, delivered or read; the other side's: nothing).
pub(crate) fn delivery_mark(mine: bool, delivered: bool, read: bool) -> &'static str {
    match (mine, delivered, read) {
        (false, _, _) => "",
        (true, _, true) => " (read)",
        (true, true, false) => " (delivered)",
        (true, false, false) => " (sent)",
    }
}

/// A page as printed.
#[derive(Debug, Serialize)]
pub(crate) struct PageJson {
    pub(crate) messages: Vec<MessageJson>,
    pub(crate) next: Option<String>,
}

/// A page of a conversation as JSON.
pub(crate) fn page_json(conv: &Conversation, page: &Page) -> PageJson {
    let name = |a: &[u8; 32]| {
        IpnsPublicKey::from_bytes(a).map_or_else(|_| "?".into(), |k| k.name().to_string())
    };
    PageJson {
        messages: page
            .messages
            .iter()
            .map(|m| MessageJson {
                cid: m.cid.to_string(),
                author: if m.author == conv.me().to_bytes() {
                    conv.me().name().to_string()
                } else {
                    name(&m.author)
                },
                mine: m.mine,
                clock: m.clock,
                sent_at_ms: m.sent_at_ms,
                text: m.text.clone(),
                edited: m.edited,
                deleted: m.deleted,
                reply_to: m.reply_to.map(|c| c.to_string()),
                reactions: m
                    .reactions
                    .iter()
                    .map(|(k, v)| (k.clone(), v.len()))
                    .collect(),
                delivered: m.delivered,
                read: m.read,
            })
            .collect(),
        next: page.next.map(|c| c.to_string()),
    }
}
