//! A new connection, and the addresses peers see this node at.

use libp2p::core::ConnectedPoint;
use libp2p::{Multiaddr, PeerId};

use super::Engine;
use crate::exchange::BlockRequest;
use crate::node::NodeEvent;

/// Most observed addresses remembered (the newest kept).
pub(super) const MAX_OBSERVED: usize = 8;

impl Engine {
    /// The first connection to `peer_id` is up.
    pub(super) fn connected(&mut self, peer_id: PeerId, endpoint: &ConnectedPoint) {
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
