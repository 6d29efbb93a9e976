//! The DHT: this identity's document and IPNS record published, documents
//! looked up by wallet or IPNS name, inbound records validated.

use kaichi_identity::document::{document_dht_key, document_name_dht_key, verify_document};
use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_identity::{IpnsName, WalletAddress};
use kaichi_privatelog::EntryCid;
use libp2p::kad;
use libp2p::kad::store::RecordStore as _;
use tokio::sync::oneshot;

use super::{Engine, now};
use crate::dht::validate_dht_record;
use crate::node::NodeError;

/// Whose document a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LookupTarget {
    /// By Solana address.
    Wallet(WalletAddress),
    /// By IPNS name.
    Name(IpnsName),
}

impl LookupTarget {
    fn key(&self) -> kad::RecordKey {
        kad::RecordKey::new(&match self {
            Self::Wallet(w) => document_dht_key(w),
            Self::Name(n) => document_name_dht_key(n),
        })
    }
}

impl From<LookupTarget> for crate::peer::Peer {
    fn from(t: LookupTarget) -> Self {
        match t {
            LookupTarget::Wallet(w) => Self::Wallet(w),
            LookupTarget::Name(n) => Self::Name(n),
        }
    }
}

impl std::fmt::Display for LookupTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Wallet(w) => w.fmt(f),
            Self::Name(n) => n.fmt(f),
        }
    }
}

/// A DHT lookup of an identity document, with what waits on it.
pub(super) struct Lookup {
    target: LookupTarget,
    sends: Vec<(String, oneshot::Sender<Result<EntryCid, NodeError>>)>,
    /// Invitations waiting for the document's KeyPackage references.
    invites: Vec<(String, oneshot::Sender<Result<u64, NodeError>>)>,
    /// Welcomes (a group's, with their CIDs) waiting for the document's
    /// inbox key.
    welcomes: Vec<super::groups::PendingWelcome>,
    /// Group work waiting for the document's device keys.
    devices: Vec<super::groups::DeviceRetry>,
    /// Tries left (a record that does not verify is looked up again).
    tries: u8,
}

/// Most concurrent DHT lookups.
const MAX_LOOKUPS: usize = 256;

fn too_many_lookups() -> NodeError {
    NodeError::TooManyLookups
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

    pub(super) fn lookup(
        &mut self,
        wallet: WalletAddress,
        text: String,
        reply: oneshot::Sender<Result<EntryCid, NodeError>>,
    ) {
        if let Err((_, reply)) =
            self.join_lookup(LookupTarget::Wallet(wallet), (text, reply), |l, w| {
                l.sends.push(w)
            })
        {
            let _ = reply.send(Err(too_many_lookups()));
        }
    }

    /// Looks a contact's current document up to learn its KeyPackage
    /// references, then goes on with the invitation.
    pub(super) fn lookup_for_invite(
        &mut self,
        target: LookupTarget,
        group: String,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    ) {
        if let Err((_, reply)) = self.join_lookup(target, (group, reply), |l, w| l.invites.push(w))
        {
            let _ = reply.send(Err(too_many_lookups()));
        }
    }

    /// Looks a group member's document up by name to send them a Welcome.
    pub(super) fn lookup_for_welcome(
        &mut self,
        name: IpnsName,
        welcome: super::groups::PendingWelcome,
    ) -> bool {
        self.join_lookup(LookupTarget::Name(name), welcome, |l, w| l.welcomes.push(w))
            .is_ok()
    }

    /// Looks an identity's document up by name to learn its device keys,
    /// then retries `retry`.
    pub(super) fn lookup_for_devices(
        &mut self,
        name: IpnsName,
        retry: super::groups::DeviceRetry,
    ) -> bool {
        self.join_lookup(LookupTarget::Name(name), retry, |l, w| l.devices.push(w))
            .is_ok()
    }

    /// Adds `waiter` (with `push`) to the lookup of `target`, starting one
    /// if none runs; gives the waiter back when too many lookups run.
    fn join_lookup<W>(
        &mut self,
        target: LookupTarget,
        waiter: W,
        push: fn(&mut Lookup, W),
    ) -> Result<(), W> {
        if let Some(l) = self.lookups.values_mut().find(|l| l.target == target) {
            push(l, waiter);
            return Ok(());
        }
        if self.lookups.len() >= MAX_LOOKUPS {
            return Err(waiter);
        }
        let mut lookup = Lookup {
            target,
            sends: Vec::new(),
            invites: Vec::new(),
            welcomes: Vec::new(),
            devices: Vec::new(),
            tries: 3,
        };
        push(&mut lookup, waiter);
        self.start_lookup(lookup);
        Ok(())
    }

    fn start_lookup(&mut self, lookup: Lookup) {
        let id = self
            .swarm
            .behaviour_mut()
            .kad
            .get_record(lookup.target.key());
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
                    let Some(mut lookup) = self.lookups.remove(&id) else {
                        return;
                    };
                    match self.found_document(&lookup, &found.record.value) {
                        Ok(peer) => self.lookup_done(lookup, &peer),
                        Err(e) if lookup.tries > 0 => {
                            // Not a valid document for this target: keep looking.
                            tracing::debug!(%e, target = %lookup.target, "refused a looked-up document");
                            lookup.tries -= 1;
                            self.start_lookup(lookup);
                        }
                        Err(_) => self.lookup_failed(lookup),
                    }
                }
                kad::QueryResult::GetRecord(_) => {
                    if let Some(lookup) = self.lookups.remove(&id) {
                        self.lookup_failed(lookup);
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

impl Engine {
    /// Checks a looked-up document against what was looked up and keeps it
    /// (a contact when a DM or invite waits on it; otherwise only cached).
    fn found_document(
        &mut self,
        lookup: &Lookup,
        doc: &[u8],
    ) -> Result<kaichi_identity::IdentityPublic, NodeError> {
        let verified = verify_document(doc, now())?;
        let public = *verified.public();
        let matches = match lookup.target {
            LookupTarget::Wallet(w) => public.wallet == w,
            LookupTarget::Name(n) => public.ipns_name() == n,
        };
        if !matches {
            return Err(NodeError::WrongDocument(lookup.target.into()));
        }
        if lookup.sends.is_empty() && lookup.invites.is_empty() {
            self.remember_document(doc)
        } else {
            self.add_contact(doc).map(|(peer, _)| peer)
        }
    }

    fn lookup_done(&mut self, lookup: Lookup, peer: &kaichi_identity::IdentityPublic) {
        let to = peer.wallet.to_string();
        for (text, reply) in lookup.sends {
            let _ = reply.send(self.send_dm(&to, text));
        }
        for (group, reply) in lookup.invites {
            self.invite_known(&group, &to, reply);
        }
        for welcome in lookup.welcomes {
            self.send_invitation(peer, &welcome);
        }
        for retry in lookup.devices {
            self.retry_after_devices(retry);
        }
    }

    fn lookup_failed(&mut self, lookup: Lookup) {
        let target = lookup.target;
        for (_, reply) in lookup.sends {
            let _ = reply.send(Err(NodeError::DocumentNotFound(target.into())));
        }
        for (_, reply) in lookup.invites {
            let _ = reply.send(Err(NodeError::DocumentNotFound(target.into())));
        }
        for w in lookup.welcomes {
            tracing::debug!(%target, group = %w.group, "no document found: the Welcome is not delivered");
        }
        for retry in lookup.devices {
            // Applied again: without the keys it is now set aside.
            self.retry_after_devices(retry);
        }
    }
}
