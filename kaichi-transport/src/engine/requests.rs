//! Message requests and blocking. A stranger's first message (or group
//! invitation) is kept, but their conversation is a request, not a
//! contact's, until this side accepts it or writes to them; invitations
//! from a request wait (bounded, kept in the store across restarts) until
//! then. A blocked wallet's
//! notifications are refused and nothing of theirs is kept, across
//! restarts. Both states live in the store.

use std::collections::HashMap;

use kaichi_groups::GroupId;
use kaichi_identity::{IdentityPublic, WalletAddress};
use kaichi_privatelog::ConversationId;
use kaichi_privatelog::store::LogStore as _;

use super::Engine;
use crate::node::{NodeError, NodeEvent};
use crate::notification::GroupInvitation;
use crate::peer::Peer;
use crate::rejection::Rejection;

/// Most invitations held per request.
pub(in crate::engine) const MAX_HELD_PER_PEER: usize = 16;
/// Most requests with held invitations.
pub(in crate::engine) const MAX_HELD_PEERS: usize = 1024;

/// The requests, and the invitations they sent.
#[derive(Debug, Default)]
pub(in crate::engine) struct Requests {
    /// Conversations that are requests (as the store says, cached).
    pub(in crate::engine) open: std::collections::HashSet<ConversationId>,
    held: HashMap<ConversationId, Vec<(IdentityPublic, GroupInvitation)>>,
}

impl Requests {
    /// The requests the store lists, and the invitations it kept for them
    /// (`peers`: who each conversation is with; a row that does not decode
    /// or names no known request is skipped, within the bounds).
    pub(in crate::engine) fn new(
        open: std::collections::HashSet<ConversationId>,
        kept: Vec<(ConversationId, Vec<u8>)>,
        peers: &HashMap<ConversationId, kaichi_privatelog::store::StoredConversation>,
    ) -> Self {
        use prost::Message as _;
        let mut held: HashMap<ConversationId, Vec<(IdentityPublic, GroupInvitation)>> =
            HashMap::new();
        for (id, bytes) in kept {
            let (Some(stored), Ok(invitation)) =
                (peers.get(&id), GroupInvitation::decode(bytes.as_slice()))
            else {
                continue;
            };
            if !open.contains(&id) || (held.len() >= MAX_HELD_PEERS && !held.contains_key(&id)) {
                continue;
            }
            let list = held.entry(id).or_default();
            if list.len() < MAX_HELD_PER_PEER {
                list.push((stored.peer, invitation));
            }
        }
        Self { open, held }
    }
}

impl Engine {
    /// Whether everything from `wallet` is refused.
    pub(super) fn is_blocked(&self, wallet: &WalletAddress) -> bool {
        self.store.is_blocked(wallet).unwrap_or_else(|e| {
            tracing::warn!(%e, "could not read the block list");
            false
        })
    }

    /// A stranger wrote first: their conversation is a request.
    pub(super) fn new_request(
        &mut self,
        peer: &IdentityPublic,
        id: ConversationId,
    ) -> Result<(), Rejection> {
        self.store
            .set_request(&id, true)
            .map_err(Rejection::Local.because())?;
        self.requests.open.insert(id);
        self.emit(NodeEvent::MessageRequest {
            name: peer.ipns_name(),
            wallet: peer.wallet,
        });
        Ok(())
    }

    /// Whether this node asked to join `group` (an invitation from its
    /// sequencer is the answer, not a request).
    pub(super) fn asked_to_join(&self, group: &[u8]) -> bool {
        self.join_requests
            .iter()
            .any(|(g, _)| g.as_bytes().as_slice() == group)
    }

    /// An invitation from a request: kept until the request is accepted.
    pub(super) fn hold_invitation(
        &mut self,
        id: ConversationId,
        peer: IdentityPublic,
        invitation: &GroupInvitation,
    ) -> Result<(), Rejection> {
        GroupId::from_slice(&invitation.group).map_err(|_| Rejection::BadInvitation)?;
        if self.requests.held.len() >= MAX_HELD_PEERS && !self.requests.held.contains_key(&id) {
            tracing::debug!("too many requests hold invitations; one is dropped");
            return Ok(());
        }
        let held = self.requests.held.entry(id).or_default();
        if held.len() < MAX_HELD_PER_PEER {
            use prost::Message as _;
            held.push((peer, invitation.clone()));
            self.store
                .hold_invitation(&id, &invitation.encode_to_vec())
                .map_err(Rejection::Local.because())?;
        }
        Ok(())
    }

    /// The request in `id`, if it is one, becomes a contact's conversation;
    /// the invitations it sent are taken up.
    pub(super) fn accept(&mut self, id: ConversationId) -> Result<(), NodeError> {
        if !self.requests.open.contains(&id) {
            return Ok(());
        }
        self.store.set_request(&id, false)?;
        self.store.release_invitations(&id)?;
        self.requests.open.remove(&id);
        for (peer, invitation) in self.requests.held.remove(&id).unwrap_or_default() {
            if let Err(reason) = self.invitation(&peer, &invitation) {
                tracing::debug!(%reason, "a held invitation is refused");
            }
        }
        Ok(())
    }

    /// Accepts the request of `peer`; returns who it is.
    pub(super) fn accept_request(&mut self, peer: &Peer) -> Result<IdentityPublic, NodeError> {
        let contact = self.find_contact(peer)?;
        self.accept(contact.id)?;
        Ok(contact.peer)
    }

    /// The identities whose conversations are requests.
    pub(super) fn request_list(&mut self) -> Result<Vec<IdentityPublic>, NodeError> {
        // Requests not loaded as contacts are looked up in one store read.
        let mut stored = None;
        let mut out = Vec::new();
        for id in &self.requests.open {
            if let Some(c) = self.contacts.get(id) {
                out.push(c.peer);
                continue;
            }
            if stored.is_none() {
                stored = Some(self.store.conversations()?);
            }
            if let Some(c) = stored.iter().flatten().find(|c| c.id == *id) {
                out.push(c.peer);
            }
        }
        Ok(out)
    }

    /// Blocks `peer`'s wallet (a contact, a request, or any wallet); its
    /// held invitations are dropped. Returns the wallet.
    pub(super) fn block(&mut self, peer: &Peer) -> Result<WalletAddress, NodeError> {
        let wallet = match peer {
            Peer::Wallet(w) => *w,
            Peer::Name(_) => self.find_contact(peer)?.peer.wallet,
        };
        self.store.set_blocked(&wallet, true)?;
        let dropped: Vec<ConversationId> = self
            .requests
            .held
            .iter()
            .filter(|(_, held)| held.iter().any(|(p, _)| p.wallet == wallet))
            .map(|(id, _)| *id)
            .collect();
        for id in dropped {
            self.store.release_invitations(&id)?;
            self.requests.held.remove(&id);
        }
        Ok(wallet)
    }

    /// Unblocks `wallet`.
    pub(super) fn unblock(&mut self, wallet: &WalletAddress) -> Result<(), NodeError> {
        self.store.set_blocked(wallet, false)?;
        Ok(())
    }
}
