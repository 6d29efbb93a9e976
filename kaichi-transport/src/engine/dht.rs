//! The DHT: this identity's document and IPNS record published, documents
//! looked up by wallet, inbound records validated.

use kaichi_identity::WalletAddress;
use kaichi_identity::document::verify_document;
use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_privatelog::EntryCid;
use libp2p::kad;
use libp2p::kad::store::RecordStore as _;
use tokio::sync::oneshot;

use super::{Engine, now};
use crate::dht::validate_dht_record;
use crate::node::NodeError;

/// A DHT lookup of an identity document by wallet, with the sends waiting on it.
pub(super) struct Lookup {
    wallet: WalletAddress,
    sends: Vec<(String, oneshot::Sender<Result<EntryCid, NodeError>>)>,
    /// Invitations waiting for the document's KeyPackage references.
    invites: Vec<(String, oneshot::Sender<Result<u64, NodeError>>)>,
}

/// Most concurrent DHT lookups.
const MAX_LOOKUPS: usize = 256;

fn too_many_lookups() -> NodeError {
    NodeError::Network("too many DHT lookups in flight".into())
}

/// Whether a provider key is a SHA-256 multihash (code 0x12, 32 bytes).
fn is_block_key(key: &[u8]) -> bool {
    key.len() == 34 && key[0] == 0x12 && key[1] == 0x20
}

impl Engine {
    /// Puts this identity's document (under its wallet's key) and an IPNS
    /// record pointing at the document into the DHT.
    pub(super) fn publish_identity(&mut self) {
        let now = now();
        let wallet = self.keys.wallet();
        let doc_cid = EntryCid::of(&self.document);
        let mut records = vec![kad::Record::new(
            kaichi_identity::document::document_dht_key(&wallet),
            self.document.clone(),
        )];
        if let Some(validity) = now.checked_add(std::time::Duration::from_secs(86_400)) {
            let params = RecordParams::new(format!("/ipfs/{doc_cid}"), now.unix_secs(), validity);
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

    pub(super) fn lookup(
        &mut self,
        wallet: WalletAddress,
        text: String,
        reply: oneshot::Sender<Result<EntryCid, NodeError>>,
    ) {
        if let Err((_, reply)) = self.join_lookup(wallet, (text, reply), |l, w| l.sends.push(w)) {
            let _ = reply.send(Err(too_many_lookups()));
        }
    }

    /// Looks a contact's current document up to learn its KeyPackage
    /// references, then goes on with the invitation.
    pub(super) fn lookup_for_invite(
        &mut self,
        wallet: WalletAddress,
        group: String,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    ) {
        if let Err((_, reply)) = self.join_lookup(wallet, (group, reply), |l, w| l.invites.push(w))
        {
            let _ = reply.send(Err(too_many_lookups()));
        }
    }

    /// Adds `waiter` (with `push`) to the lookup of `wallet`, starting one
    /// if none runs; gives the waiter back when too many lookups run.
    fn join_lookup<W>(
        &mut self,
        wallet: WalletAddress,
        waiter: W,
        push: fn(&mut Lookup, W),
    ) -> Result<(), W> {
        if let Some(l) = self.lookups.values_mut().find(|l| l.wallet == wallet) {
            push(l, waiter);
            return Ok(());
        }
        if self.lookups.len() >= MAX_LOOKUPS {
            return Err(waiter);
        }
        let mut lookup = Lookup {
            wallet,
            sends: Vec::new(),
            invites: Vec::new(),
        };
        push(&mut lookup, waiter);
        self.start_lookup(lookup);
        Ok(())
    }

    fn start_lookup(&mut self, lookup: Lookup) {
        let key = kad::RecordKey::new(&kaichi_identity::document::document_dht_key(&lookup.wallet));
        let id = self.swarm.behaviour_mut().kad.get_record(key);
        self.lookups.insert(id, lookup);
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
                        let _ = self.swarm.behaviour_mut().kad.store_mut().put(record);
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
                    let Some(lookup) = self.lookups.remove(&id) else {
                        return;
                    };
                    let doc = found.record.value;
                    let owned = verify_document(&doc, now())
                        .ok()
                        .and_then(|d| d.for_wallet(&lookup.wallet).ok())
                        .is_some();
                    if !owned || self.add_contact(&doc).is_err() {
                        // Not a valid document for this wallet: keep looking.
                        let key = kad::RecordKey::new(
                            &kaichi_identity::document::document_dht_key(&lookup.wallet),
                        );
                        let retry = self.swarm.behaviour_mut().kad.get_record(key);
                        self.lookups.insert(retry, lookup);
                        return;
                    }
                    let to = lookup.wallet.to_string();
                    for (text, reply) in lookup.sends {
                        let _ = reply.send(self.send_dm(&to, text));
                    }
                    for (group, reply) in lookup.invites {
                        self.invite_known(&group, &to, reply);
                    }
                }
                kad::QueryResult::GetRecord(_) => {
                    if let Some(lookup) = self.lookups.remove(&id) {
                        for (_, reply) in lookup.sends {
                            let _ = reply.send(Err(NodeError::NotAContact(format!(
                                "{} (no identity document found in the DHT)",
                                lookup.wallet
                            ))));
                        }
                        for (_, reply) in lookup.invites {
                            let _ = reply.send(Err(NodeError::Group(format!(
                                "{} publishes no KeyPackage (no current identity document found)",
                                lookup.wallet
                            ))));
                        }
                    }
                }
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
