//! The node task: drives the libp2p swarm, the conversations and the store.
//!
//! This module is the glue: the task's state, its loop, the commands and
//! the swarm events, each handed to the part that owns it. The parts, one
//! concern each, own their state; where that state is more than the swarm's,
//! it is a sans-IO struct unit-tested on its own (events in, actions out):
//!
//! | part | concern | sans-IO state |
//! |---|---|---|
//! | [`contacts`] | documents, contacts, conversations, sending | [`documents::DocumentCache`] |
//! | [`sync`] | notifications in, blocks fetched and served, re-announcements | [`sync::SyncState`] |
//! | [`delivery`] | receipts sent and taken, unacknowledged entries re-sent | [`redelivery::Redelivery`] |
//! | [`requests`] | message requests, their held invitations, blocked wallets | [`requests::Requests`] |
//! | [`dht`] | publishing, inbound record validation, document lookups | [`dht::lookups::Lookups`] |
//! | [`lookup`] | what waits on a lookup and what happens when it ends | (waiters) |
//! | [`providers`] | provider records for heads, provider lookups | [`providers::Providers`] |
//! | [`blocks`] | blocks by CID for the API, over Bitswap | [`blocks::BlockGets`] |
//! | [`names`] | IPNS names resolved for the API | [`names::Resolves`] |
//! | [`relay`] | held notifications and group messages, pins, relays used | [`relay::Relay`] |
//! | [`outbox_sync`] | a contact's outbox synced through its IPNS root | [`outbox_sync::OutboxSyncs`] |
//! | [`pin_walk`] | relays pinning recursively what a user's root leads to | [`pin_walk::PinWalks`] |
//! | [`root`] | this identity's root block and its IPNS record's republication | [`root::RootState`] |
//! | [`groups`] | the group session's commands and outputs, invitations, fetches | `kaichi_groups::GroupSession` |
//! | [`token_gate`] | token-holder groups at their sequencer: join requests, re-checks | [`token_gate::JoinChecks`] |
//! | [`token_find`] | token-holder groups found by their mint | [`token_find::TokenFinds`] |
//!
//! Parts call each other through `Engine` methods; their modules import
//! one way only (`lookup` uses `groups` and `dht`; none imports `lookup`).

mod blocks;
mod connections;
mod contacts;
mod cooldown;
mod delivery;
mod device_groups;
mod dht;
mod documents;
mod gossip;
mod groups;
mod lookup;
mod mailbox;
mod names;
mod outbox_sync;
mod own_document;
mod pin_walk;
mod providers;
mod rate_limit;
mod redelivery;
mod relay;
mod requests;
mod root;
mod shutdown;
mod status;
mod sync;
mod token_find;
mod token_gate;

pub use groups::group_topic;
pub use providers::provider_key;

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt as _;
use kaichi_groups::{GroupDatabase, GroupSession, MemberSigner, MetadataPolicy};
use kaichi_identity::document::verify_document;
use kaichi_identity::{IdentityKeys, IpnsName, Timestamp};
use kaichi_privatelog::store::{LogStore as _, SqliteStore, StoredConversation};
use kaichi_privatelog::{BlockCid, Conversation, ConversationId};
use libp2p::gossipsub::{self, IdentTopic, TopicHash};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify, noise, tcp, yamux};
use tokio::sync::mpsc;

use crate::behaviour::{Behaviour, BehaviourEvent, KAD_PROTOCOL};
use crate::config::NodeConfig;
use crate::node::{Command, NodeError, NodeEvent};
use crate::peer::Peer;
use crate::rejection::Rejection;

/// The inbox topic of an identity.
pub fn inbox_topic(name: &IpnsName) -> IdentTopic {
    IdentTopic::new(format!("/kaichi/inbox/1/{name}"))
}

fn now() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now()).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn random<const N: usize>() -> Result<[u8; N], NodeError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)?;
    Ok(out)
}

pub(crate) struct Engine {
    swarm: Swarm<Behaviour>,
    config: NodeConfig,
    keys: IdentityKeys,
    document: Vec<u8>,
    /// The handles' copy of `document` (replaced with it).
    shared_document: crate::node::SharedDocument,
    store: Arc<SqliteStore>,
    conversations: HashMap<ConversationId, Conversation>,
    /// Notifications to publish again, fetches in flight, entries to write.
    sync: sync::SyncState,
    events: mpsc::Sender<NodeEvent>,
    dropped_events: u64,
    listen_addrs: Vec<Multiaddr>,
    /// Verified identity documents, by digest.
    documents: documents::DocumentCache,
    /// Conversations known to be recorded in the store.
    contacts: HashMap<ConversationId, StoredConversation>,
    /// Conversation ids by peer IPNS key (each costs an X25519 to derive).
    conversation_ids: HashMap<[u8; 32], ConversationId>,
    /// Document lookups running in the DHT, with what waits on them.
    lookups: lookup::DocumentLookups,
    /// Whether this node's document and IPNS record went into the DHT.
    published: bool,
    /// Whether this node has met a DHT peer (from then on its record is
    /// republished as its root changes).
    dht_joined: bool,
    /// Bootstrap addresses and the peer each one reached (from a `/p2p/`
    /// suffix, or learned when a dial to it succeeded).
    bootstrap: Vec<(Multiaddr, Option<PeerId>)>,
    /// Group state: database, loaded groups, group fetches.
    groups: groups::Groups,
    /// IPNS names the API asked to resolve.
    resolves: names::Resolves<
        libp2p::kad::QueryId,
        crate::node::Reply<kaichi_identity::ipns::IpnsRecord>,
    >,
    /// Blocks the API asked for, over Bitswap.
    block_gets: blocks::BlockGets<beetswap::QueryId, crate::node::Reply<Vec<u8>>>,
    /// Relay mode, and the relays this node uses.
    relay: relay::Relay,
    /// Rejected peer input, per reason.
    rejections: std::collections::BTreeMap<Rejection, u64>,
    /// The heads provided in the DHT and the provider lookups running.
    providers: providers::Providers,
    /// This identity's root (document and outbox heads) and its publication.
    root: root::RootState,
    /// Relay: the DAGs of pushed roots being walked and pinned.
    pin_walks: pin_walk::PinWalks<beetswap::QueryId>,
    /// Contacts' outboxes being synced through IPNS.
    syncs: outbox_sync::OutboxSyncs<crate::node::Reply<crate::node::SyncReport>>,
    /// Token-holder groups this node sequences: join requests, re-checks.
    token: token_gate::TokenGate,
    /// Token-holder groups being found by their mint.
    token_finds: token_find::TokenFinds<
        libp2p::kad::QueryId,
        libp2p::request_response::OutboundRequestId,
        crate::node::Reply<Vec<crate::node::TokenGroupInfo>>,
    >,
    /// Our join requests waiting for an answer (group, nonce).
    join_requests: std::collections::HashSet<(kaichi_groups::GroupId, Vec<u8>)>,
    /// Whether this identity has devices (this node is one, or its
    /// document lists some): relays then learn the document with each
    /// mailbox request.
    has_devices: bool,
    /// The latest verified documents that grant devices, by identity
    /// (this one's and contacts'): conversations accept entries their
    /// devices sign. Bounded like the document cache.
    device_documents:
        HashMap<kaichi_identity::IpnsName, kaichi_identity::document::VerifiedDocument>,
    /// Contacts' documents as received (bounded), sent to this identity's
    /// other devices with self-sync notifications.
    peer_documents: HashMap<kaichi_identity::IpnsName, Vec<u8>>,
    /// This identity's devices and its groups.
    device_groups: device_groups::DeviceGroups,
    /// When to re-send what contacts have not acknowledged.
    redelivery: redelivery::Redelivery,
    /// Message requests, and the invitations they sent.
    requests: requests::Requests,
    /// The addresses peers saw this node at, newest last (bounded).
    observed: std::collections::VecDeque<Multiaddr>,
    /// Dials whose caller waits for the outcome ([`crate::Node::connect`]), by
    /// connection (bounded: [`connections::MAX_PENDING_CONNECTS`]).
    connects: HashMap<libp2p::swarm::ConnectionId, crate::node::Reply<PeerId>>,
}

/// The peer a `/p2p/…` multiaddr names.
fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

use documents::MAX_CACHED_DOCUMENTS;

impl Engine {
    pub(crate) fn new(
        config: NodeConfig,
        keys: IdentityKeys,
        shared_document: crate::node::SharedDocument,
        store: Arc<SqliteStore>,
        events: mpsc::Sender<NodeEvent>,
    ) -> Result<Self, NodeError> {
        let document = shared_document
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .to_vec();
        let setup = |e: Box<dyn std::error::Error + Send + Sync>| NodeError::TransportSetup(e);
        // A device is its own peer: its own key, not the identity's (two
        // nodes of one identity must not share a PeerId).
        let key = match &config.device_signing_key {
            Some(device) => device.to_libp2p()?,
            None => keys.ipns().to_libp2p()?,
        };
        let idle = config.idle_timeout;
        let limits = config.limits;
        let relay = config.relay;
        let dht_mode = config.dht_mode();
        let root_interval = config.root_republish_interval;
        let autonat_private_ips = config.autonat_private_ips;
        let relay_limits = relay.then_some(relay::RelayLimits {
            retention: config.relay_retention,
            max_per_topic: config.relay_max_per_inbox,
            max_topics: config.relay_max_inboxes,
            max_bytes: config.relay_max_held_bytes,
            publisher_rate: config.relay_publisher_rate,
            inbox_rate: config.relay_inbox_rate,
            connection_rate: config.relay_connection_rate,
        });
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| setup(Box::new(e)))?
            .with_quic()
            .with_other_transport(crate::websocket::transport)
            .map_err(|e| setup(Box::new(e)))?
            .with_other_transport(|k| crate::webrtc::transport(k, &config))
            .map_err(|e| setup(Box::new(e)))?
            .with_behaviour(|k| {
                Behaviour::new(
                    k,
                    &limits,
                    relay,
                    dht_mode,
                    autonat_private_ips,
                    store.clone(),
                )
                .map_err(|e| e.into())
            })
            .map_err(|e| setup(Box::new(e)))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .build();
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&inbox_topic(&keys.ipns().name()))?;
        for addr in &config.listen {
            swarm.listen_on(addr.clone())?;
        }
        for addr in &config.external {
            swarm.add_external_address(addr.clone());
        }
        for addr in &config.bootstrap {
            swarm.dial(addr.clone())?;
        }
        let bootstrap = config
            .bootstrap
            .iter()
            .map(|a| (a.clone(), peer_of(a)))
            .collect();
        // The identity document is a block like any other: served over
        // Bitswap to whoever resolves this identity's IPNS record.
        let doc_cid = BlockCid::of(&document);
        {
            use kaichi_privatelog::store::BlockStore as _;
            store
                .put(&doc_cid.to_cid(), &document)
                .and_then(|()| store.pin(&doc_cid.to_cid()))
                .map_err(|e| NodeError::Blocks(Box::new(e)))?;
        }
        let contacts = store
            .conversations()?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let db = match config.group_database.as_deref() {
            Some(path) => GroupDatabase::open(path)?,
            None => GroupDatabase::open_in_memory()?,
        };
        let me = match config.device_signing_key.clone() {
            Some(key) => MemberSigner::device(keys.ipns().name(), key),
            None => MemberSigner::identity(keys.ipns().clone()),
        };
        let policy = MetadataPolicy::new(config.balances.0.clone());
        let mut session = GroupSession::open(db, me, policy)?;
        session.set_engine(config.group_engine);
        let mut groups = groups::Groups::new(session);
        // This identity's own devices (from its own document) are members
        // like any other.
        let mut has_devices = config.device_signing_key.is_some();
        let mut device_documents = HashMap::new();
        if let Ok(own) = verify_document(&document, now()) {
            has_devices |= !own.devices().is_empty();
            groups.session.devices_mut().remember_own(&own);
            if !own.devices().is_empty() {
                device_documents.insert(own.public().ipns_name(), own);
            }
        }
        let sync = sync::SyncState::new(config.max_pending_notifications);
        let requests = requests::Requests::new(
            store.requests()?.into_iter().collect(),
            store.held_invitations()?,
            &contacts,
        );
        let mut engine = Self {
            swarm,
            config,
            keys,
            document,
            shared_document,
            store,
            conversations: HashMap::new(),
            sync,
            events,
            dropped_events: 0,
            listen_addrs: Vec::new(),
            documents: Default::default(),
            contacts,
            conversation_ids: HashMap::new(),
            lookups: lookup::DocumentLookups::new(),
            published: false,
            dht_joined: false,
            bootstrap,
            providers: providers::Providers::new(),
            groups,
            relay: relay::Relay::new(relay_limits),
            block_gets: blocks::BlockGets::new(),
            resolves: names::Resolves::new(),
            rejections: Default::default(),
            root: root::RootState::new(doc_cid, root_interval),
            syncs: outbox_sync::OutboxSyncs::new(),
            pin_walks: pin_walk::PinWalks::new(),
            token: token_gate::TokenGate::new(),
            token_finds: token_find::TokenFinds::new(),
            join_requests: Default::default(),
            has_devices,
            device_documents,
            peer_documents: HashMap::new(),
            device_groups: Default::default(),
            redelivery: Default::default(),
            requests,
            observed: Default::default(),
            connects: HashMap::new(),
        };
        engine.subscribe_groups();
        engine.load_outboxes()?;
        engine.schedule_undelivered();
        Ok(engine)
    }

    pub(crate) fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut retry = tokio::time::interval(self.config.retry_interval);
        let mut redial = tokio::time::interval(self.config.redial_interval);
        let mut recheck = tokio::time::interval(self.config.token_recheck);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        recheck.reset();
        let Some(mut balances) = self.token.results.take() else {
            return;
        };
        redial.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate, and the bootstrap peers were just dialled.
        redial.reset();
        loop {
            let unsaved = self.sync.has_unsaved();
            tokio::select! {
                // Local work first (rust-libp2p's guideline: prioritise local
                // work over new remote work).
                biased;
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(c) => self.command(c),
                },
                event = self.swarm.select_next_some() => self.swarm_event(event),
                _ = retry.tick() => {
                    self.flush_pending();
                    self.redeliver();
                    self.provide_changed_heads();
                    self.republish_root_if_due();
                    self.refetch_syncs();
                    self.check_syncs();
                    self.drive_pin_walks();
                    self.check_wants();
                    self.check_block_gets();
                    self.check_group_fetches();
                    self.check_lookups();
                    self.finish_token_finds();
                }
                Some(read) = balances.recv() => self.balance_read(read),
                _ = redial.tick() => self.redial(),
                _ = recheck.tick() => self.recheck_members(),
                // Last: runs only when nothing else is ready.
                _ = std::future::ready(()), if unsaved => self.flush_unsaved(),
            }
        }
        self.flush_unsaved();
        self.close_connections().await;
        if self.dropped_events > 0 {
            tracing::warn!(
                dropped = self.dropped_events,
                "events dropped: the event stream was full"
            );
        }
    }

    /// Dials every bootstrap peer that is not connected (a relay restarted,
    /// a network came back).
    fn redial(&mut self) {
        for (addr, peer) in &self.bootstrap {
            if peer.is_some_and(|p| self.swarm.is_connected(&p)) {
                continue;
            }
            if let Err(e) = self.swarm.dial(addr.clone()) {
                tracing::debug!(%addr, %e, "re-dialling a bootstrap peer failed");
            }
        }
    }

    fn emit(&mut self, event: NodeEvent) {
        if self.events.try_send(event).is_err() {
            self.dropped_events += 1;
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.listen_addrs.clone());
            }
            Command::ConnectedPeers(reply) => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::Dial(addr, reply) => {
                let _ = reply.send(self.swarm.dial(addr).map_err(NodeError::from));
            }
            Command::Connect(addr, reply) => self.connect(addr, reply),
            Command::Requests(reply) => {
                let _ = reply.send(self.request_list());
            }
            Command::AcceptRequest(peer, reply) => {
                let _ = reply.send(self.accept_request(&peer));
            }
            Command::Block(peer, reply) => {
                let _ = reply.send(self.block(&peer));
            }
            Command::Unblock(wallet, reply) => {
                let _ = reply.send(self.unblock(&wallet));
            }
            Command::DevicesSeen(reply) => {
                let _ = reply.send(self.devices_seen());
            }
            Command::Rejections(reply) => {
                let _ = reply.send(self.rejections.clone());
            }
            Command::AddContact(doc, reply) => {
                let _ = reply.send(self.add_contact(&doc).map(|(p, _)| p));
            }
            Command::SetDocument(doc, reply) => {
                let _ = reply.send(self.set_own_document(doc));
            }
            Command::Send { to, body, reply } => match self.find_contact(&to) {
                // A wallet address we have no document for: look it up in the DHT.
                Err(NodeError::NotAContact(Peer::Wallet(wallet))) => {
                    self.send_after_lookup(wallet, body, reply);
                }
                _ => {
                    let _ = reply.send(self.send_message(&to, body));
                }
            },
            Command::Read { peer, limit, reply } => {
                let _ = reply.send(self.read_page(&peer, limit));
            }
            Command::Group(c) => self.group_command(c),
            Command::GetBlock { cid, reply } => self.get_block(cid, reply),
            Command::Resolve { name, reply } => self.resolve(name, reply),
            Command::Sync { peer, reply } => self.sync_outbox(peer, reply),
            Command::Attachment {
                message,
                index,
                reply,
            } => {
                let found = self
                    .conversations
                    .values()
                    .find_map(|c| match c.message(&message) {
                        Some(kaichi_privatelog::Message {
                            body: kaichi_privatelog::MessageBody::Text { attachments, .. },
                            ..
                        }) => attachments.get(index).cloned(),
                        _ => None,
                    });
                let _ = reply.send(found.ok_or(NodeError::AttachmentNotFound { message, index }));
            }
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Root(reply) => {
                let _ = reply.send(self.root.published_cid());
            }
            Command::Shutdown => {}
        }
    }

    pub(super) fn publish(&mut self, topic: TopicHash, sealed: Vec<u8>) {
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic.clone(), sealed.clone())
        {
            Ok(_) | Err(gossipsub::PublishError::Duplicate) => {}
            Err(e) => {
                tracing::debug!(%e, "notification queued for retry");
                self.sync.queue(topic, sealed);
            }
        }
    }

    fn flush_pending(&mut self) {
        for (topic, sealed) in self.sync.take_pending() {
            self.publish(topic, sealed);
        }
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                self.listen_addrs.push(address.clone());
                self.emit(NodeEvent::Listening(address));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                num_established,
                endpoint,
                ..
            } => self.established(peer_id, connection_id, num_established.get(), &endpoint),
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => self.connect_outcome(connection_id, Err(NodeError::Dial(error))),
            SwarmEvent::NewExternalAddrCandidate { address } => self.observed(address),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.relay.disconnected(&peer_id);
                self.emit(NodeEvent::PeerDisconnected(peer_id));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Kad(e)) => self.kad(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            }))
                // Only peers that speak Kaichi's DHT join its routing table.
                if info.protocols.contains(&KAD_PROTOCOL) => {
                    if info.agent_version.starts_with(crate::behaviour::RELAY_AGENT) {
                        self.relay_identified(peer_id);
                    }
                    for addr in info.listen_addrs {
                        self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                    }
                    self.dht_joined = true;
                    if !self.published {
                        self.publish_identity();
                    }
                    self.resume_lookups(true);
                }
            SwarmEvent::Behaviour(BehaviourEvent::Blocks(e)) => self.blocks(e),
            SwarmEvent::Behaviour(BehaviourEvent::Bitswap(e)) => self.bitswap(e),
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(libp2p::autonat::Event::StatusChanged {
                old,
                new,
            })) => self.reachability_changed(old, new),
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(e)) => {
                tracing::debug!(?e, "autonat");
            }
            _ => {}
        }
    }
}
