//! A relay keeps a message for someone who is offline: Alice and Bob know
//! only the relay; Alice writes while Bob is away, and Bob gets the message
//! from the relay when he comes back.
//!
//! `cargo run -p kaichi-transport --example relay`

use std::time::Duration;

use kaichi_identity::wallet::KeypairWallet;
use kaichi_transport::{Multiaddr, Node, NodeEvent};

async fn address(node: &Node) -> Result<Multiaddr, Box<dyn std::error::Error>> {
    for _ in 0..100 {
        if let Some(a) = node.listen_addrs().await?.into_iter().next() {
            return Ok(a.with(libp2p::multiaddr::Protocol::P2p(node.peer_id())));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the node is not listening".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loopback: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse()?;
    let wallets = [1u8, 2, 3].map(|s| KeypairWallet::from_secret_seed(&[s; 32]));
    let [relay_wallet, alice_wallet, bob_wallet] = &wallets;

    let (relay, _) = Node::in_memory(relay_wallet)
        .configure(|c| {
            // On loopback AutoNAT confirms nothing: make the relay a DHT
            // server by hand (on the internet, the default `Auto` does).
            c.listen(loopback.clone())
                .relay(Duration::from_secs(3600))
                .dht_mode(kaichi_transport::DhtMode::Server)
        })
        .start()
        .await?;
    let at_relay = address(&relay).await?;
    println!("relay at {at_relay}");
    let through_relay = |c: kaichi_transport::NodeConfigBuilder| {
        c.listen(loopback.clone())
            .bootstrap(at_relay.clone())
            .retry_interval(Duration::from_millis(200))
    };

    // Bob comes online once so the relay follows his inbox, then leaves.
    let (bob, _) = Node::in_memory(bob_wallet)
        .configure(through_relay)
        .start()
        .await?;
    let bob_document = bob.identity_document().to_vec();
    let bob_name = bob.name();
    tokio::time::sleep(Duration::from_secs(2)).await;
    bob.shutdown().await;
    println!("bob went offline");

    let (alice, _) = Node::in_memory(alice_wallet)
        .configure(through_relay)
        .start()
        .await?;
    alice.add_contact(bob_document).await?;
    alice
        .send_dm(&bob_name.to_string(), "are you there, bob?")
        .await?;
    println!("alice sent while bob was away");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (bob, mut events) = Node::in_memory(bob_wallet)
        .configure(through_relay)
        .start()
        .await?;
    let wait = async {
        while let Some(e) = events.recv().await {
            if let NodeEvent::MessageReceived { from, text, .. } = e {
                return Some((from, text));
            }
        }
        None
    };
    let (from, text) = tokio::time::timeout(Duration::from_secs(30), wait)
        .await?
        .ok_or("bob's node stopped")?;
    println!("bob, back online, got from {from}: {text}");
    for node in [&alice, &bob, &relay] {
        node.shutdown().await;
    }
    Ok(())
}
