//! Connection management: limits, and bootstrap peers dialled again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::memory_store;

use std::time::Duration;

use common::{start_configured, within};
use kaichi_transport::{ConnectionLimits, Multiaddr, Node, NodeEvent, PeerId};
use tokio::sync::mpsc::Receiver;

fn loopback_tcp(port: u16) -> Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()
}

/// Waits for a connection to `peer` (which may have come up before the
/// caller started listening for events: the node is asked first).
async fn connected_to(node: &Node, events: &mut Receiver<NodeEvent>, peer: PeerId) {
    within(async {
        loop {
            if node.connected_peers().await.unwrap().contains(&peer) {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), events.recv()).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_peer_that_restarts_is_dialled_again() {
    let relay = start_configured(60, memory_store(), |b| {
        b.listen(loopback_tcp(0)).relay(Duration::from_secs(60))
    })
    .await;
    let relay_id = relay.node.peer_id();
    let port = relay
        .addr
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .unwrap();
    // A bootstrap address without /p2p/: the node learns whom it reached.
    let bootstrap = relay.addr.clone();
    let mut alice = start_configured(61, memory_store(), |b| {
        b.listen(loopback_tcp(0))
            .bootstrap(bootstrap)
            .redial_interval(Duration::from_millis(200))
    })
    .await;
    connected_to(&alice.node, &mut alice.events, relay_id).await;

    relay.node.shutdown().await;
    loop {
        match within(alice.events.recv()).await {
            Some(NodeEvent::PeerDisconnected(p)) if p == relay_id => break,
            Some(_) => {}
            None => panic!("node stopped"),
        }
    }
    // The relay comes back on the same address; Alice finds it by herself.
    let relay = start_configured(60, memory_store(), |b| {
        b.listen(loopback_tcp(port)).relay(Duration::from_secs(60))
    })
    .await;
    connected_to(&alice.node, &mut alice.events, relay_id).await;
    relay.node.shutdown().await;
    alice.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_denied() {
    let limits = ConnectionLimits {
        max_incoming: 1,
        ..ConnectionLimits::default()
    };
    second_inbound_denied(limits, 62).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_per_ip_cap_are_denied() {
    // Every peer here dials from 127.0.0.1.
    let limits = ConnectionLimits {
        max_per_ip: 1,
        ..ConnectionLimits::default()
    };
    second_inbound_denied(limits, 65).await;
}

/// With `limits` allowing one inbound connection, a second peer is
/// refused until the first leaves (identities from `seed` on).
async fn second_inbound_denied(limits: ConnectionLimits, seed: u8) {
    let mut hub = start_configured(seed, memory_store(), |b| {
        b.listen(loopback_tcp(0)).connection_limits(limits)
    })
    .await;
    let mut first = start_configured(seed + 1, memory_store(), |b| b.listen(loopback_tcp(0))).await;
    let mut second =
        start_configured(seed + 2, memory_store(), |b| b.listen(loopback_tcp(0))).await;

    first.node.dial(hub.addr.clone()).await.unwrap();
    connected_to(&first.node, &mut first.events, hub.node.peer_id()).await;
    connected_to(&hub.node, &mut hub.events, first.node.peer_id()).await;

    // The second inbound connection is refused: neither side reports it.
    second.node.dial(hub.addr.clone()).await.unwrap();
    let quiet = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match hub.events.recv().await {
                Some(NodeEvent::PeerConnected(p)) if p == second.node.peer_id() => return,
                Some(_) => {}
                None => std::future::pending::<()>().await,
            }
        }
    })
    .await;
    assert!(
        quiet.is_err(),
        "the hub accepted a connection over its limit"
    );
    assert!(
        !within(second.node.connected_peers())
            .await
            .unwrap()
            .contains(&hub.node.peer_id())
    );

    // Once the first peer leaves, there is room again.
    first.node.shutdown().await;
    second.node.dial(hub.addr.clone()).await.unwrap();
    connected_to(&second.node, &mut second.events, hub.node.peer_id()).await;
    hub.node.shutdown().await;
    second.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_waits_for_the_outcome_of_its_dial() {
    let bob = start_configured(70, memory_store(), |b| b.listen(loopback_tcp(0))).await;
    let alice = start_configured(71, memory_store(), |b| b.listen(loopback_tcp(0))).await;

    // Up: the peer reached, connected by the time `connect` returns.
    let reached = within(alice.node.connect(bob.addr.clone())).await.unwrap();
    assert_eq!(reached, bob.node.peer_id());
    assert!(
        alice
            .node
            .connected_peers()
            .await
            .unwrap()
            .contains(&reached)
    );

    // Nothing listens: the dial's error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = within(alice.node.connect(loopback_tcp(port))).await;
    assert!(
        matches!(refused, Err(kaichi_transport::NodeError::Dial(_))),
        "{refused:?}"
    );

    // Someone else answers at the address: not the peer asked for.
    let impostor = bob
        .addr
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(PeerId::random()));
    let wrong = within(alice.node.connect(impostor)).await;
    assert!(
        matches!(wrong, Err(kaichi_transport::NodeError::Dial(_))),
        "{wrong:?}"
    );
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
