//! The DHT (the IPFS DHT, `/ipfs/kad/1.0.0`): this identity's IPNS record
//! and provider records published, inbound records validated, and the
//! document lookups driven ([`lookups`] is their sans-IO state;
//! [`super::lookup`] what waits on them).

pub(super) mod lookups;

use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_privatelog::BlockCid;
use libp2p::kad;
use libp2p::kad::store::RecordStore as _;

use super::{Engine, now, provider_key};
use crate::dht::{validate_dht_record, wallet_key};

/// How long the IPNS record this node publishes is valid.
const RECORD_VALIDITY: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Whether a provider key is a SHA-256 multihash (code 0x12, 32 bytes).
fn is_block_key(key: &[u8]) -> bool {
    key.len() == 34 && key[0] == 0x12 && key[1] == 0x20
}

impl Engine {
    /// Publishes this identity on the DHT: its IPNS record (value
    /// `/ipfs/<root CID>`, the root linking the document and the outbox
    /// heads), and provider records for the root, the document and the
    /// wallet's key. Root and document are pinned blocks in the store,
    /// served over Bitswap, and pushed to the relays in use.
    pub(super) fn publish_identity(&mut self) {
        let now = now();
        let Some(root_cid) = self.store_root() else {
            return;
        };
        let doc_cid = BlockCid::of(&self.document);
        let Some(validity) = now.checked_add(RECORD_VALIDITY) else {
            return;
        };
        let sequence = self.root.next_sequence(now.unix_secs());
        let params = RecordParams::new(format!("/ipfs/{root_cid}"), sequence, validity);
        let ipns = match create_record(self.keys.ipns(), &params) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%e, "could not sign this identity's IPNS record");
                return;
            }
        };
        let record = kad::Record::new(self.keys.ipns().name().routing_key(), ipns);
        let kad = &mut self.swarm.behaviour_mut().kad;
        let published = kad.put_record(record, kad::Quorum::One).is_ok()
            && kad.start_providing(provider_key(&root_cid)).is_ok()
            && kad.start_providing(provider_key(&doc_cid)).is_ok()
            && kad
                .start_providing(kad::RecordKey::new(&wallet_key(&self.keys.wallet())))
                .is_ok();
        self.published = published;
        if published {
            self.root
                .published(root_cid, std::time::Instant::now(), sequence);
        } else {
            self.root.failed(std::time::Instant::now());
        }
        self.provide_token_groups();
        let document = self.document.clone();
        self.pin_at_relays(&document);
        let root = self.root.root().encode();
        self.pin_at_relays(&root);
    }

    /// A valid IPNS record of this identity that another device published
    /// (stored here as a DHT server): this node's next record outranks it.
    fn own_record_seen(&mut self, record: &kad::Record) {
        let name = self.keys.ipns().name();
        if record.key.as_ref() != name.routing_key().as_slice() {
            return;
        }
        let now = now();
        if let Ok(r) = kaichi_identity::ipns::validate_record(&record.value, &name, now) {
            self.root
                .saw_sequence(r.sequence(), now.unix_secs() + super::sync::SEQUENCE_SKEW);
        }
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
                        self.own_record_seen(&record);
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
            } if !self.token_group_providers(&id, &result, step.last)
                && !self.lookup_providers(id, &result, step.last) =>
            {
                self.providers_found(id, result, step.last);
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetClosestPeers(result),
                step,
                ..
            } if self.is_group_lookup(&id) || self.is_peer_search(&id) => {
                let peers = match result {
                    Ok(ok) => ok.peers,
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                };
                if step.last || !peers.is_empty() {
                    if self.is_peer_search(&id) {
                        self.peer_found(id, peers);
                    } else {
                        self.group_lookup_done(id, peers);
                    }
                }
            }
            kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetRecord(result),
                step,
                ..
            } if !self.resolve_progressed(id, &result, step.last) => {
                self.lookup_record(id, result, step.last);
            }
            kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::PutRecord(Err(e)),
                ..
            } => {
                tracing::debug!(%e, "publishing to the DHT failed; will retry");
                self.published = false;
                self.root.failed(std::time::Instant::now());
            }
            kad::Event::ModeChanged { new_mode } => {
                self.emit(crate::node::NodeEvent::DhtServer(
                    new_mode == kad::Mode::Server,
                ));
            }
            _ => {}
        }
    }

    /// AutoNAT's verdict changed. An `Auto` node whose confirmed address
    /// is no longer reachable withdraws it, which makes it a DHT client
    /// again (Kademlia follows the confirmed external addresses).
    pub(super) fn reachability_changed(
        &mut self,
        old: libp2p::autonat::NatStatus,
        new: libp2p::autonat::NatStatus,
    ) {
        tracing::info!(?old, ?new, "reachability changed");
        if let libp2p::autonat::NatStatus::Public(addr) = &old
            && !new.is_public()
            && self.config.dht_mode() == crate::config::DhtMode::Auto
            && !self.config.external.contains(addr)
        {
            self.swarm.remove_external_address(addr);
        }
        let public = match new {
            libp2p::autonat::NatStatus::Public(addr) => Some(addr),
            _ => None,
        };
        self.emit(crate::node::NodeEvent::Reachability { public });
    }
}
