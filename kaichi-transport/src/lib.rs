//! Kaichi's libp2p node: a gossipsub inbox per identity with notifications
//! sealed to the recipient, a block-exchange protocol, and the sync of
//! conversation logs; [`Node`] is the library API.
//!
//! Drive it like this: [`Node::start`] spawns the node task on the current
//! tokio runtime and returns a handle and a bounded event stream. Handles
//! send commands (bounded); the task owns the swarm, the conversations and
//! the store, and reports through the event stream.
#![forbid(unsafe_code)]

mod behaviour;
mod bitswap;
mod builder;
mod config;
pub mod dht;
mod engine;
mod error;
pub mod exchange;
pub mod group_ref;
mod ip_limits;
mod keypackage;
mod node;
pub use kaichi_privatelog::notification;
mod peer;
mod rejection;
pub mod solana;
#[cfg(feature = "webrtc")]
mod webrtc;
#[cfg(not(feature = "webrtc"))]
#[path = "webrtc_off.rs"]
mod webrtc;
mod websocket;
pub mod welcome_index;

pub use behaviour::KAD_PROTOCOL;
pub use bitswap::MAX_BLOCK_BYTES;
pub use builder::{DATABASE_FILE, DEFAULT_DOCUMENT_LIFETIME, NodeBuilder};
pub use config::{
    ConfigError, ConnectionLimits, DhtMode, NodeConfig, NodeConfigBuilder, RateLimit,
};
pub use engine::{group_topic, inbox_topic, provider_key};
pub use error::NodeError;
pub use kaichi_groups::GroupRef;
pub use keypackage::{prepare_device_key_package, prepare_key_package};
pub use node::{
    ConnectedPeer, DeviceSeen, GroupSummary, JoinRefused, MAX_ADD_MEMBERS, Node, NodeEvent,
    NodeStatus, Reachability, RelayLoad, SyncReport, TokenGroupInfo,
};
pub use peer::{IntoPeer, Peer, PeerParseError};
pub use rejection::Rejection;
#[cfg(feature = "webrtc")]
pub use webrtc::{WebRtcCertificate, WebRtcCertificateError};

pub use cid::Cid;
pub use libp2p::{Multiaddr, PeerId};
