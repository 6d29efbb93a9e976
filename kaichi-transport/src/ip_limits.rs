//! A cap on the inbound connections from one IP address, enforced before
//! the connection is upgraded (no handshake work for what is refused).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

/// Inbound connections from one IP address past the cap.
#[derive(Debug, thiserror::Error)]
#[error("{ip} already has {max} inbound connections")]
pub(crate) struct TooManyFromIp {
    ip: IpAddr,
    max: u32,
}

/// Counts established inbound connections per remote IP and denies one
/// past `max` (pending connections count as they are accepted here).
pub(crate) struct IpLimits {
    max: u32,
    counts: HashMap<IpAddr, u32>,
    inbound: HashMap<ConnectionId, IpAddr>,
}

fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl IpLimits {
    /// At most `max` inbound connections per IP address.
    pub(crate) fn new(max: u32) -> Self {
        Self {
            max: max.max(1),
            counts: HashMap::new(),
            inbound: HashMap::new(),
        }
    }

    fn admit(&mut self, id: ConnectionId, remote: &Multiaddr) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        let count = self.counts.entry(ip).or_default();
        if *count >= self.max {
            return Err(ConnectionDenied::new(TooManyFromIp { ip, max: self.max }));
        }
        *count += 1;
        self.inbound.insert(id, ip);
        Ok(())
    }

    fn release(&mut self, id: ConnectionId) {
        if let Some(ip) = self.inbound.remove(&id)
            && let Some(count) = self.counts.get_mut(&ip)
        {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&ip);
            }
        }
    }
}

impl NetworkBehaviour for IpLimits {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.admit(id, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match event {
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => {
                self.release(connection_id);
            }
            FromSwarm::ListenFailure(f) => self.release(f.connection_id),
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_ip_gets_at_most_max_and_a_closed_one_frees_a_place() {
        let mut l = IpLimits::new(2);
        let a: Multiaddr = "/ip4/10.0.0.1/tcp/1".parse().unwrap();
        let b: Multiaddr = "/ip4/10.0.0.2/tcp/1".parse().unwrap();
        let (c1, c2, c3) = (
            ConnectionId::new_unchecked(1),
            ConnectionId::new_unchecked(2),
            ConnectionId::new_unchecked(3),
        );
        assert!(l.admit(c1, &a).is_ok());
        assert!(l.admit(c2, &a).is_ok());
        assert!(l.admit(c3, &a).is_err());
        assert!(
            l.admit(ConnectionId::new_unchecked(4), &b).is_ok(),
            "another IP"
        );
        l.release(c1);
        assert!(l.admit(c3, &a).is_ok());
        // A connection without an IP (a relay circuit, say) is not counted.
        let no_ip: Multiaddr = "/dns4/example.com/tcp/1".parse().unwrap();
        assert!(l.admit(ConnectionId::new_unchecked(9), &no_ip).is_ok());
    }
}
