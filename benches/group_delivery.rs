//! End to end on loopback: a group of 1,000 members spread over 20 `Node`s
//! (20 members on line, each on its own node; the other 980 simulated:
//! their KeyPackages added in one commit, their leaves in the tree, their
//! Welcomes sent to inboxes nobody reads), then messages from one member
//! to everyone: delivery time from the send call to the decrypted event at
//! each of the other 19 nodes, p50 / p99.
//!
//! `cargo bench -p kaichi-benches --bench group_delivery`
//! (`KAICHI_BENCH_DELIVERY_MEMBERS`, `KAICHI_BENCH_DELIVERY_NODES` change
//! the 1,000 and the 20.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kaichi_groups::mlsrs::RsMember;
use kaichi_groups::{AdminPolicy, MemberSigner, NoDevices};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IpnsKeypair, KeyEpoch};
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeEvent};
use tokio::sync::mpsc;

struct Peer {
    node: Node,
    events: Option<mpsc::Receiver<NodeEvent>>,
    addr: Multiaddr,
    wallet: String,
}

async fn start(i: u32, dir: &std::path::Path) -> Peer {
    let mut seed = [3u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    let wallet = KeypairWallet::from_secret_seed(&seed);
    let address = kaichi_identity::wallet::WalletSigner::address(&wallet).to_string();
    let (node, mut events) = Node::builder(&wallet, dir.join(format!("node-{i}")))
        .epoch(KeyEpoch::ZERO)
        .configure(|c| {
            c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
                .retry_interval(Duration::from_millis(100))
                .event_buffer(65_536)
                .dht_mode(DhtMode::Server)
        })
        .start()
        .await
        .unwrap();
    let addr = loop {
        if let Some(NodeEvent::Listening(a)) = events.recv().await {
            break a;
        }
    };
    Peer {
        node,
        events: Some(events),
        addr,
        wallet: address,
    }
}

/// Waits for an event `pick` returns something for.
async fn wait<T>(
    events: &mut mpsc::Receiver<NodeEvent>,
    mut pick: impl FnMut(&NodeEvent) -> Option<T>,
) -> T {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(120), events.recv())
            .await
            .expect("timed out")
            .expect("node stopped");
        if let Some(t) = pick(&e) {
            return t;
        }
    }
}

fn simulated_key_packages(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            seed[31] = 0x5E;
            let signer = MemberSigner::identity(IpnsKeypair::from_seed(&seed));
            RsMember::new(&signer, AdminPolicy, Arc::new(NoDevices))
                .key_package()
                .unwrap()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn env(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let members = env("KAICHI_BENCH_DELIVERY_MEMBERS", 1_000);
    let nodes = env("KAICHI_BENCH_DELIVERY_NODES", 20).clamp(2, members);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(members, nodes));
}

async fn run(members: u32, nodes: u32) {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let simulated = simulated_key_packages(members - nodes);
    println!(
        "{} simulated KeyPackages in {:.1?}",
        simulated.len(),
        t0.elapsed()
    );

    let mut peers = Vec::new();
    for i in 0..nodes {
        peers.push(start(i, dir.path()).await);
    }
    // Each node dials the sequencer and the one before it.
    for i in 1..peers.len() {
        peers[i].node.dial(peers[0].addr.clone()).await.unwrap();
        if i > 1 {
            peers[i].node.dial(peers[i - 1].addr.clone()).await.unwrap();
        }
        let doc = peers[i].node.identity_document().to_vec();
        peers[0].node.add_contact(doc).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let seq = &peers[0];
    let group = seq.node.create_group("delivery").await.unwrap().id;
    let t = Instant::now();
    seq.node.add_members(group, simulated).await.unwrap();
    println!(
        "{} simulated members added in one commit in {:.1?}",
        members - nodes,
        t.elapsed()
    );
    let t = Instant::now();
    for i in 1..peers.len() {
        let wallet = peers[i].wallet.clone();
        peers[0].node.invite(group, &wallet).await.unwrap();
        let events = peers[i].events.as_mut().unwrap();
        wait(events, |e| {
            matches!(e, NodeEvent::GroupJoined { .. }).then_some(())
        })
        .await;
    }
    let epoch = peers[0].node.groups().await.unwrap()[0].epoch;
    for p in &mut peers[1..] {
        let events = p.events.as_mut().unwrap();
        if p.node.groups().await.unwrap()[0].epoch < epoch {
            wait(events, |e| match e {
                NodeEvent::GroupChanged { epoch: e, .. } if *e >= epoch => Some(()),
                _ => None,
            })
            .await;
        }
    }
    println!(
        "{} nodes joined a group of {} members in {:.1?} (epoch {epoch})",
        nodes - 1,
        peers[0].node.groups().await.unwrap()[0].members.len(),
        t.elapsed()
    );

    // Receivers record when each message arrives.
    let arrivals: Arc<Mutex<HashMap<String, Vec<Instant>>>> = Arc::default();
    let mut tasks = Vec::new();
    for p in &mut peers[1..] {
        let mut events = p.events.take().unwrap();
        let arrivals = arrivals.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if let NodeEvent::GroupMessage { text, .. } = e {
                    arrivals
                        .lock()
                        .unwrap()
                        .entry(text)
                        .or_default()
                        .push(Instant::now());
                }
            }
        }));
    }
    let rounds = 30;
    let mut sent = HashMap::new();
    for r in 0..rounds {
        let text = format!("message {r} to everyone");
        sent.insert(text.clone(), Instant::now());
        peers[0].node.send_group(group, &text).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let expected = rounds as usize * (nodes as usize - 1);
    loop {
        let got: usize = arrivals.lock().unwrap().values().map(Vec::len).sum();
        if got >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut times = Vec::new();
    for (text, at) in arrivals.lock().unwrap().iter() {
        if let Some(s) = sent.get(text) {
            times.extend(at.iter().map(|a| a.duration_since(*s)));
        }
    }
    times.sort();
    println!(
        "group of {members} over {nodes} nodes: {} of {expected} deliveries, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
    );
    for t in tasks {
        t.abort();
    }
}
