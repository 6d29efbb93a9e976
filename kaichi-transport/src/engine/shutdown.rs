//! Stopping politely: every connection is closed (its peers learn at once
//! that this node left, not at their idle timeout), within a bound.

use std::time::Duration;

use futures::StreamExt as _;
use libp2p::PeerId;

use super::Engine;

/// Longest wait for the connections to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

impl Engine {
    /// Closes every connection and drives the swarm until they are closed
    /// (or [`CLOSE_TIMEOUT`] passed). Its events are dropped: the node is
    /// stopping.
    pub(super) async fn close_connections(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let closing = async {
            while self.swarm.connected_peers().next().is_some() {
                let _ = self.swarm.select_next_some().await;
            }
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
            tracing::debug!("connections still open at shutdown: dropped");
        }
    }
}
