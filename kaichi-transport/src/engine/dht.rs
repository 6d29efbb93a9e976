//! The DHT: this identity's document and IPNS record published, documents
//! looked up by wallet or IPNS name, inbound records validated.
//!
//! [`Lookups`] is the lookup state, sans-IO (generic over the query id and
//! what waits, so tests need no DHT); the `impl Engine` block is the swarm
//! glue. What waits on a lookup, and what happens when it ends, is
//! [`super::lookup`]'s concern.

use std::collections::HashMap;
use std::hash::Hash;

use kaichi_identity::IdentityPublic;
use kaichi_identity::document::{document_dht_key, document_name_dht_key};
use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_privatelog::EntryCid;
use libp2p::kad;
use libp2p::kad::store::RecordStore as _;

use super::{Engine, now};
use crate::dht::validate_dht_record;
use crate::peer::Peer;

/// Most concurrent DHT lookups.
const MAX_LOOKUPS: usize = 256;
/// How many times a lookup starts again after finding a record that is not
/// a valid document of its target.
const LOOKUP_RETRIES: u8 = 3;

/// The DHT key of `target`'s identity document.
pub(super) fn document_key(target: &Peer) -> kad::RecordKey {
    kad::RecordKey::new(&match target {
        Peer::Wallet(w) => document_dht_key(w),
        Peer::Name(n) => document_name_dht_key(n),
    })
}

/// Whether a provider key is a SHA-256 multihash (code 0x12, 32 bytes).
fn is_block_key(key: &[u8]) -> bool {
    key.len() == 34 && key[0] == 0x12 && key[1] == 0x20
}

/// A lookup of one identity's document, with what waits on it.
pub(super) struct Lookup<W> {
    /// Whose document.
    pub(super) target: Peer,
    /// What waits on it, in arrival order.
    pub(super) waiters: Vec<W>,
    /// Starts left after a record that does not verify.
    tries: u8,
}

impl<W> Lookup<W> {
    /// Whether `found` is the identity this lookup is for.
    pub(super) fn is_for(&self, found: &IdentityPublic) -> bool {
        self.target.names(&found.wallet, &found.ipns_name())
    }

    /// The lookup to start again after a record that was not a valid
    /// document of the target, or (no tries left) itself back to fail.
    pub(super) fn retry(mut self) -> Result<Self, Self> {
        if self.tries == 0 {
            return Err(self);
        }
        self.tries -= 1;
        Ok(self)
    }
}

/// The document lookups running: one per target, however many wait on it.
pub(super) struct Lookups<Q, W> {
    running: HashMap<Q, Lookup<W>>,
}

impl<Q: Hash + Eq, W> Lookups<Q, W> {
    /// None running.
    pub(super) fn new() -> Self {
        Self {
            running: HashMap::new(),
        }
    }

    /// Adds `waiter` to the lookup of `target`. `Ok(Some(lookup))`: none
    /// ran, start a query for it and hand it to [`started`](Self::started);
    /// `Ok(None)`: it joined a running lookup; `Err(waiter)`: too many run.
    pub(super) fn join(&mut self, target: Peer, waiter: W) -> Result<Option<Lookup<W>>, W> {
        if let Some(l) = self.running.values_mut().find(|l| l.target == target) {
            l.waiters.push(waiter);
            return Ok(None);
        }
        if self.running.len() >= MAX_LOOKUPS {
            return Err(waiter);
        }
        Ok(Some(Lookup {
            target,
            waiters: vec![waiter],
            tries: LOOKUP_RETRIES,
        }))
    }

    /// A query runs for `lookup`.
    pub(super) fn started(&mut self, query: Q, lookup: Lookup<W>) {
        self.running.insert(query, lookup);
    }

    /// The lookup a finished query was for.
    pub(super) fn finished(&mut self, query: &Q) -> Option<Lookup<W>> {
        self.running.remove(query)
    }
}

impl Engine {
    /// Puts this identity's document (under its wallet's key) and an IPNS
    /// record pointing at the document into the DHT.
    pub(super) fn publish_identity(&mut self) {
        let now = now();
        let wallet = self.keys.wallet();
        let doc_cid = EntryCid::of(&self.document);
        let mut records = vec![kad::Record::new(
            document_dht_key(&wallet),
            self.document.clone(),
        )];
        if let Some(validity) = now.checked_add(std::time::Duration::from_secs(86_400)) {
            let params = RecordParams::new(format!("/ipfs/{doc_cid}"), now.unix_secs(), validity);
            records.push(kad::Record::new(
                document_name_dht_key(&self.keys.ipns().name()),
                self.document.clone(),
            ));
            if let Ok(ipns) = create_record(self.keys.ipns(), &params) {
                records.push(kad::Record::new(
                    self.keys.ipns().name().routing_key(),
                    ipns,
                ));
            }
        }
        for record in records {
            if self
                .swarm
                .behaviour_mut()
                .kad
                .put_record(record, kad::Quorum::One)
                .is_err()
            {
                return;
            }
        }
        self.published = true;
    }

    pub(super) fn kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        record: Some(record),
                        ..
                    },
            } => {
                let existing = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .store_mut()
                    .get(&record.key)
                    .map(|r| r.value.clone());
                match validate_dht_record(
                    record.key.as_ref(),
                    &record.value,
                    existing.as_deref(),
                    now(),
                ) {
                    Ok(()) => {
                        if let Err(e) = self.swarm.behaviour_mut().kad.store_mut().put(record) {
                            tracing::debug!(%e, "a valid DHT record was not stored");
                        }
                    }
                    Err(e) => tracing::debug!(%e, "refused a DHT record"),
                }
            }
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::AddProvider {
                        record: Some(record),
                    },
            } => {
                // Only block multihashes (SHA-256) are provided.
                if is_block_key(record.key.as_ref())
                    && let Err(e) = self
                        .swarm
                        .behaviour_mut()
                        .kad
                        .store_mut()
                        .add_provider(record)
                {
                    tracing::debug!(%e, "refused a provider record");
                }
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetProviders(result),
                step,
                ..
            } => self.providers_found(id, result, step.last),
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetClosestPeers(result),
                step,
                ..
            } if self.is_group_lookup(&id) => {
                let peers = match result {
                    Ok(ok) => ok.peers,
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                };
                if step.last || !peers.is_empty() {
                    self.group_lookup_done(id, peers);
                }
            }
            kad::Event::OutboundQueryProgressed { id, result, .. } => match result {
                kad::QueryResult::GetRecord(Ok(kad::GetRecordOk::FoundRecord(found))) => {
                    self.lookup_found(id, &found.record.value);
                }
                kad::QueryResult::GetRecord(_) => self.lookup_ended(id),
                kad::QueryResult::PutRecord(Err(e)) => {
                    tracing::debug!(%e, "publishing to the DHT failed; will retry");
                    self.published = false;
                }
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "dht_tests.rs"]
mod tests;
