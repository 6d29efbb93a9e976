//! The sync engine: notifications opened and merged, missing blocks fetched
//! breadth-first, blocks served, heads re-announced. [`state`] holds what
//! it is in the middle of (sans-IO, unit-tested); this file is the glue.

mod self_sync;
mod state;

pub(super) use self_sync::{MAX_PEER_DOCUMENT_BYTES, SEQUENCE_SKEW};
pub(super) use state::SyncState;

use kaichi_privatelog::store::{BlockStore as _, LogStore as _, StoredConversation};
use kaichi_privatelog::{ConversationId, Entry, EntryCid, Message, MessageBody, SealedEntry};
use libp2p::gossipsub::TopicHash;
use libp2p::request_response;
use zeroize::Zeroizing;

use super::{Engine, random};
use crate::engine::inbox_topic;
use crate::exchange::{BlockRequest, BlockResponse};
use crate::node::{NodeError, NodeEvent};
use crate::notification::{MAX_NOTIFICATION_BYTES, Notification};
use crate::rejection::Rejection;

/// Most own entries inlined in a re-announcement.
const MAX_RESYNC_BLOCKS: usize = 32;

impl Engine {
    /// When a contact's inbox gains a subscriber (the contact, or a relay
    /// for it, came back), re-announce our heads with our newest own entries
    /// inline, so whatever a lost notification carried is recovered. At
    /// most once per contact per [`state::RESYNC_INTERVAL`].
    pub(super) fn resync(&mut self, topic: &TopicHash) {
        let Some(contact) = self
            .contacts
            .values()
            .find(|c| inbox_topic(&c.peer.ipns_name()).hash() == *topic)
            .copied()
        else {
            return;
        };
        let me = self.keys.ipns().public().to_bytes();
        let Ok(conv) = self.conversation(&contact) else {
            return;
        };
        let heads = conv.heads();
        let mine: Vec<EntryCid> = conv
            .log()
            .iter()
            .rev()
            .filter(|k| k.author == me)
            .take(MAX_RESYNC_BLOCKS)
            .map(|k| k.cid)
            .collect();
        let mut blocks = Vec::new();
        let mut size = 0;
        for cid in mine {
            if let Ok(Some(block)) = self.store.get(&cid.to_cid()) {
                size += block.len();
                if size > MAX_NOTIFICATION_BYTES / 2 {
                    break;
                }
                blocks.push(block);
            }
        }
        if blocks.is_empty() {
            return;
        }
        let notification = self.entries_notification(&contact, &heads, blocks);
        let Ok(ephemeral) = random::<32>() else {
            return;
        };
        if !self.sync.may_resync(contact.id, std::time::Instant::now()) {
            return;
        }
        if let Ok(sealed) = notification.seal(&contact.peer.dm, Zeroizing::new(ephemeral)) {
            self.publish(topic.clone(), sealed);
        }
    }

    /// Opens, verifies and merges a notification; wants the missing blocks
    /// over Bitswap.
    pub(super) fn notification(&mut self, data: &[u8]) -> Result<(), Rejection> {
        if data.len() > MAX_NOTIFICATION_BYTES {
            return Err(Rejection::Oversized);
        }
        let n =
            Notification::open(self.keys.dm(), data).map_err(Rejection::Unopenable.because())?;
        let sender = self.remember_document(&n.sender_document);
        if sender
            .as_ref()
            .is_ok_and(|sender| sender.ipns == self.keys.ipns().public())
        {
            if !n.own_groups.is_empty() {
                return self.join_own_groups(&n.own_groups);
            }
            return self.self_sync(&n);
        }
        if sender.is_ok_and(|s| self.is_blocked(&s.wallet)) {
            return Err(Rejection::Blocked);
        }
        let (peer, new) = match self.add_contact(&n.sender_document) {
            Ok(v) => v,
            Err(e @ NodeError::Document(_)) => return Err(Rejection::BadDocument.because()(e)),
            Err(e) => return Err(Rejection::Local.because()(e)),
        };
        let id = self
            .conversation_id(&peer)
            .map_err(Rejection::Local.because())?;
        // Join requests and their answers are between a group's sequencer
        // and whoever asked to join; anyone else writing first is a request.
        let asked = n
            .invitation
            .as_ref()
            .is_some_and(|i| self.asked_to_join(&i.group));
        if new {
            if asked || n.join_request.is_some() || n.join_refusal.is_some() {
                self.emit(NodeEvent::ContactAdded {
                    name: peer.ipns_name(),
                    wallet: peer.wallet,
                });
            } else {
                self.new_request(&peer, id)?;
            }
        }
        if let Some(invitation) = &n.invitation {
            if self.requests.open.contains(&id) && !asked {
                return self.hold_invitation(id, peer, invitation);
            }
            return self.invitation(&peer, invitation);
        }
        if let Some(request) = &n.join_request {
            return self.join_request(&peer, request);
        }
        if let Some(refusal) = &n.join_refusal {
            return self.join_refused(&peer, refusal);
        }
        let stored = self.conversation_named(peer, &n.conversation)?;
        if let Some(receipt) = &n.receipt {
            self.receipt(&stored, receipt)?;
        }
        let mut accepted = Vec::new();
        let mut held = Vec::new();
        {
            let conv = self
                .conversation(&stored)
                .map_err(Rejection::Local.because())?;
            for block in &n.blocks {
                let sealed =
                    SealedEntry::decode(block, None).map_err(Rejection::BadEntry.because())?;
                let ingested = conv
                    .ingest_sealed(&sealed)
                    .map_err(Rejection::BadEntry.because())?;
                match ingested.entry {
                    Some(entry) => accepted.push(entry),
                    None => held.push(sealed.cid()),
                }
            }
        }
        // Sent again (our receipt was lost, or is on its way): acknowledged
        // again, when stored. New entries are acknowledged once stored.
        let again = self.stored_from_contact(&stored.id, &held);
        if !again.is_empty() {
            self.acknowledge(&stored, &again);
        }
        self.accepted(&stored, accepted);
        self.want_heads(stored.id, &n.heads);
        Ok(())
    }

    /// A notification of entries in the conversation with `contact`: our
    /// document, its heads and the entry blocks.
    pub(super) fn entries_notification(
        &self,
        contact: &StoredConversation,
        heads: &[EntryCid],
        blocks: Vec<Vec<u8>>,
    ) -> Notification {
        Notification {
            sender_document: self.document.clone(),
            conversation: contact.id.as_bytes().to_vec(),
            heads: heads.iter().map(|h| h.to_bytes().to_vec()).collect(),
            blocks,
            ..Default::default()
        }
    }

    /// The conversation with `peer`, which a notification names as
    /// `conversation` (refused when it names another).
    pub(super) fn conversation_named(
        &mut self,
        peer: kaichi_identity::IdentityPublic,
        conversation: &[u8],
    ) -> Result<StoredConversation, Rejection> {
        let stored = StoredConversation {
            id: self
                .conversation_id(&peer)
                .map_err(Rejection::BadDocument.because())?,
            peer,
        };
        if stored.id.as_bytes().as_slice() != conversation {
            return Err(Rejection::WrongConversation);
        }
        Ok(stored)
    }

    /// Wants the announced `heads` of `conversation` not held, and the
    /// parents of what is held.
    pub(super) fn want_heads(&mut self, conversation: ConversationId, heads: &[Vec<u8>]) {
        let conv = self.conversations.get(&conversation);
        let mut want: Vec<EntryCid> = heads
            .iter()
            .filter_map(|h| EntryCid::from_bytes(h).ok())
            .filter(|h| !conv.is_some_and(|c| c.contains(h)))
            .collect();
        if let Some(conv) = conv {
            want.extend(conv.missing());
        }
        self.fetch(conversation, want);
    }

    /// Asks Bitswap for the blocks of `conversation` in `want` that are
    /// not wanted already (every connected peer is asked; a new connection
    /// gets the whole wantlist), within [`state::MAX_WANTS`].
    pub(super) fn fetch(&mut self, conversation: ConversationId, want: Vec<EntryCid>) {
        let now = std::time::Instant::now();
        for cid in state::want_list(want) {
            if !self.sync.should_want(&cid) {
                continue;
            }
            let query = self.swarm.behaviour_mut().bitswap.get(&cid.to_cid());
            self.sync.wanting(query, cid, conversation, now);
        }
    }

    /// Runs on the retry timer: conversations whose wants no connected peer
    /// answered look up their providers; very old wants are cancelled.
    pub(super) fn check_wants(&mut self) {
        let now = std::time::Instant::now();
        for query in self.sync.expired(now) {
            self.swarm.behaviour_mut().bitswap.cancel(query);
        }
        for id in self.sync.stale(now) {
            self.find_providers(id);
        }
    }

    /// A Bitswap query ended: a block that came (its CID already checked)
    /// is verified as an entry and merged; breadth-first, its missing
    /// parents are asked for next.
    pub(super) fn bitswap(&mut self, event: beetswap::Event) {
        let (query, data) = match event {
            beetswap::Event::GetQueryResponse { query_id, data } => {
                if self.lookup_fetched(&query_id, Some(&data))
                    || self.pin_walk_fetched(&query_id, Some(&data))
                {
                    return;
                }
                if self.is_group_block_query(&query_id) {
                    self.group_block_got(&query_id, Ok(data));
                    return;
                }
                if self.block_gets.contains(&query_id) {
                    self.block_got(&query_id, Ok(data));
                    return;
                }
                (query_id, data)
            }
            beetswap::Event::GetQueryError { query_id, error } => {
                tracing::debug!(%error, "a Bitswap query failed");
                if !self.lookup_fetched(&query_id, None)
                    && !self.pin_walk_fetched(&query_id, None)
                    && !self.group_block_got(&query_id, Err(&error))
                    && !self.block_got(&query_id, Err(error))
                {
                    self.sync.want_ended(&query_id);
                }
                return;
            }
        };
        let Some((id, cid)) = self.sync.want_ended(&query) else {
            return;
        };
        let Some(stored) = self.contacts.get(&id).copied() else {
            return;
        };
        // The bytes match the CID (beetswap re-hashed them): whoever named
        // that CID in a head or parent named a block that is not a valid
        // entry of this conversation.
        let sealed = match SealedEntry::decode(&data, Some(&cid)) {
            Ok(sealed) => sealed,
            Err(e) => {
                tracing::debug!(%e, %cid, "a fetched block is not a valid entry");
                return;
            }
        };
        let ingested = match self.conversation(&stored) {
            Ok(conv) => conv.ingest_sealed(&sealed),
            Err(e) => {
                tracing::warn!(%e, "could not load a conversation");
                return;
            }
        };
        match ingested {
            Ok(ins) => self.accepted(&stored, ins.entry.into_iter().collect()),
            Err(e) => {
                tracing::debug!(%e, %cid, "a fetched entry does not fit its conversation");
                return;
            }
        }
        let missing = self.missing_blocks(&id);
        self.fetch(id, missing);
    }

    /// Persists newly accepted entries and reports text messages.
    /// Newly accepted entries go to the store in batches: they are written
    /// when the node has nothing else ready (or the batch is full), in one
    /// transaction per conversation, and only then reported. Nothing is
    /// acknowledged to anyone before that; entries lost to a crash in
    /// between come back from the sender's re-announcement.
    pub(super) fn accepted(&mut self, stored: &StoredConversation, entries: Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        if self.sync.accept(stored.id, entries) {
            self.flush_unsaved();
        }
    }

    /// Writes the accepted entries, then reports their messages.
    pub(super) fn flush_unsaved(&mut self) {
        for (id, entries) in self.sync.take_unsaved() {
            if let Err(e) = self
                .store
                .add_entries(&id, &entries.iter().collect::<Vec<_>>())
            {
                tracing::error!(%e, "could not store received entries");
                continue;
            }
            self.providers.heads_changed(id);
            // Stored: the contact's entries are acknowledged.
            if let Some(contact) = self.contacts.get(&id).copied() {
                let cids: Vec<EntryCid> = entries.iter().map(|e| e.cid()).collect();
                let theirs = self.stored_from_contact(&id, &cids);
                if !theirs.is_empty() {
                    self.acknowledge(&contact, &theirs);
                }
            }
            let mut events = Vec::new();
            if let Some(conv) = self.conversations.get(&id) {
                for e in &entries {
                    let (from, cid) = (e.author().name(), e.cid());
                    events.push(match conv.message(&cid) {
                        Some(Message {
                            body: MessageBody::Text { text, .. },
                            ..
                        }) => NodeEvent::MessageReceived {
                            conversation: id,
                            from,
                            cid,
                            text: text.clone(),
                        },
                        Some(m) => NodeEvent::MessageChanged {
                            conversation: id,
                            from,
                            cid,
                            body: m.body.clone(),
                        },
                        None => continue,
                    });
                }
            }
            for ev in events {
                self.emit(ev);
            }
            self.settle(&id);
        }
    }

    pub(super) fn blocks(&mut self, event: request_response::Event<BlockRequest, BlockResponse>) {
        let (peer, message) = match event {
            request_response::Event::Message { peer, message, .. } => (peer, message),
            // A fetch that failed (timeout, peer gone, protocol unsupported):
            // look for other holders of the conversation's blocks.
            request_response::Event::OutboundFailure {
                request_id,
                peer,
                error,
                ..
            } => {
                if let Some(r) = self.groups.fetches.remove(&request_id) {
                    self.group_fetch_failed(r, error);
                } else if self.token_finds.is_request(&request_id) {
                    self.token_finds.answered(&request_id, None);
                    self.finish_token_finds();
                } else {
                    tracing::debug!(%peer, %error, "a block request failed");
                }
                return;
            }
            _ => return,
        };
        match message {
            request_response::Message::Request {
                request, channel, ..
            } => {
                // Held notifications go only to the inbox's owner (its
                // PeerId is its IPNS name) and the devices its document lists.
                let notifications = if request.mailbox {
                    self.mailbox_for(&peer, &request.mailbox_document)
                } else {
                    Vec::new()
                };
                if !request.pin.is_empty() {
                    self.pin(&peer, &request.pin);
                }
                if !request.pin_roots.is_empty() {
                    self.pin_roots(&peer, &request.pin_roots);
                }
                let group_messages = if request.group.is_empty() {
                    Vec::new()
                } else {
                    let mut m = self.serve_group_log(&peer, &request);
                    if m.is_empty() {
                        m = self
                            .relay
                            .held_group_log(&request.group, request.since_epoch);
                    }
                    m
                };
                let token_groups = if request.token_groups.is_empty() {
                    Vec::new()
                } else {
                    self.announce_token_groups(&request.token_groups)
                };
                let response = BlockResponse {
                    notifications,
                    group_messages,
                    token_groups,
                };
                if self
                    .swarm
                    .behaviour_mut()
                    .blocks
                    .send_response(channel, response)
                    .is_err()
                {
                    // The held notifications in it are lost with the
                    // connection; the senders' re-announcements recover them.
                    tracing::debug!(%peer, "the peer left before the block response");
                }
            }
            request_response::Message::Response {
                request_id,
                response,
            } => {
                for sealed in &response.notifications {
                    if let Err(reason) = self.notification(sealed) {
                        self.rejected(peer, reason);
                    }
                }
                if self.groups.fetches.remove(&request_id).is_some() {
                    self.group_response(peer, &response);
                }
                if self.token_finds.is_request(&request_id) {
                    self.token_finds
                        .answered(&request_id, Some(&response.token_groups));
                    self.finish_token_finds();
                }
            }
        }
    }
}
