//! Two nodes in one program, on 127.0.0.1, exchanging direct messages.
//!
//! `cargo run -p kaichi-transport --example dms`

use std::time::Duration;

use kaichi_identity::wallet::KeypairWallet;
use kaichi_transport::{Multiaddr, Node, NodeEvent};
use tokio::sync::mpsc;

/// The first address a node listens on.
async fn address(node: &Node) -> Result<Multiaddr, Box<dyn std::error::Error>> {
    for _ in 0..100 {
        if let Some(a) = node.listen_addrs().await?.into_iter().next() {
            return Ok(a);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the node is not listening".into())
}

/// Waits (at most 30 s) for the next direct message.
async fn next_message(
    events: &mut mpsc::Receiver<NodeEvent>,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let wait = async {
        while let Some(e) = events.recv().await {
            if let NodeEvent::MessageReceived { from, text, .. } = e {
                return Some((from.to_string(), text));
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await?
        .ok_or_else(|| "the node stopped".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loopback: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse()?;
    let (alice_wallet, bob_wallet) = (
        KeypairWallet::from_secret_seed(&[1; 32]),
        KeypairWallet::from_secret_seed(&[2; 32]),
    );
    let (alice, mut alice_events) = Node::in_memory(&alice_wallet)
        .configure(|c| c.listen(loopback.clone()))
        .start()
        .await?;
    let (bob, mut bob_events) = Node::in_memory(&bob_wallet)
        .configure(|c| c.listen(loopback.clone()))
        .start()
        .await?;
    println!("alice {}\nbob   {}", alice.name(), bob.name());

    bob.dial(address(&alice).await?).await?;
    // Each learns the other's identity document (here directly; in real use
    // from a file, a QR code, or the DHT by wallet address).
    alice.add_contact(bob.identity_document().to_vec()).await?;
    bob.add_contact(alice.identity_document().to_vec()).await?;

    // People are named by typed ids (an IPNS name here, or a wallet
    // address), or by text that parses as one.
    let hi = alice.send_dm(bob.name(), "hi bob").await?;
    let (from, text) = next_message(&mut bob_events).await?;
    println!("bob got from {from}: {text}");
    bob.reply(alice.name(), hi, "hi alice").await?;
    let (from, text) = next_message(&mut alice_events).await?;
    println!("alice got from {from}: {text}");
    // The rest of the message model: reactions, edits, deletions, read markers.
    bob.react(alice.name(), hi, "👋", false).await?;
    alice.edit(bob.name(), hi, "hi Bob!").await?;
    let wait = async {
        while let Some(e) = alice_events.recv().await {
            if let NodeEvent::MessageChanged { body, .. } = e {
                return Some(body);
            }
        }
        None
    };
    let change = tokio::time::timeout(Duration::from_secs(30), wait).await?;
    println!("alice got a change: {change:?}");

    let page = alice.read(bob.name(), 10).await?;
    for m in page.messages.iter().rev() {
        let who = if m.mine { "alice" } else { "bob" };
        let edited = if m.edited { " (edited)" } else { "" };
        let reactions: Vec<&String> = m.reactions.keys().collect();
        println!("{who}: {}{edited} {reactions:?}", m.text);
    }
    alice.shutdown().await;
    bob.shutdown().await;
    Ok(())
}
