//! Resident memory of a 100,000-entry conversation opened from the embedded
//! store and paged through. Target: under 100 MB.
//!
//! `cargo bench -p kaichi-benches --bench privatelog_memory`
//!
//! The database is written first (in a temporary directory); a fresh child
//! process then opens the conversation, pages through all of it, and reports
//! its peak resident set (VmHWM), so setup allocations do not count.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::store::{Durability, LogStore, SqliteStore, StoredConversation};
use kaichi_privatelog::{Conversation, Message};

const N: u64 = 100_000;

fn keys(seed: u8) -> IdentityKeys {
    IdentityKeys::derive(
        &KeypairWallet::from_secret_seed(&[seed; 32]),
        KeyEpoch::ZERO,
    )
    .unwrap()
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn measure(db: &Path) {
    let (a, b) = (keys(1), keys(2));
    let started = Instant::now();
    let store = SqliteStore::open(db, Durability::Full).unwrap();
    let mut conv = Conversation::new(&b, &a.public()).unwrap();
    conv.load(&store).unwrap();
    let opened = started.elapsed();
    let mut cursor = None;
    let mut seen = 0;
    loop {
        let p = conv.page(cursor.as_ref(), 100);
        seen += p.messages.len();
        match p.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen as u64, N);
    println!(
        "privatelog/memory: {N} entries opened in {:.2} s and paged in {:.2} s; peak RSS {:.1} MB (target < 100 MB)",
        opened.as_secs_f64(),
        (started.elapsed() - opened).as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        measure(Path::new(&args[i + 1]));
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("memory.db");
    let (a, b) = (keys(1), keys(2));
    let started = Instant::now();
    {
        let store = SqliteStore::open(&db, Durability::Normal).unwrap();
        let mut conv = Conversation::new(&a, &b.public()).unwrap();
        store
            .save_conversation(&StoredConversation {
                id: conv.id(),
                peer: b.public(),
            })
            .unwrap();
        let mut batch = Vec::new();
        for i in 0..N {
            let mut salt = [0u8; 16];
            salt[..8].copy_from_slice(&i.to_be_bytes());
            let text = format!("message number {i}, a typical short chat line");
            batch.push(
                conv.append(a.ipns(), &Message::text(text, i), &salt)
                    .unwrap(),
            );
            if batch.len() == 10_000 {
                store
                    .add_entries(&conv.id(), &batch.iter().collect::<Vec<_>>())
                    .unwrap();
                batch.clear();
            }
        }
    }
    println!(
        "privatelog/memory: wrote {N} entries in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let status = Command::new(std::env::current_exe().unwrap())
        .arg("--measure")
        .arg(&db)
        .status()
        .unwrap();
    assert!(status.success());
}
