//! AutoNAT: a node in `DhtMode::Auto` becomes a DHT server once a peer has
//! dialled it back (AutoNAT v1, here on loopback with private addresses
//! allowed), and stays a client while no peer confirms it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{memory_store, start_configured, wait_for};
use kaichi_transport::{DhtMode, NodeEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_node_serves_the_dht_once_reachability_is_confirmed() {
    let server = start_configured(190, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .autonat_private_ips(true)
    })
    .await;
    let mut auto = start_configured(191, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .dht_mode(DhtMode::Auto)
            .autonat_private_ips(true)
    })
    .await;
    auto.node.dial(server.addr.clone()).await.unwrap();
    let reached = wait_for(&mut auto.events, |e| match e {
        NodeEvent::Reachability { public: Some(addr) } => Some(addr.clone()),
        _ => None,
    })
    .await;
    assert!(
        reached.to_string().starts_with("/ip4/127.0.0.1/tcp/"),
        "{reached}"
    );
    wait_for(&mut auto.events, |e| match e {
        NodeEvent::DhtServer(true) => Some(()),
        _ => None,
    })
    .await;
}

/// A peer with AutoNAT's production setting dials back only global
/// addresses: a node it sees on a private (here loopback) address is not
/// confirmed, and stays a DHT client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_auto_node_stays_a_client() {
    let server = start_configured(192, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
    })
    .await;
    let mut auto = start_configured(193, memory_store(), |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .dht_mode(DhtMode::Auto)
            .autonat_private_ips(true)
    })
    .await;
    auto.node.dial(server.addr.clone()).await.unwrap();
    let became_server = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match auto.events.recv().await {
                Some(NodeEvent::DhtServer(true)) => return true,
                Some(_) => {}
                None => return false,
            }
        }
    })
    .await;
    assert!(!matches!(became_server, Ok(true)));
}
