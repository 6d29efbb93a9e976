//! What waits on a document lookup, and what happens when it ends: a DM or
//! an invitation to someone not yet a contact, a Welcome to a member whose
//! inbox key is unknown, group work waiting for a member's device keys.

use kaichi_groups::GroupRef;
use kaichi_identity::document::verify_document;
use kaichi_identity::{IdentityPublic, IpnsName, WalletAddress};
use kaichi_privatelog::{EntryCid, MessageBody};
use libp2p::kad;

use super::groups::{DeviceRetry, PendingWelcome};
use super::{Engine, now};
use crate::node::{NodeError, Reply};
use crate::peer::Peer;

/// What waits on a lookup.
pub(super) enum Waiter {
    /// A message to send once the recipient is a contact.
    Send {
        body: MessageBody,
        reply: Reply<EntryCid>,
    },
    /// An invitation that needs the member's KeyPackage references.
    Invite { group: GroupRef, reply: Reply<u64> },
    /// A Welcome (a group's, with its CIDs) that needs the member's inbox key.
    Welcome(PendingWelcome),
    /// Group work that needs the identity's device keys.
    Devices(DeviceRetry),
}

impl Waiter {
    /// Whether what waits makes the found identity a contact.
    fn makes_contact(&self) -> bool {
        matches!(self, Self::Send { .. } | Self::Invite { .. })
    }
}

/// The lookups the engine runs.
pub(super) type DocumentLookups = super::dht::Lookups<kad::QueryId, Waiter>;

impl Engine {
    /// Waits with `waiter` for `target`'s document (joining a lookup that
    /// runs, or starting one); gives the waiter back when too many run.
    fn look_up(&mut self, target: Peer, waiter: Waiter) -> Option<Waiter> {
        match self.lookups.join(target, waiter) {
            Ok(Some(lookup)) => {
                let key = super::dht::document_key(&lookup.target);
                let query = self.swarm.behaviour_mut().kad.get_record(key);
                self.lookups.started(query, lookup);
                None
            }
            Ok(None) => None,
            Err(waiter) => Some(waiter),
        }
    }

    /// Sends `body` to a wallet once its document is found.
    pub(super) fn send_after_lookup(
        &mut self,
        wallet: WalletAddress,
        body: MessageBody,
        reply: Reply<EntryCid>,
    ) {
        if let Some(Waiter::Send { reply, .. }) =
            self.look_up(Peer::Wallet(wallet), Waiter::Send { body, reply })
        {
            let _ = reply.send(Err(NodeError::TooManyLookups));
        }
    }

    /// Looks a person's current document up to learn its KeyPackage
    /// references, then goes on with the invitation.
    pub(super) fn lookup_for_invite(&mut self, target: Peer, group: GroupRef, reply: Reply<u64>) {
        if let Some(Waiter::Invite { reply, .. }) =
            self.look_up(target, Waiter::Invite { group, reply })
        {
            let _ = reply.send(Err(NodeError::TooManyLookups));
        }
    }

    /// Looks a group member's document up by name to send them a Welcome.
    pub(super) fn lookup_for_welcome(&mut self, name: IpnsName, welcome: PendingWelcome) -> bool {
        self.look_up(Peer::Name(name), Waiter::Welcome(welcome))
            .is_none()
    }

    /// Looks an identity's document up by name to learn its device keys,
    /// then retries `retry`.
    pub(super) fn lookup_for_devices(&mut self, name: IpnsName, retry: DeviceRetry) -> bool {
        self.look_up(Peer::Name(name), Waiter::Devices(retry))
            .is_none()
    }

    /// A lookup's query found a record: a valid document of its target ends
    /// it; anything else starts it again while tries are left.
    pub(super) fn lookup_found(&mut self, query: kad::QueryId, record: &[u8]) {
        let Some(lookup) = self.lookups.finished(&query) else {
            return;
        };
        let found = verify_document(record, now())
            .map_err(NodeError::from)
            .and_then(|v| {
                let public = *v.public();
                if !lookup.is_for(&public) {
                    return Err(NodeError::WrongDocument(lookup.target));
                }
                if lookup.waiters.iter().any(Waiter::makes_contact) {
                    self.add_contact(record).map(|(peer, _)| peer)
                } else {
                    self.remember_document(record)
                }
            });
        match found {
            Ok(peer) => self.lookup_done(lookup.waiters, &peer),
            Err(e) => match lookup.retry() {
                Ok(lookup) => {
                    // Not a valid document for this target: keep looking.
                    tracing::debug!(%e, target = %lookup.target, "refused a looked-up document");
                    let key = super::dht::document_key(&lookup.target);
                    let query = self.swarm.behaviour_mut().kad.get_record(key);
                    self.lookups.started(query, lookup);
                }
                Err(lookup) => self.lookup_failed(lookup.target, lookup.waiters),
            },
        }
    }

    /// A lookup's query ended without a record.
    pub(super) fn lookup_ended(&mut self, query: kad::QueryId) {
        if let Some(lookup) = self.lookups.finished(&query) {
            self.lookup_failed(lookup.target, lookup.waiters);
        }
    }

    fn lookup_done(&mut self, waiters: Vec<Waiter>, peer: &IdentityPublic) {
        let to = Peer::Wallet(peer.wallet);
        for waiter in waiters {
            match waiter {
                Waiter::Send { body, reply } => {
                    let _ = reply.send(self.send_message(&to, body));
                }
                Waiter::Invite { group, reply } => self.invite_known(&group, &to, reply),
                Waiter::Welcome(welcome) => self.send_invitation(peer, &welcome),
                Waiter::Devices(retry) => self.retry_after_devices(retry),
            }
        }
    }

    fn lookup_failed(&mut self, target: Peer, waiters: Vec<Waiter>) {
        for waiter in waiters {
            match waiter {
                Waiter::Send { reply, .. } => {
                    let _ = reply.send(Err(NodeError::DocumentNotFound(target)));
                }
                Waiter::Invite { reply, .. } => {
                    let _ = reply.send(Err(NodeError::DocumentNotFound(target)));
                }
                Waiter::Welcome(w) => {
                    tracing::debug!(%target, group = %w.group, "no document found: the Welcome is not delivered");
                }
                // Applied again: without the keys it is now set aside.
                Waiter::Devices(retry) => self.retry_after_devices(retry),
            }
        }
    }
}
