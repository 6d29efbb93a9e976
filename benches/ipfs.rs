//! Kaichi on IPFS protocols, on loopback: Bitswap fetch of a 10,000-entry
//! log's blocks from one peer (target >= 5,000 blocks/s), and IPNS resolve
//! over a 10-node DHT (p50).
//!
//! `cargo bench -p kaichi-benches --bench ipfs`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::store::{BlockStore as _, Durability, SqliteStore};
use kaichi_privatelog::{Conversation, Message};
use kaichi_transport::{Multiaddr, Node, NodeEvent};

/// Entries in the log (`KAICHI_BENCH_ENTRIES` overrides).
fn entries() -> usize {
    std::env::var("KAICHI_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Block requests in flight (`KAICHI_BENCH_IN_FLIGHT`; the node's bound is 256).
fn in_flight() -> usize {
    std::env::var("KAICHI_BENCH_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn keys(seed: u8) -> (KeypairWallet, IdentityKeys) {
    let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    (wallet, keys)
}

async fn listening(mut events: tokio::sync::mpsc::Receiver<NodeEvent>) -> Multiaddr {
    loop {
        if let Some(NodeEvent::Listening(a)) = events.recv().await {
            return a;
        }
    }
}

/// A node of `seed` whose store holds `store`'s blocks.
async fn node(seed: u8, dir: &std::path::Path) -> (Node, Multiaddr) {
    let (wallet, _) = keys(seed);
    let (node, events) = Node::builder(&wallet, dir.join(seed.to_string()))
        .durability(Durability::Normal)
        .configure(|c| c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap()))
        .start()
        .await
        .unwrap();
    let addr = listening(events).await;
    let full = format!("{addr}/p2p/{}", node.peer_id()).parse().unwrap();
    (node, full)
}

async fn bitswap_fetch(dir: &std::path::Path) {
    let (entries, in_flight) = (entries(), in_flight());
    // Alice's log of 10,000 entries, written before her node starts.
    let (_, alice) = keys(1);
    let (_, bob) = keys(2);
    let home = dir.join("1");
    std::fs::create_dir_all(&home).unwrap();
    let store = SqliteStore::open(
        &home.join(kaichi_transport::DATABASE_FILE),
        Durability::Normal,
    )
    .unwrap();
    let mut conv = Conversation::new(&alice, &bob.public()).unwrap();
    let mut cids = Vec::with_capacity(entries);
    for i in 0..entries {
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let m = Message::text(format!("entry {i}"), i as u64);
        let e = conv.append(alice.ipns(), &m, &salt).unwrap();
        store.put(&e.cid().to_cid(), e.block()).unwrap();
        cids.push(e.cid().to_cid());
    }
    drop(store);
    let (a, a_addr) = node(1, dir).await;
    let (b, _) = node(2, dir).await;
    b.dial(a_addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let fetched = futures::stream::iter(cids.iter())
        .map(|cid| b.get_block(cid))
        .buffer_unordered(in_flight)
        .filter(|r| futures::future::ready(r.is_ok()))
        .count()
        .await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(fetched, entries, "every block arrived");
    println!(
        "ipfs/bitswap fetch: {entries} entry blocks ({in_flight} in flight) from one peer in {secs:.2} s = {:.0} blocks/s (target >= 5,000)",
        entries as f64 / secs
    );
    a.shutdown().await;
    b.shutdown().await;
}

async fn ipns_resolve(dir: &std::path::Path) {
    let mut nodes = Vec::new();
    for seed in 10..20u8 {
        nodes.push(node(seed, dir).await);
    }
    let first = nodes[0].1.clone();
    for (n, _) in &nodes[1..] {
        n.dial(first.clone()).await.unwrap();
    }
    // Each publishes its record once it meets a DHT peer.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut times = Vec::new();
    for round in 0..5 {
        for (i, (n, _)) in nodes.iter().enumerate() {
            let target = &nodes[(i + 1 + round) % nodes.len()].0;
            if target.peer_id() == n.peer_id() {
                continue;
            }
            let started = Instant::now();
            n.resolve(target.name()).await.unwrap();
            times.push(started.elapsed());
        }
    }
    times.sort();
    println!(
        "ipfs/ipns resolve over a 10-node loopback DHT: p50 {:.2} ms, max {:.2} ms ({} resolves; every node holds every record here: k = 20 > 10)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
    for (n, _) in nodes {
        n.shutdown().await;
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(bitswap_fetch(dir.path()));
    rt.block_on(ipns_resolve(dir.path()));
}
