//! The libp2p behaviours a Kaichi node runs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{StreamProtocol, autonat, connection_limits, identify, identity, kad, ping};
use sha2::{Digest, Sha256};

use crate::config::ConnectionLimits;
use crate::exchange::{BlockCodec, PROTOCOL};
use crate::notification::MAX_NOTIFICATION_BYTES;

/// Identify protocol version string.
const IDENTIFY_PROTOCOL: &str = "/kaichi/1.0.0";
/// Identify agent version of a node in relay/store mode (others send
/// `kaichi/<version>`): nodes push their new blocks to the relays they meet.
pub(crate) const RELAY_AGENT: &str = "kaichi-relay";

/// Connection limits, gossipsub, block exchange, identify, ping, Kademlia,
/// Bitswap and AutoNAT.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// First, so a connection over the limits is denied before any other
    /// behaviour sets up state for it.
    pub(crate) limits: connection_limits::Behaviour,
    /// Inbound connections per IP address, refused before the handshake.
    pub(crate) ip_limits: crate::ip_limits::IpLimits,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) blocks: request_response::Behaviour<BlockCodec>,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) kad: kad::Behaviour<kad::store::MemoryStore>,
    /// Bitswap over the node's block store.
    pub(crate) bitswap: crate::bitswap::Bitswap,
    /// AutoNAT (v1, `/libp2p/autonat/1.0.0`): asks peers to dial this node
    /// back (a confirmed address makes an `Auto` node a DHT server) and
    /// dials others back when they ask.
    pub(crate) autonat: autonat::Behaviour,
}

/// The IPFS DHT's protocol: Kaichi puts only IPNS records and provider
/// records there (see [`crate::dht`]).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/ipfs/kad/1.0.0");

impl Behaviour {
    pub(crate) fn new(
        key: &identity::Keypair,
        limits: &ConnectionLimits,
        relay: bool,
        dht_mode: crate::config::DhtMode,
        autonat_private_ips: bool,
        store: std::sync::Arc<kaichi_privatelog::store::SqliteStore>,
    ) -> Result<Self, String> {
        let config = gossipsub::ConfigBuilder::default()
            .heartbeat_interval(Duration::from_millis(500))
            // Signed messages, strictly validated.
            .validation_mode(ValidationMode::Strict)
            // Content-hash message ids: the same notification is one message.
            .message_id_fn(|m: &gossipsub::Message| {
                gossipsub::MessageId::from(Sha256::digest(&m.data).to_vec())
            })
            .max_transmit_size(MAX_NOTIFICATION_BYTES + 1024)
            // The application accepts or rejects each message (and so scores its sender).
            .validate_messages()
            .build()
            .map_err(|e| e.to_string())?;
        let mut gossipsub =
            gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config)?;
        // Peer scoring on. Many peers behind one IP count against each other
        // (a Sybil signal on the internet), except on loopback, where every
        // local node shares 127.0.0.1.
        let mut score = gossipsub::PeerScoreParams::default();
        score.ip_colocation_factor_whitelist.extend([
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
        gossipsub
            .with_peer_score(score, gossipsub::PeerScoreThresholds::default())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established_incoming(Some(limits.max_incoming))
                    .with_max_established_outgoing(Some(limits.max_outgoing))
                    .with_max_pending_incoming(Some(limits.max_pending))
                    .with_max_pending_outgoing(Some(limits.max_pending))
                    .with_max_established_per_peer(Some(limits.max_per_peer)),
            ),
            ip_limits: crate::ip_limits::IpLimits::new(limits.max_per_ip),
            gossipsub,
            blocks: request_response::Behaviour::new(
                [(PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            ),
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                    .with_agent_version(format!(
                        "{}/{}",
                        if relay { RELAY_AGENT } else { "kaichi" },
                        env!("CARGO_PKG_VERSION")
                    ))
                    // A bootstrap dial can complete before the swarm first
                    // polls its listeners: the first identify then carries no
                    // listen address and the peer cannot add this node to its
                    // routing table until a push tells it where we listen.
                    .with_push_listen_addr_updates(true),
            ),
            ping: ping::Behaviour::default(),
            kad: {
                let peer = key.public().to_peer_id();
                let mut config = kad::Config::new(KAD_PROTOCOL);
                // Every record is validated before it is stored (see engine).
                config.set_record_filtering(kad::StoreInserts::FilterBoth);
                config.set_query_timeout(Duration::from_secs(10));
                let store = kad::store::MemoryStore::with_config(
                    peer,
                    kad::store::MemoryStoreConfig {
                        max_value_bytes: 70 * 1024,
                        // Keys with provider records, ours and others'.
                        max_provided_keys: 16 * 1024,
                        ..Default::default()
                    },
                );
                let mut kad = kad::Behaviour::with_config(peer, store, config);
                kad.set_mode(dht_mode.kad_mode());
                kad
            },
            bitswap: crate::bitswap::behaviour(store),
            autonat: autonat::Behaviour::new(
                key.public().to_peer_id(),
                autonat::Config {
                    only_global_ips: !autonat_private_ips,
                    boot_delay: if autonat_private_ips {
                        Duration::from_secs(1)
                    } else {
                        autonat::Config::default().boot_delay
                    },
                    ..Default::default()
                },
            ),
        })
    }
}
