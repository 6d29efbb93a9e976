//! Relay/store mode: follow the inbox and group topics of connected peers,
//! hold their sealed notifications and group messages, hand them back on
//! reconnect, pin the entry blocks peers ask for. Also the client side:
//! which connected peers are relays that pin this node's blocks.
//!
//! [`Relay`] is the state, sans-IO (time comes in as an [`Instant`]); the
//! `impl Engine` block at the end is the swarm glue.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use cid::Cid;
use kaichi_groups::{GroupId, MessageInfo, MessageKind};
use kaichi_identity::IpnsName;
use kaichi_identity::Timestamp;
use kaichi_identity::document::verify_document;
use kaichi_privatelog::{BlockCid, Root, RootCid, SealedEntry};
use libp2p::PeerId;
use libp2p::gossipsub::{IdentTopic, MessageAcceptance, TopicHash};

use super::{Engine, inbox_topic};
use crate::exchange::{BlockRequest, MAX_PIN_BYTES, MAX_RESPONSE_BYTES};

/// Most relays a node pushes its blocks to.
const MAX_RELAYS: usize = 16;
/// Relay mode: most blocks pinned for one peer.
const MAX_PINNED_PER_PEER: usize = 100_000;

/// The prefix of inbox topics.
const INBOX_PREFIX: &str = "/kaichi/inbox/1/";
/// The prefix of group topics.
const GROUP_PREFIX: &str = "/kaichi/group/1/";

/// How much a relay keeps.
#[derive(Debug, Clone, Copy)]
pub(super) struct RelayLimits {
    /// How long a held message is kept.
    pub(super) retention: Duration,
    /// Most messages held per inbox or group.
    pub(super) max_per_topic: usize,
    /// Most inboxes (and, separately, groups, and pinning peers) served.
    pub(super) max_topics: usize,
    /// Most bytes held per inbox.
    pub(super) max_bytes: usize,
    /// What one publisher may send to the inboxes followed.
    pub(super) publisher_rate: crate::config::RateLimit,
    /// What one inbox may receive.
    pub(super) inbox_rate: crate::config::RateLimit,
    /// What one connected peer may send to the inboxes followed, whoever
    /// signed it (many publisher keys over one connection share it).
    pub(super) connection_rate: crate::config::RateLimit,
}

/// Notifications past its rate after which a directly connected publisher
/// is disconnected.
pub(super) const DISCONNECT_AFTER: u32 = 256;
/// Most publishers whose violations are counted at once.
const MAX_COUNTED: usize = 4096;

/// Whether `data` can be a sealed notification: version 1, an ephemeral
/// key, an AEAD tag, within the size bound (all a relay can check without
/// the recipient's key).
fn sealed_shape(data: &[u8]) -> bool {
    data.first() == Some(&1)
        && data.len() >= 1 + 32 + 16
        && data.len() <= crate::notification::MAX_NOTIFICATION_BYTES
}

/// What kind of topic a relay follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Follow {
    /// An identity's inbox: sealed notifications are held.
    Inbox,
    /// A group: MLS messages are held by their clear header.
    Group,
}

/// A message a relay holds for a group (ciphertext).
struct HeldGroupMessage {
    at: Instant,
    epoch: u64,
    kind: MessageKind,
    bytes: Vec<u8>,
}

/// The relay's state: what it follows and holds, and the relays this node
/// itself uses.
pub(super) struct Relay {
    /// `None` when this node is not a relay.
    limits: Option<RelayLimits>,
    mailboxes: HashMap<TopicHash, super::mailbox::Mailbox>,
    groups: HashMap<TopicHash, VecDeque<HeldGroupMessage>>,
    pinned_by: HashMap<PeerId, usize>,
    /// Connected relays (identify agent `kaichi-relay`): they pin our blocks.
    used: HashSet<PeerId>,
    publishers: super::rate_limit::Limiter<PeerId>,
    inboxes: super::rate_limit::Limiter<TopicHash>,
    /// Per connected peer that sent (or forwarded) to an inbox.
    connections: super::rate_limit::Limiter<PeerId>,
    /// Notifications past their rate, per publisher or sending peer.
    violations: HashMap<PeerId, u32>,
    /// Directly connected publishers to disconnect.
    abusers: Vec<PeerId>,
}

impl Relay {
    /// A relay keeping to `limits`, or (with `None`) a node that only uses relays.
    pub(super) fn new(limits: Option<RelayLimits>) -> Self {
        let unlimited = crate::config::RateLimit {
            per_second: u32::MAX,
            burst: u32::MAX,
        };
        let (publisher, inbox, connection) = limits
            .map_or((unlimited, unlimited, unlimited), |l| {
                (l.publisher_rate, l.inbox_rate, l.connection_rate)
            });
        let max_topics = limits.map_or(1, |l| l.max_topics);
        Self {
            limits,
            mailboxes: HashMap::new(),
            groups: HashMap::new(),
            pinned_by: HashMap::new(),
            used: HashSet::new(),
            publishers: super::rate_limit::Limiter::new(publisher, MAX_COUNTED),
            inboxes: super::rate_limit::Limiter::new(inbox, max_topics),
            connections: super::rate_limit::Limiter::new(connection, MAX_COUNTED),
            violations: HashMap::new(),
            abusers: Vec::new(),
        }
    }

    /// Whether to follow `topic`, which a connected peer subscribed to (never
    /// this node's own inbox, `own`; nothing past the limits).
    pub(super) fn to_follow(&self, topic: &TopicHash, own: &TopicHash) -> Option<Follow> {
        let limits = self.limits?;
        let name = topic.as_str();
        if name.starts_with(GROUP_PREFIX) {
            (!self.groups.contains_key(topic) && self.groups.len() < limits.max_topics)
                .then_some(Follow::Group)
        } else if name.starts_with(INBOX_PREFIX) && topic != own {
            (!self.mailboxes.contains_key(topic) && self.mailboxes.len() < limits.max_topics)
                .then_some(Follow::Inbox)
        } else {
            None
        }
    }

    /// Records that `topic` is now followed (subscribed).
    pub(super) fn followed(&mut self, topic: TopicHash, kind: Follow) {
        match kind {
            Follow::Inbox => {
                self.mailboxes.entry(topic).or_default();
            }
            Follow::Group => {
                self.groups.entry(topic).or_default();
            }
        }
    }

    /// A gossip message on a topic this relay follows: held, and judged
    /// (`None`: not a followed topic).
    ///
    /// For an inbox: only what has a sealed notification's shape, within
    /// the rates of the peer that sent it (`from`, whoever signed: many
    /// keys over one connection share one budget), of its publisher and of
    /// the inbox, is held and forwarded. Past the sending peer's rate it is
    /// rejected (a gossipsub penalty, and a disconnect after
    /// [`DISCONNECT_AFTER`]). Past the publisher's or the inbox's, it is
    /// rejected the same way when the publisher sent it itself, and only
    /// ignored when a peer forwarded it: a forwarder could not know.
    pub(super) fn gossip(
        &mut self,
        topic: &TopicHash,
        data: Vec<u8>,
        (publisher, from): (Option<PeerId>, PeerId),
        now: Instant,
    ) -> Option<MessageAcceptance> {
        if self.mailboxes.contains_key(topic) {
            if !sealed_shape(&data) {
                return Some(MessageAcceptance::Reject);
            }
            let Some(publisher) = publisher else {
                return Some(MessageAcceptance::Reject);
            };
            if !self.connections.allow(&from, now) {
                return Some(self.over_rate(from, true));
            }
            if !self.publishers.allow(&publisher, now) || !self.inboxes.allow(topic, now) {
                return Some(self.over_rate(publisher, publisher == from));
            }
            self.hold(topic, data, now);
            Some(MessageAcceptance::Accept)
        } else if self.groups.contains_key(topic) {
            // Forwarded for the members (a relay cannot read it), and held.
            let info = if super::groups::reference::is_reference(&data) {
                super::groups::reference::parse(&data)
                    .map(|r| MessageInfo {
                        group: r.group,
                        epoch: r.epoch,
                        kind: r.kind,
                    })
                    .map_err(|_| ())
            } else {
                kaichi_groups::message_info(&data).map_err(|_| ())
            };
            Some(match info {
                Ok(info) if topic.as_str().ends_with(&info.group.to_string()) => {
                    self.hold_group_message(topic, info, data, now);
                    MessageAcceptance::Accept
                }
                _ => MessageAcceptance::Reject,
            })
        } else {
            None
        }
    }

    /// A notification past a rate: counted against `publisher` (its
    /// publisher, or the peer that sent it) when that peer sent it itself.
    fn over_rate(&mut self, publisher: PeerId, direct: bool) -> MessageAcceptance {
        if !direct {
            return MessageAcceptance::Ignore;
        }
        if self.violations.len() >= MAX_COUNTED && !self.violations.contains_key(&publisher) {
            self.violations.clear();
        }
        let n = self.violations.entry(publisher).or_default();
        *n += 1;
        if *n == DISCONNECT_AFTER {
            self.abusers.push(publisher);
        }
        MessageAcceptance::Reject
    }

    /// Publishers to disconnect (each once).
    pub(super) fn take_abusers(&mut self) -> Vec<PeerId> {
        std::mem::take(&mut self.abusers)
    }

    /// What this relay follows and holds (`None` when it is not a relay).
    pub(super) fn load(&self) -> Option<crate::node::RelayLoad> {
        self.limits?;
        Some(crate::node::RelayLoad {
            inboxes: self.mailboxes.len(),
            groups: self.groups.len(),
            held_notifications: self.mailboxes.values().map(|m| m.len()).sum(),
            held_bytes: self.mailboxes.values().map(|m| m.bytes()).sum(),
        })
    }

    /// Bytes held for `topic`'s inbox.
    #[cfg(test)]
    pub(super) fn held_bytes(&self, topic: &TopicHash) -> usize {
        self.mailboxes
            .get(topic)
            .map_or(0, super::mailbox::Mailbox::bytes)
    }

    /// Keeps a sealed notification for an offline recipient (the oldest
    /// goes when the mailbox is full; expired ones go first).
    fn hold(&mut self, topic: &TopicHash, data: Vec<u8>, now: Instant) {
        let Some(limits) = self.limits else { return };
        if let Some(mailbox) = self.mailboxes.get_mut(topic) {
            mailbox.hold(
                data,
                now,
                limits.retention,
                (limits.max_per_topic, limits.max_bytes),
            );
        }
    }

    /// The notifications held for `peer`'s inbox that it has not taken
    /// (its PeerId is its IPNS name, so only the owner gets them). Without
    /// a document, the identity's own peer is the one reader it knows.
    pub(super) fn drain_mailbox(&mut self, peer: &PeerId, now: Instant) -> Vec<Vec<u8>> {
        let name = IpnsName::from_peer_id(*peer);
        self.take_mailbox(&name, None, peer, now)
    }

    /// The notifications held for `name`'s inbox that `peer` has not
    /// taken, where `readers` (the identity's own peer and its devices',
    /// from its verified document, with that document's creation time)
    /// each take them for themselves; nothing for a peer not among them.
    pub(super) fn take_mailbox(
        &mut self,
        name: &IpnsName,
        readers: Option<(super::mailbox::DocumentOrder, Vec<PeerId>)>,
        peer: &PeerId,
        now: Instant,
    ) -> Vec<Vec<u8>> {
        let Some(limits) = self.limits else {
            return Vec::new();
        };
        let topic = inbox_topic(name).hash();
        let Some(mailbox) = self.mailboxes.get_mut(&topic) else {
            return Vec::new();
        };
        match readers {
            Some((from, readers)) => mailbox.set_readers(from, readers),
            None if name.peer_id() == peer => mailbox.add_reader(*peer),
            None => return Vec::new(),
        }
        mailbox.take(peer, now, limits.retention)
    }

    /// Holds a group message (by its clear header) for members who were away.
    fn hold_group_message(
        &mut self,
        topic: &TopicHash,
        info: MessageInfo,
        bytes: Vec<u8>,
        now: Instant,
    ) {
        let Some(limits) = self.limits else { return };
        if let Some(log) = self.groups.get_mut(topic) {
            log.retain(|m| now.duration_since(m.at) <= limits.retention);
            if log.len() >= limits.max_per_topic {
                log.pop_front();
            }
            log.push_back(HeldGroupMessage {
                at: now,
                epoch: info.epoch,
                kind: info.kind,
                bytes,
            });
        }
    }

    /// The held messages of a group from `since_epoch` on, in the order
    /// they apply, within half a response (anyone may ask: the topic is open
    /// to anyone too).
    pub(super) fn held_group_log(&self, group: &[u8], since_epoch: u64) -> Vec<Vec<u8>> {
        let Ok(id) = GroupId::from_slice(group) else {
            return Vec::new();
        };
        let Some(log) = self.groups.get(&super::group_topic(&id).hash()) else {
            return Vec::new();
        };
        let mut held: Vec<&HeldGroupMessage> =
            log.iter().filter(|m| m.epoch >= since_epoch).collect();
        held.sort_by_key(|m| (m.epoch, m.kind));
        let mut out = Vec::new();
        let mut size = 0;
        for m in held {
            size += m.bytes.len();
            if size > MAX_RESPONSE_BYTES / 2 {
                break;
            }
            out.push(m.bytes.clone());
        }
        out
    }

    /// The blocks among `blocks` that this relay pins for `peer`, with
    /// their CIDs: each a canonical entry (its author is hidden, so not
    /// checked here), a valid identity document or a root (so that the
    /// identity can be looked up and read while offline; a root comes back
    /// decoded, to be walked), within [`MAX_PIN_BYTES`] a request and
    /// [`MAX_PINNED_PER_PEER`] in all (counted when admitted).
    pub(super) fn admit_pins(
        &mut self,
        peer: &PeerId,
        blocks: &[Vec<u8>],
        now: Timestamp,
    ) -> Vec<(Cid, Vec<u8>, Option<Root>)> {
        let Some(limits) = self.limits else {
            return Vec::new();
        };
        if !self.pinned_by.contains_key(peer) && self.pinned_by.len() >= limits.max_topics {
            return Vec::new();
        }
        let mut admitted = Vec::new();
        let mut size = 0;
        for block in blocks {
            size += block.len();
            let count = self.pinned_by.get(peer).copied().unwrap_or(0);
            if size > MAX_PIN_BYTES || count >= MAX_PINNED_PER_PEER {
                break;
            }
            let (cid, root) = match SealedEntry::decode(block, None) {
                Ok(entry) => (entry.cid().to_cid(), None),
                Err(_) if verify_document(block, now).is_ok() => {
                    (BlockCid::of(block).to_cid(), None)
                }
                Err(_) => match Root::decode(block) {
                    Ok(root) => (RootCid::of(block).to_cid(), Some(root)),
                    Err(_) => continue,
                },
            };
            *self.pinned_by.entry(*peer).or_default() += 1;
            admitted.push((cid, block.clone(), root));
        }
        admitted
    }

    /// Whether this relay pins for `peer` (relay mode, and room for it).
    pub(super) fn pins_for(&self, peer: &PeerId) -> bool {
        self.limits.is_some_and(|limits| {
            self.pinned_by.contains_key(peer) || self.pinned_by.len() < limits.max_topics
        })
    }

    /// A connected peer said it is a relay: it will pin our blocks.
    /// `true` when it was not in use yet (it has nothing of ours so far).
    pub(super) fn relay_identified(&mut self, peer: PeerId) -> bool {
        self.used.len() < MAX_RELAYS && self.used.insert(peer)
    }

    /// A peer disconnected.
    pub(super) fn disconnected(&mut self, peer: &PeerId) {
        self.used.remove(peer);
    }

    /// The relays to push a new block to.
    pub(super) fn pin_targets(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.used.iter().copied()
    }
}

impl Engine {
    /// The held notifications `peer` may take: with `document` (a
    /// verified identity document naming `peer` as the identity or one of
    /// its devices), those of that identity's inbox; without, those of
    /// `peer`'s own.
    pub(super) fn mailbox_for(&mut self, peer: &PeerId, document: &[u8]) -> Vec<Vec<u8>> {
        let now = std::time::Instant::now();
        if document.is_empty() {
            return self.relay.drain_mailbox(peer, now);
        }
        let Ok(doc) = Timestamp::from_system_time(std::time::SystemTime::now())
            .map_err(drop)
            .and_then(|t| verify_document(document, t).map_err(drop))
        else {
            tracing::debug!(%peer, "a mailbox request with an invalid identity document");
            return Vec::new();
        };
        let name = doc.public().ipns_name();
        let readers: Vec<PeerId> = std::iter::once(*name.peer_id())
            .chain(
                doc.devices()
                    .iter()
                    .map(|g| g.request().signing_key().to_libp2p().to_peer_id()),
            )
            .collect();
        let version = doc.version();
        let order = (version.authority_created_at(), version.created_at());
        self.relay
            .take_mailbox(&name, Some((order, readers)), peer, now)
    }

    /// Relay: follows a topic a connected peer subscribed to.
    pub(super) fn follow(&mut self, topic: TopicHash) {
        let own = inbox_topic(&self.keys.ipns().name()).hash();
        let Some(kind) = self.relay.to_follow(&topic, &own) else {
            return;
        };
        let ident = IdentTopic::new(topic.as_str());
        if self
            .swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&ident)
            .is_ok()
        {
            self.relay.followed(topic, kind);
        }
    }

    /// Asks every connected relay to pin one of our new entry blocks, so it
    /// can be fetched while we are offline (fire and forget).
    pub(super) fn pin_at_relays(&mut self, block: &[u8]) {
        let relays: Vec<PeerId> = self.relay.pin_targets().collect();
        for relay in relays {
            let request = BlockRequest {
                pin: vec![block.to_vec()],
                ..Default::default()
            };
            self.swarm
                .behaviour_mut()
                .blocks
                .send_request(&relay, request);
        }
    }

    /// A relay newly in use gets our document and current root at once:
    /// it walks the root and pins everything we wrote before we knew it
    /// (without this, what was written before the relay was identified
    /// would reach it only when the root next changes).
    pub(super) fn relay_identified(&mut self, relay: PeerId) {
        if !self.relay.relay_identified(relay) {
            return;
        }
        let blocks = [self.document.clone(), self.root.root().encode()];
        // One request each, as `pin_at_relays` sends them (a large root
        // must not push the document past a request's size bound).
        for block in blocks {
            let request = BlockRequest {
                pin: vec![block],
                ..Default::default()
            };
            self.swarm
                .behaviour_mut()
                .blocks
                .send_request(&relay, request);
        }
    }

    /// Asks every relay in use to fetch and pin blobs we serve (a Welcome
    /// and its tree), so they outlive our being online.
    pub(super) fn pin_blobs_at_relays(&mut self, roots: &[Cid]) {
        let relays: Vec<PeerId> = self.relay.pin_targets().collect();
        for relay in relays {
            // A request names at most MAX_PIN_ROOTS (a split Welcome has more).
            for batch in roots.chunks(crate::exchange::MAX_PIN_ROOTS) {
                let request = BlockRequest {
                    pin_roots: batch.iter().map(|c| c.to_bytes()).collect(),
                    ..Default::default()
                };
                self.swarm
                    .behaviour_mut()
                    .blocks
                    .send_request(&relay, request);
            }
        }
    }

    /// Relay: walks and pins the blobs a user asks for (fetched from it
    /// over Bitswap), when this node pins for that user at all.
    pub(super) fn pin_roots(&mut self, peer: &PeerId, roots: &[Vec<u8>]) {
        if !self.relay.pins_for(peer) {
            return;
        }
        let roots: Vec<Cid> = roots
            .iter()
            .take(crate::exchange::MAX_PIN_ROOTS)
            .filter_map(|r| Cid::try_from(r.as_slice()).ok())
            .filter(|c| kaichi_privatelog::blob::kind(c).is_ok())
            .collect();
        if !roots.is_empty() {
            self.walk_pins(*peer, roots);
        }
    }

    /// Relay: stores and provides the blocks a peer asks it to pin.
    pub(super) fn pin(&mut self, peer: &PeerId, blocks: &[Vec<u8>]) {
        use kaichi_privatelog::store::BlockStore as _;
        for (cid, block, root) in self.relay.admit_pins(peer, blocks, super::now()) {
            if let Err(e) = self
                .store
                .put(&cid, &block)
                .and_then(|()| self.store.pin(&cid))
            {
                tracing::debug!(%e, "could not pin a block");
                continue;
            }
            if let Err(e) = self
                .swarm
                .behaviour_mut()
                .kad
                .start_providing(libp2p::kad::RecordKey::new(&cid.hash().to_bytes()))
            {
                tracing::debug!(%e, "could not provide a pinned block");
            }
            if let Some(root) = root {
                self.walk_pins(*peer, super::pin_walk::root_links(&root));
            }
        }
    }
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
