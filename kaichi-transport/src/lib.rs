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
mod config;
pub mod dht;
mod engine;
pub mod exchange;
mod node;
pub mod notification;

pub use behaviour::KAD_PROTOCOL;
pub use config::{ConfigError, ConnectionLimits, NodeConfig, NodeConfigBuilder};
pub use engine::{group_topic, inbox_topic, provider_key};
pub use engine::{prepare_device_key_package, prepare_key_package};
pub use node::{GroupSummary, Node, NodeError, NodeEvent};

pub use libp2p::{Multiaddr, PeerId};
