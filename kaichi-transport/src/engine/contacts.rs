//! Contacts and conversations: documents verified and cached, contacts
//! found by wallet or name (from memory, else the store), conversations
//! loaded on first use, and messages written and announced.

use kaichi_identity::document::verify_document;
use kaichi_identity::{IdentityPublic, IpnsName};
use kaichi_privatelog::store::{LogStore as _, StoredConversation};
use kaichi_privatelog::{Conversation, ConversationId, EntryCid, Message, MessageBody};
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::{Engine, MAX_CACHED_DOCUMENTS, inbox_topic, now, random};
use crate::node::NodeError;
use crate::peer::Peer;

impl Engine {
    /// Verifies a document (cached by digest) and remembers its KeyPackage
    /// references, without making its identity a contact.
    pub(super) fn remember_document(&mut self, doc: &[u8]) -> Result<IdentityPublic, NodeError> {
        let now = now();
        let digest: [u8; 32] = sha2::Sha256::digest(doc).into();
        if let Some(peer) = self.documents.get(&digest, now) {
            return Ok(peer);
        }
        let verified = verify_document(doc, now)?;
        self.remember_peer_document(verified.public().ipns_name(), doc);
        self.remember_key_packages(verified.public().ipns_name(), verified.key_packages());
        self.groups.session.devices_mut().remember(&verified);
        self.remember_devices(verified.clone());
        self.newer_own_document(&verified, doc);
        if let Ok(id) = self.conversation_id(verified.public())
            && self.contacts.contains_key(&id)
        {
            self.keep_peer_document(&id, doc, &verified);
        }
        self.documents
            .insert(digest, *verified.public(), verified.expires_at());
        Ok(*verified.public())
    }

    /// Keeps the bytes of a verified document (the newest per identity,
    /// within [`super::sync::MAX_PEER_DOCUMENT_BYTES`] in all) to send with
    /// self-sync notifications.
    fn remember_peer_document(&mut self, name: kaichi_identity::IpnsName, doc: &[u8]) {
        if !self.has_devices {
            return;
        }
        let held: usize = self.peer_documents.values().map(Vec::len).sum();
        if held + doc.len() > super::sync::MAX_PEER_DOCUMENT_BYTES {
            self.peer_documents.clear();
        }
        self.peer_documents.insert(name, doc.to_vec());
    }

    /// Keeps the newest verified document of an identity that grants (or
    /// granted) devices (bounded), and lets the loaded conversations with
    /// that identity accept its devices' entries, and no longer those of a
    /// device it revoked.
    pub(super) fn remember_devices(&mut self, doc: kaichi_identity::document::VerifiedDocument) {
        let name = doc.public().ipns_name();
        let revoked: Vec<kaichi_identity::IpnsPublicKey> = match self.device_documents.get(&name) {
            // Nothing granted before, nothing granted now.
            None if doc.devices().is_empty() => return,
            // An older document does not undo a newer one (a revocation).
            Some(known) if doc.version() < known.version() => return,
            Some(known) => {
                let now: Vec<_> = doc
                    .devices()
                    .iter()
                    .map(|g| g.request().signing_key())
                    .collect();
                known
                    .devices()
                    .iter()
                    .map(|g| g.request().signing_key())
                    .filter(|k| !now.contains(k))
                    .collect()
            }
            None => Vec::new(),
        };
        if !revoked.is_empty() {
            self.remove_revoked_devices(&name, &revoked);
        }
        let key = doc.public().ipns;
        for conv in self.conversations.values_mut() {
            if conv.peer() == &key || conv.me() == &key {
                conv.authorise_devices(&doc);
            }
        }
        if self.device_documents.len() >= MAX_CACHED_DOCUMENTS {
            self.device_documents.clear();
        }
        self.device_documents.insert(doc.public().ipns_name(), doc);
    }

    /// As sequencer: takes the leaves of `name` signed with a revoked key
    /// out of each group it sequences.
    fn remove_revoked_devices(
        &mut self,
        name: &kaichi_identity::IpnsName,
        keys: &[kaichi_identity::IpnsPublicKey],
    ) {
        let me = self.groups.session.me();
        let groups: Vec<kaichi_groups::GroupId> = self
            .groups
            .session
            .groups()
            .filter(|g| g.is_active() && g.is_sequencer(me) && g.is_member(name))
            .map(|g| g.id())
            .collect();
        for id in groups {
            match self.groups.session.remove_devices(id, name, keys) {
                Ok(_) => tracing::info!(%name, group = %id, "removed a revoked device"),
                Err(e) => {
                    tracing::info!(%name, group = %id, %e, "could not remove a revoked device")
                }
            }
        }
        self.pump_groups();
    }

    /// A verified, unexpired document of `name` held in the cache, or a
    /// contact's.
    pub(super) fn known_peer(&self, name: &IpnsName) -> Option<IdentityPublic> {
        self.documents.by_name(name, now()).or_else(|| {
            self.contacts
                .values()
                .find(|c| c.peer.ipns_name() == *name)
                .map(|c| c.peer)
        })
    }

    /// Verifies a document and records the conversation; returns the peer and
    /// whether they are new.
    pub(super) fn add_contact(&mut self, doc: &[u8]) -> Result<(IdentityPublic, bool), NodeError> {
        let peer = self.remember_document(doc)?;
        let id = self.conversation_id(&peer)?;
        if self.contacts.get(&id).is_some_and(|c| c.peer == peer) {
            return Ok((peer, false));
        }
        let known = self.store.conversations()?.iter().any(|c| c.id == id);
        let stored = StoredConversation { id, peer };
        if !known {
            self.store.save_conversation(&stored)?;
        }
        self.contacts.insert(id, stored);
        // Not a contact yet when `remember_document` saw it (rare: once per
        // contact added).
        if let Ok(verified) = verify_document(doc, now()) {
            self.keep_peer_document(&id, doc, &verified);
        }
        Ok((peer, !known))
    }

    /// Keeps a contact's verified document in the store when it is newer
    /// than the one kept: self-sync sends it to this identity's other
    /// devices, also after a restart (before the contact is heard from).
    fn keep_peer_document(
        &mut self,
        id: &ConversationId,
        doc: &[u8],
        given: &kaichi_identity::document::VerifiedDocument,
    ) {
        let newer = match self.store.peer_document(id) {
            Ok(Some(kept)) if kept == doc => false,
            Ok(Some(kept)) => verify_document(&kept, now()).map_or(true, |k| given.supersedes(&k)),
            Ok(None) => true,
            Err(e) => {
                tracing::debug!(%e, "could not read a contact's kept document");
                return;
            }
        };
        if newer && let Err(e) = self.store.save_peer_document(id, doc) {
            tracing::debug!(%e, "could not keep a contact's document");
        }
    }

    /// The id of the conversation with `peer` (cached: deriving it costs an X25519).
    pub(super) fn conversation_id(
        &mut self,
        peer: &IdentityPublic,
    ) -> Result<ConversationId, NodeError> {
        let key = peer.ipns.to_bytes();
        if let Some(id) = self.conversation_ids.get(&key) {
            return Ok(*id);
        }
        let id = Conversation::new(&self.keys, peer)?.id();
        if self.conversation_ids.len() >= MAX_CACHED_DOCUMENTS {
            self.conversation_ids.clear();
        }
        self.conversation_ids.insert(key, id);
        Ok(id)
    }

    /// A contact by wallet address or IPNS name: from the cache, else the
    /// store (contacts may be added by another process sharing the file).
    pub(super) fn find_contact(&mut self, peer: &Peer) -> Result<StoredConversation, NodeError> {
        let peer = *peer;
        let matches = |c: &StoredConversation| peer.names(&c.peer.wallet, &c.peer.ipns_name());
        if let Some(c) = self.contacts.values().find(|c| matches(c)) {
            return Ok(*c);
        }
        let found = self
            .store
            .conversations()?
            .into_iter()
            .find(|c| matches(c))
            .ok_or(NodeError::NotAContact(peer))?;
        self.contacts.insert(found.id, found);
        Ok(found)
    }

    /// An empty conversation with a stored contact, accepting the devices
    /// either side's documents grant.
    fn new_conversation(&self, c: &StoredConversation) -> Result<Conversation, NodeError> {
        let mut conv = Conversation::new(&self.keys, &c.peer)?;
        for doc in [&self.keys.ipns().name(), &c.peer.ipns_name()]
            .into_iter()
            .filter_map(|name| self.device_documents.get(name))
        {
            conv.authorise_devices(doc);
        }
        Ok(conv)
    }

    /// The loaded conversation with a stored contact.
    pub(super) fn conversation(
        &mut self,
        c: &StoredConversation,
    ) -> Result<&mut Conversation, NodeError> {
        if !self.conversations.contains_key(&c.id) {
            let mut conv = self.new_conversation(c)?;
            conv.load_settled(&self.store, self.config.conversation_window)
                .map_err(|e| NodeError::LoadConversation(Box::new(e)))?;
            self.conversations.insert(c.id, conv);
        }
        self.conversations
            .get_mut(&c.id)
            .ok_or(NodeError::NotAContact(Peer::Name(c.peer.ipns_name())))
    }

    /// Moves a loaded conversation's oldest entries out of memory once it
    /// holds twice its window, when all it holds is in the store.
    pub(super) fn settle(&mut self, id: &ConversationId) {
        let keep = self.config.conversation_window;
        if self.sync.has_unsaved() {
            return;
        }
        if let Some(conv) = self.conversations.get_mut(id)
            && conv.hot_len() > keep.saturating_mul(2)
        {
            let cold = kaichi_privatelog::store::SettledEntries::new(self.store.clone(), *id);
            conv.settle(std::sync::Arc::new(cold), keep);
        }
    }

    /// The newest page of the conversation with a contact: from memory, or
    /// from the store when it reaches settled entries (read with a window
    /// sixteen times larger each time until the page fits, so memory stays
    /// bounded by what the page needs).
    pub(super) fn read_page(
        &mut self,
        peer: &Peer,
        limit: usize,
    ) -> Result<kaichi_privatelog::Page, NodeError> {
        let contact = self.find_contact(peer)?;
        let conv = self.conversation(&contact)?;
        if let Some(page) = conv.held_page(None, limit) {
            return Ok(page);
        }
        let total = conv.len();
        let mut keep = self.config.conversation_window.saturating_mul(16);
        loop {
            let mut read = self.new_conversation(&contact)?;
            read.load_settled(&self.store, keep)
                .map_err(|e| NodeError::LoadConversation(Box::new(e)))?;
            match read.held_page(None, limit) {
                Some(page) => return Ok(page),
                None if keep >= total => return Ok(read.page(None, limit)),
                None => keep = keep.saturating_mul(16),
            }
        }
    }

    /// Writes a message to the conversation with a contact and tells them.
    pub(super) fn send_message(
        &mut self,
        to: &Peer,
        body: MessageBody,
    ) -> Result<EntryCid, NodeError> {
        let contact = self.find_contact(to)?;
        // Writing to a request accepts it.
        self.accept(contact.id)?;
        let sent_at_ms = now().unix_nanos() / 1_000_000;
        let salt = random::<16>()?;
        // A device signs with its own key (the identity's document grants
        // it), so contacts can tell its entries from the identity's.
        let ipns = self
            .config
            .device_signing_key
            .clone()
            .unwrap_or_else(|| self.keys.ipns().clone());
        let conv = self.conversation(&contact)?;
        let entry = conv.append(&ipns, &Message { sent_at_ms, body }, &salt)?;
        let heads = conv.heads();
        self.store.add_entries(&contact.id, &[&entry])?;
        self.settle(&contact.id);
        // The root lists the new head at once (a relay met now gets it);
        // its publication and the provider records follow, rate-limited.
        self.outbox_changed(&contact.id);
        self.providers.heads_changed(contact.id);
        self.announce_to_own_devices(&contact, &heads, vec![entry.block().to_vec()]);
        let notification =
            self.entries_notification(&contact, &heads, vec![entry.block().to_vec()]);
        let sealed = notification.seal(&contact.peer.dm, Zeroizing::new(random::<32>()?))?;
        self.publish(inbox_topic(&contact.peer.ipns_name()).hash(), sealed);
        self.redelivery.sent(contact.id, std::time::Instant::now());
        self.pin_at_relays(entry.block());
        Ok(entry.cid())
    }

    /// The blocks a loaded conversation is missing (none when not loaded).
    pub(super) fn missing_blocks(&self, id: &ConversationId) -> Vec<EntryCid> {
        self.conversations
            .get(id)
            .map(|c| c.missing())
            .unwrap_or_default()
    }

    /// Dials each of `peers` not connected (a new connection gets Bitswap's
    /// whole wantlist).
    pub(super) fn dial_all(&mut self, peers: impl IntoIterator<Item = libp2p::PeerId>) {
        for peer in peers {
            if !self.swarm.is_connected(&peer)
                && let Err(e) = self.swarm.dial(peer)
            {
                tracing::debug!(%peer, %e, "could not dial a provider");
            }
        }
    }
}
