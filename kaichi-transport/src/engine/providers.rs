//! Provider records: a node announces the heads of its conversations in the
//! DHT (whoever holds a head holds everything under it). A node missing
//! blocks that the peer it heard from cannot supply (a relay that only kept
//! the newest notification, a sender gone quiet) asks the DHT who provides
//! the conversation's heads and fetches from them.
//!
//! [`Providers`] is the state, sans-IO (time comes in as an [`Instant`]; it
//! is generic over the query id so tests need no DHT); the `impl Engine`
//! block at the end is the swarm glue.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

use kaichi_privatelog::{ConversationId, EntryCid, Sha256Cid};
use libp2p::{PeerId, kad};

use super::Engine;

/// Most provider lookups in flight.
const MAX_PROVIDER_QUERIES: usize = 64;
/// Least time between two provider lookups for one conversation.
const PROVIDER_LOOKUP_INTERVAL: Duration = Duration::from_secs(5);
/// Most providers fetched from per lookup.
const MAX_PROVIDERS_TRIED: usize = 3;
/// Most missing blocks of one conversation whose providers one lookup asks
/// for.
const MISSING_LOOKED_UP: usize = 4;
/// Most conversations whose last lookup time is remembered (older entries
/// are forgotten when full).
const MAX_REMEMBERED_LOOKUPS: usize = 4096;

/// The DHT key under which a block is provided: its multihash, as in IPFS
/// (the same for an entry's DAG-CBOR CID and a raw CID of the same bytes).
pub fn provider_key<const CODEC: u64>(cid: &Sha256Cid<CODEC>) -> kad::RecordKey {
    kad::RecordKey::new(&cid.to_cid().hash().to_bytes())
}

/// What to announce and withdraw after a conversation's heads changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct HeadChanges {
    /// New heads to provide.
    pub(super) start: Vec<EntryCid>,
    /// Superseded heads to stop providing.
    pub(super) stop: Vec<EntryCid>,
}

/// What the node provides and the provider lookups it runs.
pub(super) struct Providers<Q = kad::QueryId> {
    provided: HashMap<ConversationId, Vec<EntryCid>>,
    changed: HashSet<ConversationId>,
    queries: HashMap<Q, (ConversationId, PeerId)>,
    last_lookup: super::cooldown::Cooldown<ConversationId>,
}

impl<Q: Hash + Eq> Providers<Q> {
    /// Nothing provided, nothing looked up.
    pub(super) fn new() -> Self {
        Self {
            provided: HashMap::new(),
            changed: HashSet::new(),
            queries: HashMap::new(),
            last_lookup: super::cooldown::Cooldown::new(
                PROVIDER_LOOKUP_INTERVAL,
                MAX_REMEMBERED_LOOKUPS,
            ),
        }
    }

    /// The heads of `id` changed (they are provided at the next
    /// [`take_changed`](Self::take_changed)).
    pub(super) fn heads_changed(&mut self, id: ConversationId) {
        self.changed.insert(id);
    }

    /// The conversations whose heads changed since the last call.
    pub(super) fn take_changed(&mut self) -> Vec<ConversationId> {
        self.changed.drain().collect()
    }

    /// `id`'s heads are now `heads`: what to announce and withdraw.
    pub(super) fn provide(&mut self, id: ConversationId, heads: Vec<EntryCid>) -> HeadChanges {
        let start = heads.clone();
        let old = self.provided.insert(id, heads).unwrap_or_default();
        HeadChanges {
            stop: old.iter().filter(|h| !start.contains(h)).copied().collect(),
            start: start.into_iter().filter(|h| !old.contains(h)).collect(),
        }
    }

    /// Whether a lookup for `id` may start now: at most one per
    /// conversation per [`PROVIDER_LOOKUP_INTERVAL`] and
    /// [`MAX_PROVIDER_QUERIES`] in flight. A yes is recorded.
    pub(super) fn may_look_up(&mut self, id: ConversationId, now: Instant) -> bool {
        self.queries.len() < MAX_PROVIDER_QUERIES && self.last_lookup.try_now(id, now)
    }

    /// A lookup started for `id`, after `tried` could not supply its blocks.
    pub(super) fn query_started(&mut self, query: Q, id: ConversationId, tried: PeerId) {
        self.queries.insert(query, (id, tried));
    }

    /// A lookup found `providers` (`last`: it is over): the conversation
    /// and the providers to fetch from (not `me`, not the peer tried, at
    /// most [`MAX_PROVIDERS_TRIED`]). `None` for a query not ours.
    pub(super) fn found(
        &mut self,
        query: &Q,
        providers: impl IntoIterator<Item = PeerId>,
        last: bool,
        me: &PeerId,
    ) -> Option<(ConversationId, Vec<PeerId>)> {
        let (id, tried) = if last {
            self.queries.remove(query)?
        } else {
            *self.queries.get(query)?
        };
        let peers = providers
            .into_iter()
            .filter(|p| p != me && *p != tried)
            .take(MAX_PROVIDERS_TRIED)
            .collect();
        Some((id, peers))
    }
}

impl Engine {
    /// Announces this side's outbox heads of every conversation that changed
    /// since the last call (and updates the root), and withdraws heads they
    /// superseded.
    pub(super) fn provide_changed_heads(&mut self) {
        for id in self.providers.take_changed() {
            // Only this side's own entries: providing the other side's too
            // would show both PeerIds under one CID, i.e. who talks with whom.
            let Some(heads) = self.conversations.get(&id).map(|c| c.outbox_heads()) else {
                continue;
            };
            self.outbox_changed(&id);
            let changes = self.providers.provide(id, heads);
            let kad = &mut self.swarm.behaviour_mut().kad;
            for gone in &changes.stop {
                kad.stop_providing(&provider_key(gone));
            }
            for new in &changes.start {
                if let Err(e) = kad.start_providing(provider_key(new)) {
                    tracing::debug!(%e, "could not provide a head");
                }
            }
        }
    }

    /// Looks up who provides the missing blocks of `id` (a few of them):
    /// no connected peer had them. Each node provides its own outbox heads,
    /// and relays what they pin, so whoever provides one block of the other
    /// side's outbox holds the rest.
    pub(super) fn find_providers(&mut self, id: ConversationId) {
        let missing = self.missing_blocks(&id);
        if missing.is_empty() || !self.providers.may_look_up(id, Instant::now()) {
            return;
        }
        let me = *self.swarm.local_peer_id();
        for head in missing.into_iter().take(MISSING_LOOKED_UP) {
            let query = self
                .swarm
                .behaviour_mut()
                .kad
                .get_providers(provider_key(&head));
            self.providers.query_started(query, id, me);
        }
    }

    /// A provider lookup progressed: connect to the providers found (each
    /// new connection gets Bitswap's whole wantlist, the missing blocks
    /// included).
    pub(super) fn providers_found(
        &mut self,
        query: kad::QueryId,
        result: Result<kad::GetProvidersOk, kad::GetProvidersError>,
        last: bool,
    ) {
        if self.block_providers_found(&query, &result, last) {
            return;
        }
        let providers = match result {
            Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => providers,
            _ => Default::default(),
        };
        let me = *self.swarm.local_peer_id();
        let Some((id, peers)) = self.providers.found(&query, providers, last, &me) else {
            return;
        };
        let missing = self.missing_blocks(&id);
        if missing.is_empty() {
            return;
        }
        self.dial_all(peers);
        self.fetch(id, missing);
    }
}

#[cfg(test)]
#[path = "providers_tests.rs"]
mod tests;
