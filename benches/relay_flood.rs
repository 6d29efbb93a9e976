//! A relay under flood: Alice writes to Bob through a relay (each on
//! loopback; the relay in a process of its own), first idle, then while a
//! raw gossipsub peer publishes 10,000 junk notifications at Bob's inbox
//! through the same relay. Reports the legitimate delivery latency (send
//! call to the decrypted event at Bob) p50/p99 idle and under flood, their
//! ratio (target: p99 under flood within 5x idle), what the flood got
//! through, and the relay's peak resident memory.
//!
//! `cargo bench -p kaichi-benches --bench relay_flood`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use kaichi_privatelog::store::{Durability, SqliteStore};
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeConfig, NodeEvent, inbox_topic};
use tokio::sync::mpsc;

const MESSAGES: usize = 200;
const FLOOD: u32 = 10_000;

async fn start(
    seed: u8,
    relay: bool,
    dir: &std::path::Path,
) -> (Node, mpsc::Receiver<NodeEvent>, Vec<u8>, Multiaddr) {
    let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let document = DocumentBuilder::new(&keys, now, Duration::from_secs(86_400))
        .sign(&wallet)
        .unwrap();
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
    (node, events, document, addr)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// The relay process: prints its address, runs until stdin closes, then
/// prints its peak resident memory.
fn relay_child() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let (node, mut events, _, addr) = start(90, true, dir.path()).await;
        println!("{}/p2p/{}", addr, node.peer_id());
        std::io::stdout().flush().unwrap();
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
        })
        .await
        .unwrap();
        println!("peak {:.1}", peak_rss_mb());
        node.shutdown().await;
    });
}

fn junk_peer(seed: u8) -> libp2p::Swarm<libp2p::gossipsub::Behaviour> {
    use libp2p::gossipsub::{self, MessageAuthenticity};
    let mut bytes = [seed; 32];
    let key = libp2p::identity::Keypair::ed25519_from_bytes(&mut bytes).unwrap();
    let behaviour = gossipsub::Behaviour::new(
        MessageAuthenticity::Signed(key.clone()),
        gossipsub::ConfigBuilder::default()
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .unwrap();
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| behaviour)
        .unwrap()
        .build()
}

async fn latencies(alice: &Node, to: &str, bob: &mut mpsc::Receiver<NodeEvent>) -> Vec<Duration> {
    let mut out = Vec::new();
    for i in 0..MESSAGES {
        let t = Instant::now();
        alice.send_dm(to, &format!("m{i}")).await.unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(30), bob.recv())
                .await
                .expect("a message did not arrive")
            {
                Some(NodeEvent::MessageReceived { .. }) => break,
                Some(_) => {}
                None => panic!("bob stopped"),
            }
        }
        out.push(t.elapsed());
    }
    out.sort();
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--relay-child") {
        relay_child();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--relay-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let relay: Multiaddr = line.trim().parse().unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let (alice, _ae, _, _) = start(91, false, dir.path()).await;
        let (bob, mut be, bob_doc, _) = start(92, false, dir.path()).await;
        for n in [&alice, &bob] {
            n.dial(relay.clone()).await.unwrap();
        }
        alice.add_contact(bob_doc).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let to = bob.name().to_string();
        alice.send_dm(&to, "warm-up").await.unwrap();
        while !matches!(be.recv().await, Some(NodeEvent::MessageReceived { .. })) {}

        let idle = latencies(&alice, &to, &mut be).await;

        let topic = inbox_topic(&bob.name());
        let mut mallory = junk_peer(93);
        mallory.dial(relay.clone()).unwrap();
        let subscribed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let libp2p::swarm::SwarmEvent::Behaviour(
                    libp2p::gossipsub::Event::Subscribed { topic: t, .. },
                ) = mallory.select_next_some().await
                    && t == topic.hash()
                {
                    break;
                }
            }
        })
        .await;
        assert!(subscribed.is_ok(), "the relay never followed Bob's inbox");
        let flood = tokio::spawn(async move {
            let mut published = 0u32;
            for batch in 0..FLOOD / 100 {
                for j in 0..100 {
                    let mut junk = vec![1u8; 200];
                    junk[1..5].copy_from_slice(&(batch * 100 + j).to_le_bytes());
                    if mallory.behaviour_mut().publish(topic.clone(), junk).is_ok() {
                        published += 1;
                    }
                }
                while tokio::time::timeout(Duration::from_millis(2), mallory.select_next_some())
                    .await
                    .is_ok()
                {}
            }
            published
        });
        let flooded = latencies(&alice, &to, &mut be).await;
        let published = flood.await.unwrap();
        let rejected = bob.rejections().await.unwrap().values().sum::<u64>();
        let (p99_idle, p99_flood) = (percentile(&idle, 0.99), percentile(&flooded, 0.99));
        println!(
            "relay_flood/legitimate delivery through a relay, idle: p50 {:?}, p99 {:?} ({MESSAGES} sequential)",
            percentile(&idle, 0.5),
            p99_idle
        );
        println!(
            "relay_flood/legitimate delivery while {FLOOD} junk notifications are sent: p50 {:?}, p99 {:?} = {:.1}x idle (target <= 5x)",
            percentile(&flooded, 0.5),
            p99_flood,
            p99_flood.as_secs_f64() / p99_idle.as_secs_f64()
        );
        println!(
            "relay_flood/flood: {published} of {FLOOD} junk published before the relay hung up; {rejected} reached Bob (refused there)"
        );
        alice.shutdown().await;
        bob.shutdown().await;
    });
    drop(child.stdin.take());
    line.clear();
    out.read_line(&mut line).unwrap();
    let _ = child.wait();
    println!(
        "relay_flood/relay peak resident memory: {} MB",
        line.trim().trim_start_matches("peak ")
    );
}
