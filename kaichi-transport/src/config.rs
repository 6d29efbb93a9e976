//! Node configuration.

use kaichi_groups::GroupEngine;
use std::sync::Arc;
use std::time::Duration;

use kaichi_groups::BalanceSource;
use libp2p::Multiaddr;

/// A configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A bound is zero.
    #[error("{0} must be positive")]
    Zero(&'static str),
}

/// Bounds on libp2p connections (see [`NodeConfigBuilder::connection_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most established inbound connections.
    pub max_incoming: u32,
    /// Most established outbound connections.
    pub max_outgoing: u32,
    /// Most connections being set up in each direction.
    pub max_pending: u32,
    /// Most established connections to one peer.
    pub max_per_peer: u32,
    /// Most inbound connections from one IP address (pending or
    /// established; refused before any handshake).
    pub max_per_ip: u32,
}

impl Default for ConnectionLimits {
    /// 256 in, 128 out, 64 pending each way, 32 inbound per IP address,
    /// 4 per peer (one each way
    /// while two peers dial each other, and AutoNAT's dial-backs both ways:
    /// with 2, a peer that had dialled this node back could not be dialled
    /// back in turn).
    fn default() -> Self {
        Self {
            max_incoming: 256,
            max_outgoing: 128,
            max_pending: 64,
            max_per_peer: 4,
            max_per_ip: 32,
        }
    }
}

/// A token bucket's rate: `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_second: u32,
    /// Most tokens held (a burst).
    pub burst: u32,
}

/// How a node runs. Build with [`NodeConfig::builder`].
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub(crate) listen: Vec<Multiaddr>,
    pub(crate) bootstrap: Vec<Multiaddr>,
    pub(crate) max_pending_notifications: usize,
    pub(crate) event_buffer: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) retry_interval: Duration,
    pub(crate) root_republish_interval: Duration,
    pub(crate) relay: bool,
    pub(crate) relay_retention: Duration,
    pub(crate) relay_max_per_inbox: usize,
    pub(crate) relay_max_inboxes: usize,
    pub(crate) relay_max_held_bytes: usize,
    pub(crate) relay_publisher_rate: RateLimit,
    pub(crate) relay_inbox_rate: RateLimit,
    pub(crate) relay_connection_rate: RateLimit,
    pub(crate) limits: ConnectionLimits,
    pub(crate) redial_interval: Duration,
    pub(crate) group_database: Option<std::path::PathBuf>,
    pub(crate) device_signing_key: Option<kaichi_identity::IpnsKeypair>,
    pub(crate) balances: Balances,
    pub(crate) solana_rpc: Option<crate::solana::SolanaRpc>,
    pub(crate) token_recheck: Duration,
    pub(crate) dht_mode: DhtMode,
    pub(crate) group_engine: GroupEngine,
    pub(crate) external: Vec<Multiaddr>,
    pub(crate) autonat_private_ips: bool,
    pub(crate) welcome_split: WelcomeSplit,
    pub(crate) conversation_window: usize,
    #[cfg(feature = "webrtc")]
    pub(crate) webrtc_certificate: Option<crate::webrtc::WebRtcCertificate>,
}

/// When a Welcome is sent split (see [`kaichi_groups::welcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WelcomeSplit {
    /// A Welcome naming more new members than this is split.
    pub(crate) above: usize,
    /// Secrets per shard.
    pub(crate) per_shard: usize,
}

/// Whether the node answers DHT queries (server) or only makes them
/// (client), as IPFS nodes choose: a node that others cannot reach must not
/// be a server, or it poisons their routing tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DhtMode {
    /// Always a server: loopback and LAN networks (where AutoNAT does not
    /// confirm private addresses unless
    /// [`NodeConfigBuilder::autonat_private_ips`] is set) and nodes known
    /// to be reachable.
    Server,
    /// Always a client.
    Client,
    /// A server while an external address is confirmed (by AutoNAT: peers
    /// dial this node back at the addresses it listens on and is seen at;
    /// or one given with [`NodeConfigBuilder::external_address`]), a client
    /// otherwise: what a node on the internet should run (the default).
    #[default]
    Auto,
}

impl DhtMode {
    /// Kademlia's mode setting (`None`: automatic).
    pub(crate) fn kad_mode(self) -> Option<libp2p::kad::Mode> {
        match self {
            Self::Server => Some(libp2p::kad::Mode::Server),
            Self::Client => Some(libp2p::kad::Mode::Client),
            Self::Auto => None,
        }
    }
}

/// Where the node reads SPL token balances for token-holder groups.
#[derive(Clone)]
pub(crate) struct Balances(pub(crate) Arc<dyn BalanceSource + Send + Sync>);

impl std::fmt::Debug for Balances {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Balances(..)")
    }
}

impl NodeConfig {
    /// The DHT mode.
    pub(crate) fn dht_mode(&self) -> DhtMode {
        self.dht_mode
    }

    /// A builder with defaults: listen on 127.0.0.1 (TCP, any port), no bootstrap peers.
    pub fn builder() -> NodeConfigBuilder {
        NodeConfigBuilder {
            config: NodeConfig {
                listen: Vec::new(),
                bootstrap: Vec::new(),
                max_pending_notifications: 1024,
                event_buffer: 1024,
                idle_timeout: Duration::from_secs(60),
                retry_interval: Duration::from_secs(2),
                root_republish_interval: Duration::from_secs(10),
                relay: false,
                relay_retention: Duration::from_secs(7 * 86_400),
                relay_max_per_inbox: 1024,
                relay_max_inboxes: 10_000,
                relay_max_held_bytes: 32 * 1024 * 1024,
                relay_publisher_rate: RateLimit {
                    per_second: 100,
                    burst: 500,
                },
                relay_inbox_rate: RateLimit {
                    per_second: 400,
                    burst: 1000,
                },
                relay_connection_rate: RateLimit {
                    per_second: 1000,
                    burst: 2000,
                },
                limits: ConnectionLimits::default(),
                redial_interval: Duration::from_secs(10),
                group_database: None,
                device_signing_key: None,
                balances: Balances(Arc::new(kaichi_groups::NoBalances)),
                solana_rpc: None,
                token_recheck: Duration::from_secs(600),
                dht_mode: DhtMode::default(),
                group_engine: GroupEngine::default(),
                external: Vec::new(),
                autonat_private_ips: false,
                welcome_split: WelcomeSplit {
                    above: kaichi_groups::welcome::DEFAULT_SHARD_SECRETS,
                    per_shard: kaichi_groups::welcome::DEFAULT_SHARD_SECRETS,
                },
                conversation_window: 1024,
                #[cfg(feature = "webrtc")]
                webrtc_certificate: None,
            },
        }
    }
}

/// Builds a [`NodeConfig`]; `build` validates.
#[derive(Debug, Clone)]
pub struct NodeConfigBuilder {
    config: NodeConfig,
}

impl NodeConfigBuilder {
    /// Adds a listen address (e.g. `/ip4/127.0.0.1/tcp/0` or `/ip4/127.0.0.1/udp/0/quic-v1`).
    pub fn listen(mut self, addr: Multiaddr) -> Self {
        self.config.listen.push(addr);
        self
    }

    /// The DTLS certificate of the node's WebRTC-direct listeners (listen
    /// on `/ip4/…/udp/<port>/webrtc-direct`): its hash is the `/certhash`
    /// of their addresses, which pages dial. Without one the node makes a
    /// new certificate each start, and the addresses change with it.
    /// (Feature `webrtc`, on by default.)
    #[cfg(feature = "webrtc")]
    pub fn webrtc_certificate(mut self, certificate: crate::webrtc::WebRtcCertificate) -> Self {
        self.config.webrtc_certificate = Some(certificate);
        self
    }

    /// The MLS engine of the groups this node creates and of the KeyPackage
    /// it publishes (default [`GroupEngine::MlsRs`]: linear in the group
    /// size). Groups already held keep their engine.
    pub fn group_engine(mut self, engine: GroupEngine) -> Self {
        self.config.group_engine = engine;
        self
    }

    /// Sends a Welcome that names more than `above` new members split: a
    /// header and shards of `per_shard` members' secrets (1 to 4,096),
    /// indexed, so each invitee fetches its own shard instead of every
    /// member's secrets (default: both 256; 11.8 MB at 100,000 members
    /// becomes about 60 KB per invitee).
    pub fn split_welcomes(mut self, above: usize, per_shard: usize) -> Self {
        self.config.welcome_split = WelcomeSplit {
            above,
            per_shard: per_shard.clamp(1, kaichi_groups::welcome::MAX_SHARD_SECRETS),
        };
        self
    }

    /// The group engine set so far (for the builder's KeyPackage).
    pub(crate) fn group_engine_value(&self) -> GroupEngine {
        self.config.group_engine
    }

    /// The node's DHT mode (default [`DhtMode::Auto`]).
    pub fn dht_mode(mut self, mode: DhtMode) -> Self {
        self.config.dht_mode = mode;
        self
    }

    /// An address others can reach this node at (a public IP and port,
    /// a port forward): announced to peers, and it makes a
    /// [`DhtMode::Auto`] node a DHT server.
    pub fn external_address(mut self, addr: Multiaddr) -> Self {
        self.config.external.push(addr);
        self
    }

    /// Adds a peer to dial at start.
    pub fn bootstrap(mut self, addr: Multiaddr) -> Self {
        self.config.bootstrap.push(addr);
        self
    }

    /// Most notifications queued for recipients not reachable yet.
    pub fn max_pending_notifications(mut self, n: usize) -> Self {
        self.config.max_pending_notifications = n;
        self
    }

    /// Capacity of the event channel; events beyond it are dropped (and counted).
    pub fn event_buffer(mut self, n: usize) -> Self {
        self.config.event_buffer = n;
        self
    }

    /// How often queued notifications are retried.
    pub fn retry_interval(mut self, d: Duration) -> Self {
        self.config.retry_interval = d;
        self
    }

    /// Let AutoNAT probe and confirm private and loopback addresses (as
    /// client and as server, after a 1 s delay instead of 15 s): for a LAN
    /// or tests on one machine. On the internet leave it off: only global
    /// addresses then count as reachable.
    pub fn autonat_private_ips(mut self, on: bool) -> Self {
        self.config.autonat_private_ips = on;
        self
    }

    /// Least time between two IPNS records this node publishes as its root
    /// changes (default 10 s; the record is also refreshed every 4 hours).
    pub fn root_republish_interval(mut self, d: Duration) -> Self {
        self.config.root_republish_interval = d;
        self
    }

    /// Relay/store mode: follow the inbox topics of connected peers, keep
    /// their sealed notifications for `retention`, and hand them over when
    /// they reconnect.
    pub fn relay(mut self, retention: Duration) -> Self {
        self.config.relay = true;
        self.config.relay_retention = retention;
        self
    }

    /// Relay limits on what is published to the inboxes a relay follows:
    /// per publisher (default 100/s, bursts of 500) and per inbox (400/s,
    /// bursts of 1,000). Past them a notification is refused (and its
    /// publisher, when it sent it directly, penalised; one that keeps on is
    /// disconnected).
    pub fn relay_rates(mut self, publisher: RateLimit, inbox: RateLimit) -> Self {
        self.config.relay_publisher_rate = publisher;
        self.config.relay_inbox_rate = inbox;
        self
    }

    /// Relay limit on what one connected peer may send to the inboxes a
    /// relay follows, whoever signed it (default 1,000/s, bursts of 2,000):
    /// many publisher keys made up by one peer share this budget, and the
    /// peer is penalised, then disconnected, past it. Set it above what
    /// the relays this one meshes with forward.
    pub fn relay_connection_rate(mut self, rate: RateLimit) -> Self {
        self.config.relay_connection_rate = rate;
        self
    }

    /// How many of each conversation's newest entries stay in memory
    /// (default 1,024, at least 1): older ones settle into the store once
    /// twice as many are held (entries waiting for a receipt, heads and what
    /// edits or reacts to a held message stay too), so a node's memory does
    /// not grow with its history. Reads reaching past them load the
    /// conversation from the store.
    pub fn conversation_window(mut self, entries: usize) -> Self {
        self.config.conversation_window = entries.max(1);
        self
    }

    /// Relay limit: most bytes held per inbox (default 32 MiB; the oldest
    /// go first).
    pub fn relay_held_bytes(mut self, bytes: usize) -> Self {
        self.config.relay_max_held_bytes = bytes;
        self
    }

    /// Relay limits: notifications kept per inbox, and inboxes followed.
    pub fn relay_limits(mut self, per_inbox: usize, inboxes: usize) -> Self {
        self.config.relay_max_per_inbox = per_inbox;
        self.config.relay_max_inboxes = inboxes;
        self
    }

    /// Connection limits; connections beyond them are denied.
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.config.limits = limits;
        self
    }

    /// How often bootstrap peers that are not connected are dialled again.
    pub fn redial_interval(mut self, d: Duration) -> Self {
        self.config.redial_interval = d;
        self
    }

    /// Where group state lives (a SQLite file; may be the block store's
    /// file). Without it, groups live in memory for the node's lifetime.
    pub fn group_database(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.group_database = Some(path.into());
        self
    }

    /// This node is a device of its identity: its group leaves sign with
    /// this key (the device's own, which the identity's document must grant)
    /// instead of the identity's IPNS key, so several devices of one
    /// identity can be members of one group. Its published KeyPackage must be
    /// made with the same key ([`crate::prepare_device_key_package`]).
    pub fn device_signing_key(mut self, key: kaichi_identity::IpnsKeypair) -> Self {
        self.config.device_signing_key = Some(key);
        self
    }

    /// Where SPL token balances come from when this node, as a
    /// token-holder group's sequencer, admits a member (an RPC client, an
    /// indexer, a snapshot). Without one, such adds are refused.
    pub fn balance_source(mut self, source: Arc<dyn BalanceSource + Send + Sync>) -> Self {
        self.config.balances = Balances(source);
        self
    }

    /// Reads SPL token balances from a Solana JSON-RPC endpoint: as the
    /// sequencer of a token-holder group this node then admits join
    /// requests of wallets holding the minimum, and re-checks members
    /// every [`Self::token_recheck`] (replaces any [`Self::balance_source`]).
    pub fn solana_rpc(mut self, rpc: crate::solana::SolanaRpc) -> Self {
        self.config.balances = Balances(Arc::new(rpc.clone()));
        self.config.solana_rpc = Some(rpc);
        self
    }

    /// How often a sequencer re-checks its token-holder groups' members
    /// (default 10 minutes; at least one second).
    pub fn token_recheck(mut self, every: Duration) -> Self {
        self.config.token_recheck = every;
        self
    }

    /// Validates the configuration.
    pub fn build(mut self) -> Result<NodeConfig, ConfigError> {
        if self.config.max_pending_notifications == 0 {
            return Err(ConfigError::Zero("max_pending_notifications"));
        }
        if self.config.event_buffer == 0 {
            return Err(ConfigError::Zero("event_buffer"));
        }
        if self.config.relay_max_per_inbox == 0
            || self.config.relay_max_inboxes == 0
            || self.config.relay_max_held_bytes == 0
            || self.config.relay_publisher_rate.per_second == 0
            || self.config.relay_publisher_rate.burst == 0
            || self.config.relay_inbox_rate.per_second == 0
            || self.config.relay_inbox_rate.burst == 0
            || self.config.relay_connection_rate.per_second == 0
            || self.config.relay_connection_rate.burst == 0
        {
            return Err(ConfigError::Zero("relay limits"));
        }
        if self.config.retry_interval.is_zero() {
            return Err(ConfigError::Zero("retry_interval"));
        }
        if self.config.redial_interval.is_zero() {
            return Err(ConfigError::Zero("redial_interval"));
        }
        if self.config.token_recheck < Duration::from_secs(1) {
            return Err(ConfigError::Zero("token_recheck (at least 1 s)"));
        }
        if self.config.root_republish_interval < Duration::from_secs(1) {
            return Err(ConfigError::Zero("root_republish_interval (at least 1 s)"));
        }
        let l = self.config.limits;
        if l.max_incoming == 0 || l.max_outgoing == 0 || l.max_pending == 0 || l.max_per_peer == 0 {
            return Err(ConfigError::Zero("connection limits"));
        }
        if self.config.listen.is_empty() {
            self.config.listen.push(
                Multiaddr::from(std::net::Ipv4Addr::LOCALHOST)
                    .with(libp2p::multiaddr::Protocol::Tcp(0)),
            );
        }
        Ok(self.config)
    }
}
