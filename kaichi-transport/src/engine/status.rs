//! The node's snapshot of itself, for [`Node::status`](crate::Node::status).

use std::collections::HashSet;

use libp2p::autonat::NatStatus;

use super::Engine;
use crate::node::{ConnectedPeer, NodeStatus, Reachability};

impl Engine {
    pub(super) fn status(&mut self) -> NodeStatus {
        let kad = &mut self.swarm.behaviour_mut().kad;
        let routing_table_peers = kad.kbuckets().map(|b| b.num_entries()).sum();
        let dht_server = kad.mode() == libp2p::kad::Mode::Server;
        let reachability = match self.swarm.behaviour().autonat.nat_status() {
            NatStatus::Public(addr) => Reachability::Public(addr),
            NatStatus::Private => Reachability::Private,
            NatStatus::Unknown => Reachability::Unknown,
        };
        let relays: HashSet<_> = self.relay.pin_targets().collect();
        let connected = self
            .swarm
            .connected_peers()
            .map(|p| ConnectedPeer {
                peer: *p,
                relay: relays.contains(p),
            })
            .collect();
        let awaiting_receipt = self
            .conversations
            .values()
            .filter(|c| c.has_undelivered())
            .map(|c| c.undelivered().len())
            .sum();
        NodeStatus {
            peer_id: *self.swarm.local_peer_id(),
            name: self.keys.ipns().name(),
            listen_addrs: self.listen_addrs.clone(),
            external_addrs: self.swarm.external_addresses().cloned().collect(),
            observed_addrs: self.observed.iter().cloned().collect(),
            reachability,
            connected,
            dht_server,
            routing_table_peers,
            unpublished_notifications: self.sync.unpublished(),
            awaiting_receipt,
            conversations: self.conversations.len(),
            held_entries: self.conversations.values().map(|c| c.hot_len()).sum(),
            root: self.root.published_cid(),
            ipns_sequence: self.root.last_sequence(),
            relay: self.relay.load(),
            rejected: self.rejections.values().sum(),
        }
    }
}
