//! Direct messages: the message model of [`kaichi_privatelog`] (text,
//! replies, edits, deletions, reactions, read markers) sent to a person,
//! and their conversation read back.

use kaichi_privatelog::{EntryCid, MessageBody, Page};

use super::{Command, Node, NodeError};
use crate::peer::IntoPeer;

impl Node {
    /// Writes `body` to the conversation with `to` (a contact by wallet
    /// address or IPNS name; a wallet that is not a contact is looked up in
    /// the DHT first). Returns once the entry is stored; delivery continues
    /// in the background (retried while the recipient is unreachable).
    ///
    /// The other methods of this block are shorthands for it.
    pub async fn send(&self, to: impl IntoPeer, body: MessageBody) -> Result<EntryCid, NodeError> {
        let to = to.into_peer()?;
        self.ask(|reply| Command::Send { to, body, reply }).await?
    }

    /// Syncs a contact's outbox through IPNS: resolves the contact's name
    /// (a wallet is looked up first), fetches the root its record points
    /// to, then every entry of this conversation the root leads to (Bitswap,
    /// from any peer that holds them: the contact's node, its relays, IPFS
    /// nodes that pinned its root). Works with the contact offline. Fails
    /// with [`NodeError::SyncIncomplete`] when not everything arrived within
    /// a minute (what did is kept).
    pub async fn sync(&self, peer: impl IntoPeer) -> Result<SyncReport, NodeError> {
        let peer = peer.into_peer()?;
        self.ask(|reply| Command::Sync { peer, reply }).await?
    }

    /// Sends a text message.
    pub async fn send_dm(&self, to: impl IntoPeer, text: &str) -> Result<EntryCid, NodeError> {
        self.send(to, text_body(text, None)).await
    }

    /// Sends a text message replying to the entry `reply_to`.
    pub async fn reply(
        &self,
        to: impl IntoPeer,
        reply_to: EntryCid,
        text: &str,
    ) -> Result<EntryCid, NodeError> {
        self.send(to, text_body(text, Some(reply_to))).await
    }

    /// Replaces the text of one of this identity's earlier messages (the
    /// conversation view ignores edits of someone else's message).
    pub async fn edit(
        &self,
        to: impl IntoPeer,
        target: EntryCid,
        text: &str,
    ) -> Result<EntryCid, NodeError> {
        let text = text.to_owned();
        self.send(to, MessageBody::Edit { target, text }).await
    }

    /// Deletes one of this identity's earlier messages (the conversation
    /// view ignores deletions of someone else's message).
    pub async fn delete(&self, to: impl IntoPeer, target: EntryCid) -> Result<EntryCid, NodeError> {
        self.send(to, MessageBody::Delete { target }).await
    }

    /// Reacts to a message (`remove`: withdraws the reaction).
    pub async fn react(
        &self,
        to: impl IntoPeer,
        target: EntryCid,
        reaction: &str,
        remove: bool,
    ) -> Result<EntryCid, NodeError> {
        let reaction = reaction.to_owned();
        let body = MessageBody::Reaction {
            target,
            reaction,
            remove,
        };
        self.send(to, body).await
    }

    /// Tells the other side this identity has read everything up to `up_to`.
    pub async fn mark_read(
        &self,
        to: impl IntoPeer,
        up_to: EntryCid,
    ) -> Result<EntryCid, NodeError> {
        self.send(to, MessageBody::ReadMarker { up_to }).await
    }

    /// The newest `limit` messages of the conversation with a contact, with
    /// edits, deletions, reactions and read markers applied.
    pub async fn read(&self, peer: impl IntoPeer, limit: usize) -> Result<Page, NodeError> {
        let peer = peer.into_peer()?;
        self.ask(|reply| Command::Read { peer, limit, reply })
            .await?
    }
}

fn text_body(text: &str, reply_to: Option<EntryCid>) -> MessageBody {
    MessageBody::Text {
        text: text.to_owned(),
        reply_to,
        attachments: Vec::new(),
    }
}

/// What a sync through IPNS ([`Node::sync`]) brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// Entries fetched that were not held before.
    pub new_entries: u64,
    /// Entries the conversation holds now.
    pub entries: u64,
}
