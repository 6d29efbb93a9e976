//! What waits on a document lookup, how each step of a lookup runs on the
//! swarm, and what happens when it ends: a DM or an invitation to someone
//! not yet a contact, a Welcome to a member whose inbox key is unknown,
//! group work waiting for a member's device keys.

use std::collections::HashMap;
use std::time::Instant;

use kaichi_groups::GroupRef;
use kaichi_identity::document::verify_document;
use kaichi_identity::ipns::validate_record;
use kaichi_identity::{IdentityPublic, IpnsName, WalletAddress};
use kaichi_privatelog::store::BlockStore as _;
use kaichi_privatelog::{EntryCid, MessageBody, Root};
use libp2p::{PeerId, kad};

use super::dht::lookups::{Dropped, LookupId, Lookups, Next};
use super::groups::{DeviceRetry, PendingWelcome};
use super::{Engine, now, provider_key};
use crate::dht::{root_cid, wallet_key};
use crate::node::{NodeError, Reply};
use crate::peer::Peer;
use crate::rejection::Rejection;

/// How often a waiting fetch looks its block's providers up again.
const PROVIDER_RETRY: std::time::Duration = std::time::Duration::from_secs(3);
/// Most searches for a peer's addresses in flight.
const MAX_PEER_SEARCHES: usize = 64;
/// How long a lookup's DHT step waits for the routing table to hold a peer
/// (a node that just started) before it runs anyway.
const WAIT_FOR_DHT: std::time::Duration = std::time::Duration::from_secs(10);

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
    /// A sync of the identity's outbox (`Node::sync`), which needs its root.
    Sync(Reply<crate::node::SyncReport>),
    /// A join request to a group's sequencer, which needs its inbox key.
    Join {
        group: kaichi_groups::GroupId,
        reply: Reply<()>,
    },
}

impl Waiter {
    /// Whether what waits makes the found identity a contact.
    fn makes_contact(&self) -> bool {
        matches!(
            self,
            Self::Send { .. } | Self::Invite { .. } | Self::Sync(_)
        )
    }
}

/// The lookups the engine runs and the queries each step is waiting on.
pub(super) struct DocumentLookups {
    lookups: Lookups<Waiter>,
    /// DHT queries (providers of a wallet key, an IPNS record) -> lookup.
    kad: HashMap<kad::QueryId, LookupId>,
    /// Bitswap queries for a document block -> lookup.
    fetches: HashMap<beetswap::QueryId, LookupId>,
    /// Each fetch's provider key and when its providers were last looked
    /// up: looked up again every [`PROVIDER_RETRY`] while it waits (a
    /// relay's provider record may land after the first lookup).
    provider_retries: HashMap<beetswap::QueryId, (kad::RecordKey, Instant)>,
    /// Searches for the addresses of a peer to dial.
    peer_searches: HashMap<kad::QueryId, PeerId>,
    /// DHT steps held back while the routing table is empty, since when.
    waiting_for_dht: Vec<(LookupId, Next, Instant)>,
}

impl DocumentLookups {
    /// None running.
    pub(super) fn new() -> Self {
        Self {
            lookups: Lookups::new(),
            kad: HashMap::new(),
            fetches: HashMap::new(),
            provider_retries: HashMap::new(),
            peer_searches: HashMap::new(),
            waiting_for_dht: Vec::new(),
        }
    }

    /// Forgets the queries of a lookup that ended or moved on; returns its
    /// Bitswap query to cancel, if one ran.
    fn clear(&mut self, id: LookupId) -> Option<beetswap::QueryId> {
        self.kad.retain(|_, l| *l != id);
        self.waiting_for_dht.retain(|(l, _, _)| *l != id);
        let fetch = self
            .fetches
            .iter()
            .find(|(_, l)| **l == id)
            .map(|(q, _)| *q);
        self.fetches.retain(|_, l| *l != id);
        let fetches = &self.fetches;
        self.provider_retries.retain(|q, _| fetches.contains_key(q));
        fetch
    }
}

impl Engine {
    /// Waits with `waiter` for `target`'s document (joining a lookup that
    /// runs, or starting one); gives the waiter back when too many run.
    fn look_up(&mut self, target: Peer, waiter: Waiter) -> Option<Waiter> {
        match self.lookups.lookups.join(target, waiter, Instant::now()) {
            Ok(Some((id, next))) => {
                self.lookup_step(id, next);
                None
            }
            Ok(None) => None,
            Err(waiter) => Some(waiter),
        }
    }

    /// Starts what a lookup does next.
    fn lookup_step(&mut self, id: LookupId, next: Next) {
        if let Some(query) = self.lookups.clear(id) {
            self.swarm.behaviour_mut().bitswap.cancel(query);
        }
        // A query on an empty routing table ends at once with nothing: wait
        // (bounded) for the first DHT peer instead.
        if matches!(next, Next::Providers(_) | Next::Record(_))
            && self.routing_table_is_empty()
            && self.lookups.waiting_for_dht.len() < super::dht::lookups::MAX_LOOKUPS
        {
            self.lookups
                .waiting_for_dht
                .push((id, next, Instant::now()));
            return;
        }
        self.run_step(id, next);
    }

    /// Starts a lookup's step on the swarm.
    fn run_step(&mut self, id: LookupId, next: Next) {
        match next {
            Next::Providers(wallet) => {
                let key = kad::RecordKey::new(&wallet_key(&wallet));
                let query = self.swarm.behaviour_mut().kad.get_providers(key);
                self.lookups.kad.insert(query, id);
            }
            Next::Record(name) => {
                let key = kad::RecordKey::new(&name.routing_key());
                let query = self.swarm.behaviour_mut().kad.get_record(key);
                self.lookups.kad.insert(query, id);
            }
            Next::Root(name, cid) => {
                if let Ok(Some(root)) = self.store.get(&cid.to_cid()) {
                    self.lookup_root(id, Some(&root));
                    return;
                }
                self.lookup_fetch(id, &name, cid.to_cid(), provider_key(&cid));
            }
            Next::Document(name, cid) => {
                if let Ok(Some(doc)) = self.store.get(&cid.to_cid()) {
                    self.lookup_document(id, &doc);
                    return;
                }
                self.lookup_fetch(id, &name, cid.to_cid(), provider_key(&cid));
            }
            // `Done` comes only from a verified document, which
            // `lookup_document` finishes itself (it holds the bytes to keep);
            // should one arrive here, its waiters are answered, not stranded.
            Next::Done(_) | Next::Failed => {
                if let Some(lookup) = self.lookups.lookups.finish(id) {
                    self.lookup_failed(lookup.target, lookup.waiters);
                }
            }
        }
    }

    /// Fetches a lookup's block over Bitswap: the named node holds its root
    /// and document; relays it pushed them to provide them.
    fn lookup_fetch(&mut self, id: LookupId, name: &IpnsName, cid: cid::Cid, key: kad::RecordKey) {
        let query = self.swarm.behaviour_mut().bitswap.get(&cid);
        self.lookups.fetches.insert(query, id);
        self.lookups
            .provider_retries
            .insert(query, (key.clone(), Instant::now()));
        self.dial_peer(*name.peer_id());
        let lookup = self.swarm.behaviour_mut().kad.get_providers(key);
        self.block_gets.lookup_started(lookup);
    }

    /// Dials `peer` if not connected, first finding its addresses in the
    /// DHT when none are known.
    pub(super) fn dial_peer(&mut self, peer: PeerId) {
        if peer == *self.swarm.local_peer_id() || self.swarm.is_connected(&peer) {
            return;
        }
        if self.swarm.dial(peer).is_err() && self.lookups.peer_searches.len() < MAX_PEER_SEARCHES {
            let query = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
            self.lookups.peer_searches.insert(query, peer);
        }
    }

    /// Whether a closest-peers query is a search for a peer to dial.
    pub(super) fn is_peer_search(&self, query: &kad::QueryId) -> bool {
        self.lookups.peer_searches.contains_key(query)
    }

    /// A search for a peer's addresses ended: dial it.
    pub(super) fn peer_found(&mut self, query: kad::QueryId, found: Vec<kad::PeerInfo>) {
        let Some(peer) = self.lookups.peer_searches.remove(&query) else {
            return;
        };
        for info in found.into_iter().filter(|i| i.peer_id == peer) {
            for addr in info.addrs {
                self.swarm.add_peer_address(peer, addr);
            }
        }
        if let Err(e) = self.swarm.dial(peer) {
            tracing::debug!(%peer, %e, "could not dial a looked-up peer");
        }
    }

    /// Providers of a wallet key were found (the first answer, or the end
    /// of the query). `false` when the query is not a lookup's.
    pub(super) fn lookup_providers(
        &mut self,
        query: kad::QueryId,
        result: &Result<kad::GetProvidersOk, kad::GetProvidersError>,
        last: bool,
    ) -> bool {
        let Some(&id) = self.lookups.kad.get(&query) else {
            return false;
        };
        let providers = match result {
            Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => providers.clone(),
            _ => Default::default(),
        };
        if providers.is_empty() && !last {
            return true;
        }
        let me = *self.swarm.local_peer_id();
        let found = providers.into_iter().filter(|p| *p != me);
        if let Some(next) = self.lookups.lookups.providers(id, found, Instant::now()) {
            self.lookup_step(id, next);
        }
        true
    }

    /// An IPNS record query progressed: the first record that validates
    /// for the name and names a document moves the lookup on; the end of
    /// the query without one moves it to its next candidate.
    pub(super) fn lookup_record(
        &mut self,
        query: kad::QueryId,
        result: Result<kad::GetRecordOk, kad::GetRecordError>,
        last: bool,
    ) {
        let Some(&id) = self.lookups.kad.get(&query) else {
            return;
        };
        let cid = match result {
            Ok(kad::GetRecordOk::FoundRecord(found)) => {
                let name = found
                    .record
                    .key
                    .as_ref()
                    .strip_prefix(b"/ipns/")
                    .and_then(|n| IpnsName::from_bytes(n).ok());
                name.and_then(|name| validate_record(&found.record.value, &name, now()).ok())
                    .and_then(|r| r.value_str().and_then(root_cid))
            }
            _ => None,
        };
        if cid.is_none() && !last {
            return;
        }
        self.lookups.kad.remove(&query);
        if let Some(next) = self.lookups.lookups.record(id, cid, Instant::now()) {
            self.lookup_step(id, next);
        }
    }

    /// A Bitswap query ended; `false` when it was not a lookup's.
    pub(super) fn lookup_fetched(
        &mut self,
        query: &beetswap::QueryId,
        data: Option<&[u8]>,
    ) -> bool {
        self.lookups.provider_retries.remove(query);
        let Some(id) = self.lookups.fetches.remove(query) else {
            return false;
        };
        if self.lookups.lookups.wants_root(id) {
            self.lookup_root(id, data);
            return true;
        }
        match data {
            Some(doc) => self.lookup_document(id, doc),
            None => {
                if let Some((next, _)) = self.lookups.lookups.document(id, None, Instant::now()) {
                    self.lookup_step(id, next);
                }
            }
        }
        true
    }

    /// A lookup's root block (or none): on to the document it links.
    fn lookup_root(&mut self, id: LookupId, root: Option<&[u8]>) {
        let root = root.and_then(|r| Root::decode(r).ok());
        if let Some(next) = self.lookups.lookups.root(id, root, Instant::now()) {
            self.lookup_step(id, next);
        }
    }

    /// A lookup's document block: verified, checked against the candidate,
    /// and either the end of the lookup or the next candidate.
    fn lookup_document(&mut self, id: LookupId, doc: &[u8]) {
        let verified = verify_document(doc, now()).ok().map(|v| *v.public());
        let Some((next, dropped)) = self.lookups.lookups.document(id, verified, Instant::now())
        else {
            return;
        };
        if let Some((name, Dropped::Spoofed)) = dropped {
            let peer = *name.peer_id();
            self.rejected(peer, Rejection::SpoofedProvider);
            self.swarm.behaviour_mut().kad.remove_peer(&peer);
        }
        let Next::Done(_) = next else {
            self.lookup_step(id, next);
            return;
        };
        if let Some(query) = self.lookups.clear(id) {
            self.swarm.behaviour_mut().bitswap.cancel(query);
        }
        let Some(lookup) = self.lookups.lookups.finish(id) else {
            return;
        };
        let kept = if lookup.waiters.iter().any(Waiter::makes_contact) {
            self.add_contact(doc).map(|(peer, _)| peer)
        } else {
            self.remember_document(doc)
        };
        match kept {
            Ok(peer) => self.lookup_done(lookup.waiters, &peer, lookup.root.as_ref()),
            Err(e) => {
                tracing::warn!(%e, "could not keep a looked-up document");
                self.lookup_failed(lookup.target, lookup.waiters);
            }
        }
    }

    /// Runs on the retry timer: steps past their time move on.
    pub(super) fn check_lookups(&mut self) {
        let now = Instant::now();
        for (id, next) in self.lookups.lookups.timed_out(now) {
            self.lookup_step(id, next);
        }
        let due: Vec<kad::RecordKey> = self
            .lookups
            .provider_retries
            .values_mut()
            .filter(|(_, last)| now.duration_since(*last) >= PROVIDER_RETRY)
            .map(|(key, last)| {
                *last = now;
                key.clone()
            })
            .collect();
        for key in due {
            let lookup = self.swarm.behaviour_mut().kad.get_providers(key);
            self.block_gets.lookup_started(lookup);
        }
        self.resume_lookups(false);
    }

    /// Runs the DHT steps held back for an empty routing table: all of them
    /// once it holds a peer, the ones past [`WAIT_FOR_DHT`] anyway.
    pub(super) fn resume_lookups(&mut self, peer_joined: bool) {
        if self.lookups.waiting_for_dht.is_empty() {
            return;
        }
        let ready = peer_joined || !self.routing_table_is_empty();
        let now = Instant::now();
        let (go, stay): (Vec<_>, Vec<_>) = std::mem::take(&mut self.lookups.waiting_for_dht)
            .into_iter()
            .partition(|(_, _, since)| ready || now.duration_since(*since) >= WAIT_FOR_DHT);
        self.lookups.waiting_for_dht = stay;
        for (id, next, _) in go {
            if ready {
                self.lookup_step(id, next);
            } else {
                self.run_step(id, next);
            }
        }
    }

    fn routing_table_is_empty(&mut self) -> bool {
        self.swarm
            .behaviour_mut()
            .kad
            .kbuckets()
            .all(|b| b.num_entries() == 0)
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

    /// Sends a join request to a group's sequencer: at once when its
    /// document is known, after looking it up otherwise.
    pub(super) fn request_join(
        &mut self,
        group: kaichi_groups::GroupId,
        sequencer: Peer,
        reply: Reply<()>,
    ) {
        let known = match sequencer {
            Peer::Name(name) => self.known_peer(&name),
            _ => self.find_contact(&sequencer).ok().map(|c| c.peer),
        };
        match known {
            Some(peer) => {
                let _ = reply.send(self.send_join_request(&peer, group));
            }
            None => {
                if let Some(Waiter::Join { reply, .. }) =
                    self.look_up(sequencer, Waiter::Join { group, reply })
                {
                    let _ = reply.send(Err(NodeError::TooManyLookups));
                }
            }
        }
    }

    /// Syncs an identity's outbox once its root and document are found.
    pub(super) fn lookup_for_sync(&mut self, target: Peer, reply: Reply<crate::node::SyncReport>) {
        if let Some(Waiter::Sync(reply)) = self.look_up(target, Waiter::Sync(reply)) {
            let _ = reply.send(Err(NodeError::TooManyLookups));
        }
    }

    fn lookup_done(&mut self, waiters: Vec<Waiter>, peer: &IdentityPublic, root: Option<&Root>) {
        let to = Peer::Wallet(peer.wallet);
        for waiter in waiters {
            match waiter {
                Waiter::Send { body, reply } => {
                    let _ = reply.send(self.send_message(&to, body));
                }
                Waiter::Invite { group, reply } => self.invite_known(&group, &to, reply),
                Waiter::Welcome(welcome) => self.send_invitation(peer, &welcome),
                Waiter::Devices(retry) => {
                    self.groups.session.document_resolved(&peer.ipns_name());
                    self.retry_after_devices(retry);
                }
                Waiter::Sync(reply) => self.sync_found(&to, root, reply),
                Waiter::Join { group, reply } => {
                    let _ = reply.send(self.send_join_request(peer, group));
                }
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
                Waiter::Sync(reply) => {
                    let _ = reply.send(Err(NodeError::DocumentNotFound(target)));
                }
                Waiter::Join { reply, .. } => {
                    let _ = reply.send(Err(NodeError::DocumentNotFound(target)));
                }
                Waiter::Welcome(w) => {
                    tracing::debug!(%target, group = %w.group, "no document found: the Welcome is not delivered");
                }
                // Applied again: without the keys it is now set aside.
                Waiter::Devices(retry) => {
                    if let Peer::Name(name) = target {
                        self.groups.session.document_resolved(&name);
                    }
                    self.retry_after_devices(retry);
                }
            }
        }
    }
}
