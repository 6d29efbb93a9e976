//! A new connection, and the addresses peers see this node at.

use libp2p::core::ConnectedPoint;
use libp2p::swarm::ConnectionId;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId};

use super::Engine;
use crate::exchange::BlockRequest;
use crate::node::{NodeError, NodeEvent, Reply};

/// Most observed addresses remembered (the newest kept).
pub(super) const MAX_OBSERVED: usize = 8;
/// Most [`Node::connect`](crate::Node::connect) calls waiting at once.
pub(super) const MAX_PENDING_CONNECTS: usize = 64;

impl Engine {
    /// Dials `addr`; `reply` gets the outcome (`connect_outcome`).
    pub(super) fn connect(&mut self, addr: Multiaddr, reply: Reply<PeerId>) {
        // Callers that gave up (dropped the receiver) free their slot.
        self.connects.retain(|_, r| !r.is_closed());
        if self.connects.len() >= MAX_PENDING_CONNECTS {
            let _ = reply.send(Err(NodeError::TooManyConnects));
            return;
        }
        let opts = DialOpts::from(addr);
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.connects.insert(id, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(NodeError::Dial(e)));
            }
        }
    }

    /// The dial `id` ended: its [`Node::connect`](crate::Node::connect)
    /// caller, if any, is told.
    pub(super) fn connect_outcome(&mut self, id: ConnectionId, outcome: Result<PeerId, NodeError>) {
        if let Some(reply) = self.connects.remove(&id) {
            let _ = reply.send(outcome);
        }
    }

    /// A connection to `peer_id` is up, the `established`th open to it.
    pub(super) fn established(
        &mut self,
        peer_id: PeerId,
        id: ConnectionId,
        established: u32,
        endpoint: &ConnectedPoint,
    ) {
        self.connect_outcome(id, Ok(peer_id));
        if established == 1 {
            self.connected(peer_id, endpoint);
        }
    }

    /// The first connection to `peer_id` is up.
    fn connected(&mut self, peer_id: PeerId, endpoint: &ConnectedPoint) {
        if endpoint.is_dialer() {
            let remote = endpoint.get_remote_address();
            for (addr, peer) in &mut self.bootstrap {
                if peer.is_none() && addr == remote {
                    *peer = Some(peer_id);
                }
            }
        }
        self.emit(NodeEvent::PeerConnected(peer_id));
        // Any peer may be a relay holding our notifications: ask (with our
        // document when we have devices, so that each device takes them
        // for itself).
        let request = BlockRequest {
            mailbox: true,
            mailbox_document: if self.has_devices {
                self.document.clone()
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        self.swarm
            .behaviour_mut()
            .blocks
            .send_request(&peer_id, request);
    }

    /// A peer told us the address it sees us at (identify): a candidate
    /// external address, which AutoNAT may confirm.
    pub(super) fn observed(&mut self, address: Multiaddr) {
        self.observed.retain(|a| a != &address);
        if self.observed.len() == MAX_OBSERVED {
            self.observed.pop_front();
        }
        self.observed.push_back(address);
    }
}
