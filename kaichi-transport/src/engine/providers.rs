//! Provider records: a node announces the heads of its conversations in the
//! DHT (whoever holds a head holds everything under it). A node missing
//! blocks that the peer it heard from cannot supply (a relay that only kept
//! the newest notification, a sender gone quiet) asks the DHT who provides
//! the conversation's heads and fetches from them.

use std::time::{Duration, Instant};

use kaichi_privatelog::{ConversationId, EntryCid};
use libp2p::{PeerId, kad};

use super::Engine;

/// Most provider lookups in flight.
const MAX_PROVIDER_QUERIES: usize = 64;
/// Least time between two provider lookups for one conversation.
const PROVIDER_LOOKUP_INTERVAL: Duration = Duration::from_secs(5);
/// Most providers fetched from per lookup.
const MAX_PROVIDERS_TRIED: usize = 3;

/// The DHT key under which a block is provided: its multihash, as in IPFS.
pub fn provider_key(cid: &EntryCid) -> kad::RecordKey {
    kad::RecordKey::new(&cid.to_cid().hash().to_bytes())
}

impl Engine {
    /// Announces the current heads of every conversation that changed since
    /// the last call, and withdraws heads they superseded.
    pub(super) fn provide_changed_heads(&mut self) {
        let changed: Vec<ConversationId> = self.heads_changed.drain().collect();
        for id in changed {
            let Some(heads) = self.conversations.get(&id).map(|c| c.heads()) else {
                continue;
            };
            let old = self.provided.insert(id, heads.clone()).unwrap_or_default();
            let kad = &mut self.swarm.behaviour_mut().kad;
            for gone in old.iter().filter(|h| !heads.contains(h)) {
                kad.stop_providing(&provider_key(gone));
            }
            for new in heads.iter().filter(|h| !old.contains(h)) {
                if let Err(e) = kad.start_providing(provider_key(new)) {
                    tracing::debug!(%e, "could not provide a head");
                }
            }
        }
    }

    /// Looks up who provides the heads of `id`, having failed to get its
    /// missing blocks from `tried`. At most one lookup per conversation per
    /// [`PROVIDER_LOOKUP_INTERVAL`], and [`MAX_PROVIDER_QUERIES`] in all.
    pub(super) fn find_providers(&mut self, id: ConversationId, tried: PeerId) {
        let now = Instant::now();
        if self.provider_queries.len() >= MAX_PROVIDER_QUERIES
            || self
                .last_provider_lookup
                .get(&id)
                .is_some_and(|t| now.duration_since(*t) < PROVIDER_LOOKUP_INTERVAL)
        {
            return;
        }
        let Some(heads) = self.conversations.get(&id).map(|c| c.heads()) else {
            return;
        };
        if self.last_provider_lookup.len() >= super::MAX_CACHED_DOCUMENTS {
            self.last_provider_lookup
                .retain(|_, t| now.duration_since(*t) < PROVIDER_LOOKUP_INTERVAL);
        }
        self.last_provider_lookup.insert(id, now);
        for head in heads {
            let query = self
                .swarm
                .behaviour_mut()
                .kad
                .get_providers(provider_key(&head));
            self.provider_queries.insert(query, (id, tried));
        }
    }

    /// A provider lookup progressed: fetch what is missing from the
    /// providers found.
    pub(super) fn providers_found(
        &mut self,
        query: kad::QueryId,
        result: Result<kad::GetProvidersOk, kad::GetProvidersError>,
        last: bool,
    ) {
        let Some(&(id, tried)) = self.provider_queries.get(&query) else {
            return;
        };
        if last {
            self.provider_queries.remove(&query);
        }
        let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result else {
            return;
        };
        let missing = self
            .conversations
            .get(&id)
            .map(|c| c.missing())
            .unwrap_or_default();
        if missing.is_empty() {
            return;
        }
        let me = *self.swarm.local_peer_id();
        for provider in providers
            .into_iter()
            .filter(|p| *p != me && *p != tried)
            .take(MAX_PROVIDERS_TRIED)
        {
            self.fetch(&provider, id, missing.clone());
        }
    }
}
