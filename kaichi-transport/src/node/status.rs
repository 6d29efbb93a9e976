//! What a node reports of itself: [`NodeStatus`].

use kaichi_identity::IpnsName;
use libp2p::{Multiaddr, PeerId};

/// A snapshot of a running node ([`Node::status`](super::Node::status)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStatus {
    /// The node's PeerId.
    pub peer_id: PeerId,
    /// The identity's IPNS name.
    pub name: IpnsName,
    /// The addresses it listens on.
    pub listen_addrs: Vec<Multiaddr>,
    /// Its confirmed external addresses (configured, or confirmed by
    /// AutoNAT): what others are told to dial.
    pub external_addrs: Vec<Multiaddr>,
    /// The addresses peers saw this node at (identify's observed
    /// addresses, newest last; candidates until AutoNAT confirms one).
    pub observed_addrs: Vec<Multiaddr>,
    /// AutoNAT's verdict.
    pub reachability: Reachability,
    /// The peers with an open connection.
    pub connected: Vec<ConnectedPeer>,
    /// Whether the node answers DHT queries (else it only asks).
    pub dht_server: bool,
    /// Peers in its DHT routing table.
    pub routing_table_peers: usize,
    /// Notifications not yet published (no peer on the topic yet): retried.
    pub unpublished_notifications: usize,
    /// This identity's entries that contacts have not acknowledged yet (in
    /// the conversations loaded): re-sent with backoff.
    pub awaiting_receipt: usize,
    /// Conversations loaded in memory.
    pub conversations: usize,
    /// Entries of the loaded conversations held in memory (the rest settled
    /// into the store; see `NodeConfigBuilder::conversation_window`).
    pub held_entries: usize,
    /// The root this identity's IPNS record points to, once published.
    pub root: Option<kaichi_privatelog::RootCid>,
    /// The sequence number of the last IPNS record published, or the
    /// highest another device of this identity published (0: none yet);
    /// the next record outranks it.
    pub ipns_sequence: u64,
    /// What it holds for others, when it is a relay.
    pub relay: Option<RelayLoad>,
    /// Messages and blocks from peers rejected since the start.
    pub rejected: u64,
}

/// Whether others can dial this node, as AutoNAT last found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reachability {
    /// Not tested yet (no AutoNAT server met, or too few answers).
    Unknown,
    /// Peers dialled it back at this address.
    Public(Multiaddr),
    /// Peers could not dial it back.
    Private,
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectedPeer {
    /// Who.
    pub peer: PeerId,
    /// Whether it is a Kaichi relay this node uses (identify agent
    /// `kaichi-relay`).
    pub relay: bool,
}

/// A relay's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelayLoad {
    /// Inboxes followed.
    pub inboxes: usize,
    /// Group topics followed.
    pub groups: usize,
    /// Notifications held for offline readers.
    pub held_notifications: usize,
    /// Their bytes.
    pub held_bytes: usize,
}
