//! Attachments on loopback: a 100 MB file sent (sealed chunk by chunk into
//! the sender's store) and saved by the recipient (every chunk fetched over
//! Bitswap, checked, decrypted, written): throughput of each, and the
//! process's peak resident set over its baseline (target < 64 MB; both
//! nodes live in this process, so it counts both).
//!
//! `cargo bench -p kaichi-benches --bench attachment`
//! (`KAICHI_BENCH_FILE_MB` sets the size; default 100).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use kaichi_identity::wallet::KeypairWallet;
use kaichi_privatelog::store::Durability;
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeEvent};

fn megabytes() -> u64 {
    std::env::var("KAICHI_BENCH_FILE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Resets the peak resident set to the current one (Linux: `5` to
/// `/proc/self/clear_refs`).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn node(
    seed: u8,
    dir: &std::path::Path,
) -> (Node, tokio::sync::mpsc::Receiver<NodeEvent>, Multiaddr) {
    let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
    let (node, mut events) = Node::builder(&wallet, dir.join(seed.to_string()))
        .durability(Durability::Normal)
        .configure(|c| {
            c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
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
    let full = format!("{addr}/p2p/{}", node.peer_id()).parse().unwrap();
    (node, events, full)
}

/// Writes a `mb`-megabyte file a megabyte at a time.
fn write_file(path: &std::path::Path, mb: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; 1_000_000];
    for i in 0..mb {
        for (j, b) in block.iter_mut().enumerate() {
            *b = (i as usize * 31 + j * 7) as u8;
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        let m = fb.read_exact(&mut bb[..n]).map(|()| n);
        if m.is_err() || ba[..n] != bb[..n] {
            return false;
        }
        if n == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
    }
}

async fn run(dir: &std::path::Path) {
    let mb = megabytes();
    let file = dir.join("file.bin");
    write_file(&file, mb);
    let (alice, _alice_events, alice_addr) = node(1, dir).await;
    let (bob, mut bob_events, _) = node(2, dir).await;
    bob.dial(alice_addr).await.unwrap();
    alice
        .add_contact(bob.identity_document().to_vec())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let baseline = status_kib("VmRSS:");
    let resettable = reset_peak();
    let started = Instant::now();
    let cid = alice
        .send_file(bob.name(), &file, "a big file", |_, _| {})
        .await
        .unwrap();
    let send = started.elapsed().as_secs_f64();
    loop {
        match bob_events.recv().await {
            Some(NodeEvent::MessageReceived { cid: c, .. }) if c == cid => break,
            Some(_) => {}
            None => panic!("bob stopped"),
        }
    }
    let out = dir.join("saved.bin");
    let started = Instant::now();
    bob.save_file(cid, 0, &out, |_, _| {}).await.unwrap();
    let save = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:");
    assert!(same_file(&file, &out), "the saved file differs");
    println!(
        "attachment/send {mb} MB: {send:.2} s = {:.1} MB/s (sealed and stored, chunk by chunk)",
        mb as f64 / send
    );
    println!(
        "attachment/save {mb} MB over Bitswap: {save:.2} s = {:.1} MB/s (fetched, checked, decrypted, written)",
        mb as f64 / save
    );
    if resettable {
        println!(
            "attachment/peak RSS over baseline (both nodes, send and save): {:.1} MB (target < 64 MB; baseline {:.1} MB)",
            peak.saturating_sub(baseline) as f64 / 1024.0,
            baseline as f64 / 1024.0
        );
    } else {
        println!(
            "attachment/peak RSS: this kernel cannot reset VmHWM; peak {:.1} MB",
            peak as f64 / 1024.0
        );
    }
    alice.shutdown().await;
    bob.shutdown().await;
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run(dir.path()));
}
