//! Kaichi on IPFS protocols, on loopback: Bitswap fetch of a 10,000-entry
//! log's blocks from one peer (target >= 5,000 blocks/s), the same blocks
//! fetched from the same node by Helia (an independent IPFS implementation,
//! from `interop/helia`; skipped when Node.js is missing) and Helia pinning
//! the log's root recursively, and IPNS resolve over a 10-node DHT (p50).
//!
//! `cargo bench -p kaichi-benches --bench ipfs`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::store::{Durability, LogStore as _, SqliteStore, StoredConversation};
use kaichi_privatelog::{Conversation, Message};
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeEvent};

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
        .configure(|c| {
            c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
                .dht_mode(DhtMode::Server)
        })
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
    let mut written = Vec::with_capacity(entries);
    for i in 0..entries {
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let m = Message::text(format!("entry {i}"), i as u64);
        let e = conv.append(alice.ipns(), &m, &salt).unwrap();
        cids.push(e.cid().to_cid());
        written.push(e);
    }
    // Recorded as a conversation, so Alice's node lists it in her root.
    store
        .save_conversation(&StoredConversation {
            id: conv.id(),
            peer: bob.public(),
        })
        .unwrap();
    store
        .add_entries(&conv.id(), &written.iter().collect::<Vec<_>>())
        .unwrap();
    drop(written);
    drop(store);
    let (a, a_addr) = node(1, dir).await;
    let a_addr_text = a_addr.to_string();
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
    let ours = entries as f64 / secs;
    println!(
        "ipfs/bitswap fetch: {entries} entry blocks ({in_flight} in flight) from one peer in {secs:.2} s = {ours:.0} blocks/s (target >= 5,000)"
    );
    // Alice's root: her document and her outbox head (what her node stores).
    let mut root =
        kaichi_privatelog::Root::new(kaichi_privatelog::BlockCid::of(&a.identity_document()));
    root.set_outbox(conv.outbox_tag(), conv.outbox_heads())
        .unwrap();
    helia_side_by_side(
        &a_addr_text,
        &cids,
        in_flight,
        ours,
        &root.cid().to_string(),
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// Helia fetches the same blocks from the same node (same concurrency),
/// then pins the root recursively (walking the outbox's `prev` links).
fn helia_side_by_side(
    addr: &str,
    cids: &[kaichi_transport::Cid],
    in_flight: usize,
    ours: f64,
    root: &str,
) {
    use std::io::{BufRead as _, Write as _};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop/helia");
    if !dir.join("node_modules").exists() {
        let installed = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !installed {
            println!("ipfs/helia: skipped (npm ci in interop/helia failed: Node.js 20+ is needed)");
            return;
        }
    }
    let Ok(mut child) = std::process::Command::new("node")
        .args(["peer.mjs", "Ed25519"])
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        println!("ipfs/helia: skipped (no node)");
        return;
    };
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let _ready = lines.next();
    let mut call = |request: String| -> String {
        writeln!(stdin, "{request}").unwrap();
        // After "quit" Helia answers nothing.
        lines.next().and_then(Result::ok).unwrap_or_default()
    };
    let field = |reply: &str, key: &str| -> f64 {
        let at = reply
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{reply}"));
        reply[at + key.len() + 3..]
            .split([',', '}'])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    call(format!("{{\"op\":\"dial\",\"addr\":\"{addr}\"}}"));
    let list: Vec<String> = cids.iter().map(|c| format!("\"{c}\"")).collect();
    let reply = call(format!(
        "{{\"op\":\"fetch\",\"cids\":[{}],\"concurrency\":{in_flight}}}",
        list.join(",")
    ));
    let secs = field(&reply, "ms") / 1e3;
    let helia = cids.len() as f64 / secs;
    println!(
        "ipfs/helia fetch of the same blocks from our node ({in_flight} at a time): {secs:.2} s = {helia:.0} blocks/s; ours / Helia's = {:.2}",
        ours / helia
    );
    let reply = call(format!(
        "{{\"op\":\"pin\",\"cid\":\"{root}\",\"timeout_ms\":600000}}"
    ));
    if reply.contains("\"ok\":false") {
        // Helia's DAG walk recurses once per link: an outbox thousands of
        // entries deep overflows its stack.
        println!("ipfs/helia recursive pin of the root: failed: {reply}");
        call("{\"op\":\"quit\"}".into());
        let _ = child.wait();
        return;
    }
    let secs = field(&reply, "ms") / 1e3;
    println!(
        "ipfs/helia recursive pin of the root ({} blocks: root, document, the outbox walked link by link): {secs:.2} s = {:.0} blocks/s",
        field(&reply, "blocks"),
        field(&reply, "blocks") / secs
    );
    call("{\"op\":\"quit\"}".into());
    let _ = child.wait();
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
