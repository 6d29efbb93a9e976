//! Soak and crash: Alice sends `KAICHI_SOAK_MESSAGES` (default 100,000)
//! DMs to Bob, whose node runs in a process of its own and is SIGKILLed
//! `KAICHI_SOAK_KILLS` (default 20) times mid-stream, restarting each time
//! on the same store and address (Alice re-dials it by herself). Then:
//! every message Alice saw as delivered (a receipt) must be in Bob's store,
//! every message must arrive once (none lost, none duplicated), and Alice's
//! resident memory is reported every tenth of the run and at the end. (The
//! bench keeps the CIDs it sent and saw delivered in files, not in the
//! sender's memory, so the figures are the node's.)
//!
//! `cargo bench -p kaichi-benches --bench soak`
//! (`KAICHI_SOAK_MESSAGES=10000 KAICHI_SOAK_KILLS=5` for a short run).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use kaichi_privatelog::store::{Durability, LogStore as _, SqliteStore};
use kaichi_privatelog::{Conversation, EntryCid};
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeConfig, NodeEvent};

const ALICE: u8 = 101;
const BOB: u8 = 102;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn keys(seed: u8) -> (KeypairWallet, IdentityKeys, Vec<u8>) {
    let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let document = DocumentBuilder::new(&keys, now, Duration::from_secs(86_400))
        .sign(&wallet)
        .unwrap();
    (wallet, keys, document)
}

/// Appends CIDs to a file of 32-byte digests.
fn write_cids(file: &mut impl Write, cids: &[EntryCid]) {
    let bytes: Vec<u8> = cids
        .iter()
        .flat_map(|c| c.to_bytes()[4..].to_vec())
        .collect();
    file.write_all(&bytes).unwrap();
}

/// The CIDs of a file [`write_cids`] wrote.
fn read_cids(path: &Path) -> Vec<EntryCid> {
    let prefix = EntryCid::of(b"").to_bytes();
    std::fs::read(path)
        .unwrap()
        .chunks_exact(32)
        .map(|d| {
            let mut bytes = prefix;
            bytes[4..].copy_from_slice(d);
            EntryCid::from_bytes(&bytes).unwrap()
        })
        .collect()
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

/// Bob's process: his node on `store` at `port`, until killed.
fn receiver(store: &Path, port: u16) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_, keys, document) = keys(BOB);
        let store = Arc::new(SqliteStore::open(store, Durability::Normal).unwrap());
        let config = NodeConfig::builder()
            .listen(format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap())
            .retry_interval(Duration::from_millis(100))
            .dht_mode(DhtMode::Server)
            .build()
            .unwrap();
        let (node, mut events) = Node::start(config, keys, document, store).await.unwrap();
        loop {
            if let Some(NodeEvent::Listening(_)) = events.recv().await {
                break;
            }
        }
        println!("ready {}", node.peer_id());
        while events.recv().await.is_some() {}
    });
}

fn spawn_receiver(store: &Path, port: u16) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--receiver")
        .arg(store)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let peer = line.trim().strip_prefix("ready ").unwrap().to_owned();
    (child, peer)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--receiver") {
        receiver(&PathBuf::from(&args[i + 1]), args[i + 2].parse().unwrap());
        return;
    }
    // RUST_LOG=kaichi_transport=debug shows what the nodes do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let messages = env_or("KAICHI_SOAK_MESSAGES", 100_000);
    let kills = env_or("KAICHI_SOAK_KILLS", 20);
    let dir = tempfile::tempdir().unwrap();
    let bob_store = dir.path().join("bob.db");
    let port = free_port();
    let (mut bob, bob_peer) = spawn_receiver(&bob_store, port);
    let bob_addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}/p2p/{bob_peer}")
        .parse()
        .unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sent_path, delivered_path) = (dir.path().join("sent"), dir.path().join("delivered"));
    let delivered_count = Arc::new(AtomicUsize::new(0));
    let (start_rss, end_rss, elapsed) = rt.block_on(async {
        let (_, alice_keys, alice_doc) = keys(ALICE);
        let store =
            Arc::new(SqliteStore::open(&dir.path().join("alice.db"), Durability::Normal).unwrap());
        let config = NodeConfig::builder()
            .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .bootstrap(bob_addr.clone())
            .redial_interval(Duration::from_millis(300))
            .retry_interval(Duration::from_millis(100))
            .event_buffer(1 << 20)
            .dht_mode(DhtMode::Server)
            .build()
            .unwrap();
        let (alice, mut events) = Node::start(config, alice_keys, alice_doc, store)
            .await
            .unwrap();
        let (_, _, bob_doc) = keys(BOB);
        alice.add_contact(bob_doc).await.unwrap();
        let seen = delivered_count.clone();
        let mut delivered_file = std::fs::File::create(&delivered_path).unwrap();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if let NodeEvent::Delivered { entries, .. } = e {
                    write_cids(&mut delivered_file, &entries);
                    seen.fetch_add(entries.len(), Ordering::SeqCst);
                }
            }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        let start_rss = rss_mb();
        let t = Instant::now();
        let to = kaichi_identity::IpnsName::from_ed25519(&keys(BOB).1.ipns().public()).to_string();
        let every = messages / (kills + 1);
        let mut sent = std::io::BufWriter::new(std::fs::File::create(&sent_path).unwrap());
        // The sender's resident memory every tenth of the run: how it grows
        // with the conversation it holds.
        let mut samples = Vec::new();
        for i in 0..messages {
            if i % (messages / 10).max(1) == 0 {
                samples.push((i, rss_mb()));
            }
            let cid = alice.send_dm(&to, &format!("soak {i}")).await.unwrap();
            write_cids(&mut sent, &[cid]);
            if every > 0 && i > 0 && i % every == 0 && i / every <= kills {
                // SIGKILL mid-stream; back on the same store and address.
                bob.kill().unwrap();
                bob.wait().unwrap();
                (bob, _) = spawn_receiver(&bob_store, port);
            }
        }
        // Everything acknowledged (re-sends and fetches finish the rest).
        let deadline = Instant::now() + Duration::from_secs(1800);
        loop {
            let n = delivered_count.load(Ordering::SeqCst);
            if n >= messages || Instant::now() > deadline {
                break;
            }
            if t.elapsed().as_secs().is_multiple_of(10) {
                eprintln!(
                    "soak: {n} of {messages} delivered after {:.0?}",
                    t.elapsed()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let elapsed = t.elapsed();
        let end_rss = rss_mb();
        if let Ok(status) = alice.status().await {
            println!(
                "soak/sender entries held in memory: {} of {} (the rest settled into the store)",
                status.held_entries, messages
            );
        }
        samples.push((messages, end_rss));
        let line: Vec<String> = samples
            .iter()
            .map(|(n, mb)| format!("{n}: {mb:.1}"))
            .collect();
        println!(
            "soak/sender resident memory (MB) by messages sent: {}",
            line.join(", ")
        );
        if let [(n0, a), .., (n1, b)] = samples.as_slice() {
            println!(
                "soak/sender growth: {:.2} KB per message held",
                (b - a) * 1024.0 / (n1 - n0).max(1) as f64
            );
        }
        alice.shutdown().await;
        sent.flush().unwrap();
        (start_rss, end_rss, elapsed)
    });
    bob.kill().unwrap();
    bob.wait().unwrap();

    // Bob's store, as the killed process left it.
    // Receipts may repeat an entry: count each once.
    let delivered: HashSet<EntryCid> = read_cids(&delivered_path).into_iter().collect();
    let sent = read_cids(&sent_path);
    let store = SqliteStore::open(&bob_store, Durability::Normal).unwrap();
    let (_, bob_keys, _) = keys(BOB);
    let contact = store.conversations().unwrap();
    let alice_public = contact
        .iter()
        .find(|c| c.peer.ipns == keys(ALICE).1.ipns().public())
        .expect("Bob stored the conversation")
        .peer;
    let mut conv = Conversation::new(&bob_keys, &alice_public).unwrap();
    conv.load(&store).unwrap();
    let missing_delivered = delivered.iter().filter(|c| !conv.contains(c)).count();
    let held = sent.iter().filter(|c| conv.contains(c)).count();
    let mut texts = HashSet::new();
    let mut duplicates = 0;
    let mut cursor = None;
    loop {
        let page = conv.page(cursor.as_ref(), kaichi_privatelog::MAX_PAGE);
        for m in &page.messages {
            if !texts.insert(m.text.clone()) {
                duplicates += 1;
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    println!(
        "soak/{messages} DMs, receiver SIGKILLed {kills} times: {} delivered (receipts) in {elapsed:.1?}; {held} in Bob's store; {missing_delivered} delivered but missing (must be 0); {duplicates} duplicated; {} distinct texts",
        delivered.len(),
        texts.len()
    );
    println!("soak/sender resident memory: start {start_rss:.1} MB, end {end_rss:.1} MB");
    assert_eq!(missing_delivered, 0, "an acknowledged message was lost");
    assert_eq!(duplicates, 0);
}
