//! kaichi-transport on loopback: DM latency (send call to the decrypted
//! event at the recipient, after the connection formed), the delivery
//! receipt's round trip (send call to `NodeEvent::Delivered` at the
//! sender), sustained throughput with nothing lost, fan-out through a relay
//! to 20 nodes, and an idle node's resident memory.
//!
//! Targets: latency p50 < 2 ms and p99 < 10 ms; throughput >= 5,000 msg/s;
//! idle node < 40 MB resident.
//!
//! `cargo bench -p kaichi-benches --bench transport`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use kaichi_privatelog::store::{Durability, SqliteStore};
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeConfig, NodeEvent};
use tokio::sync::mpsc;

struct Peer {
    node: Node,
    events: mpsc::Receiver<NodeEvent>,
    document: Vec<u8>,
    addr: Multiaddr,
}

async fn start(seed: u8, relay: bool, dir: &std::path::Path) -> Peer {
    let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let document = DocumentBuilder::new(&keys, now, Duration::from_secs(86_400))
        .sign(&wallet)
        .unwrap();
    // The embedded default: SQLite with Durability::Normal (WAL; survives
    // process crashes, as the crash test shows).
    let store =
        Arc::new(SqliteStore::open(&dir.join(format!("{seed}.db")), Durability::Normal).unwrap());
    let mut b = NodeConfig::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .event_buffer(65_536)
        .retry_interval(Duration::from_millis(50))
        .dht_mode(DhtMode::Server);
    if relay {
        b = b.relay(Duration::from_secs(3600));
    }
    let (node, mut events) = Node::start(b.build().unwrap(), keys, document.clone(), store)
        .await
        .unwrap();
    let addr = loop {
        if let Some(NodeEvent::Listening(a)) = events.recv().await {
            break a;
        }
    };
    Peer {
        node,
        events,
        document,
        addr,
    }
}

async fn received(events: &mut mpsc::Receiver<NodeEvent>) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("timed out")
        {
            Some(NodeEvent::MessageReceived { text, .. }) => return text,
            Some(_) => {}
            None => panic!("stopped"),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    if std::env::args().any(|a| a == "--idle") {
        // A fresh process holding one idle node.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(async {
            let p = start(99, false, dir.path()).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            println!(
                "transport/idle node resident memory: {:.1} MB (target < 40 MB)",
                rss_mb()
            );
            p.node.shutdown().await;
        });
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let mut alice = start(1, false, dir.path()).await;
        let mut bob = start(2, false, dir.path()).await;
        alice.node.dial(bob.addr.clone()).await.unwrap();
        alice.node.add_contact(bob.document.clone()).await.unwrap();
        let to = bob.node.name().to_string();
        // Warm up: the mesh forms and Bob learns Alice.
        alice.node.send_dm(&to, "warm-up").await.unwrap();
        received(&mut bob.events).await;

        let mut lat = Vec::new();
        for i in 0..1000 {
            let t = Instant::now();
            alice.node.send_dm(&to, &format!("ping {i}")).await.unwrap();
            received(&mut bob.events).await;
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "transport/dm latency (1,000 sequential, loopback): p50 {:?}, p99 {:?}, max {:?} (targets p50 < 2 ms, p99 < 10 ms)",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat.last().unwrap()
        );

        // Receipts: send to delivered, one at a time.
        while alice.events.try_recv().is_ok() {}
        let mut acks = Vec::new();
        for i in 0..1000 {
            let t = Instant::now();
            let cid = alice.node.send_dm(&to, &format!("ack {i}")).await.unwrap();
            loop {
                match alice.events.recv().await.unwrap() {
                    NodeEvent::Delivered { entries, .. } if entries.contains(&cid) => break,
                    _ => {}
                }
            }
            acks.push(t.elapsed());
            while bob.events.try_recv().is_ok() {}
        }
        acks.sort();
        println!(
            "transport/dm delivery receipt round trip (1,000 sequential, loopback): p50 {:?}, p99 {:?}, max {:?}",
            percentile(&acks, 0.5),
            percentile(&acks, 0.99),
            acks.last().unwrap()
        );

        let n = 10_000;
        let t = Instant::now();
        let sender = {
            let node = alice.node.clone();
            let to = to.clone();
            tokio::spawn(async move {
                for i in 0..n {
                    node.send_dm(&to, &format!("bulk {i}")).await.unwrap();
                }
            })
        };
        let mut got = 0;
        while got < n {
            received(&mut bob.events).await;
            got += 1;
        }
        sender.await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        let page = bob.node.read(&alice.node.name().to_string(), 1).await.unwrap();
        assert_eq!(page.messages[0].text, format!("bulk {}", n - 1));
        println!(
            "transport/dm throughput: {n} messages in {secs:.2} s = {:.0} msg/s, none lost (target >= 5,000)",
            n as f64 / secs
        );

        // Fan-out: one sender, 20 recipients behind one relay.
        let relay = start(3, true, dir.path()).await;
        let sender = start(4, false, dir.path()).await;
        sender.node.dial(relay.addr.clone()).await.unwrap();
        let mut recipients = Vec::new();
        for i in 0..20u8 {
            let r = start(10 + i, false, dir.path()).await;
            r.node.dial(relay.addr.clone()).await.unwrap();
            sender.node.add_contact(r.document.clone()).await.unwrap();
            recipients.push(r);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = Instant::now();
        for r in &recipients {
            sender.node.send_dm(&r.node.name().to_string(), "hello everyone").await.unwrap();
        }
        for r in &mut recipients {
            received(&mut r.events).await;
        }
        println!("transport/fan-out: one message to each of 20 nodes through a relay in {:?}", t.elapsed());
        for r in &recipients {
            r.node.shutdown().await;
        }
        for p in [&alice.node, &bob.node, &relay.node, &sender.node] {
            p.shutdown().await;
        }
    });
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--idle")
        .status()
        .unwrap();
    assert!(status.success());
}
