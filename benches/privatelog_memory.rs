//! Resident memory of a 100,000-entry conversation opened from the embedded
//! store and paged through. Target: under 100 MB.
//!
//! `cargo bench -p kaichi-benches --bench privatelog_memory`
//!
//! The database is written first (in a temporary directory); a fresh child
//! process then opens the conversation, pages through all of it, and reports
//! its peak resident set (VmHWM), so setup allocations do not count.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

/// Opens and pages the conversation; returns (open seconds, page seconds).
fn open_and_page(db: &Path, n: u64) -> (f64, f64) {
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
    assert_eq!(seen as u64, n);
    (
        opened.as_secs_f64(),
        (started.elapsed() - opened).as_secs_f64(),
    )
}

/// The OrbitDB comparison workload (benches/orbitdb/compare.mjs): `n`
/// appends, each committed with Durability::Full, then a fresh process
/// opens and reads everything. Prints one JSON line.
fn workload(n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("workload.db");
    let (a, b) = (keys(1), keys(2));
    let store = SqliteStore::open(&db, Durability::Full).unwrap();
    let mut conv = Conversation::new(&a, &b.public()).unwrap();
    store
        .save_conversation(&StoredConversation {
            id: conv.id(),
            peer: b.public(),
        })
        .unwrap();
    let started = Instant::now();
    for i in 0..n {
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&i.to_be_bytes());
        let text = format!("message number {i}, a typical short chat line");
        let e = conv
            .append(a.ipns(), &Message::text(text, i), &salt)
            .unwrap();
        store.add_entries(&conv.id(), &[&e]).unwrap();
    }
    let append_per_s = n as f64 / started.elapsed().as_secs_f64();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--read", &n.to_string()])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let read = String::from_utf8(out.stdout).unwrap();
    println!(
        "{{\"append_per_s\":{append_per_s:.1},{}",
        read.trim().trim_start_matches('{')
    );
}

fn measure(db: &Path) {
    let (open_s, page_s) = open_and_page(db, N);
    println!(
        "privatelog/memory: {N} entries opened in {open_s:.2} s and paged in {page_s:.2} s; peak RSS {:.1} MB (target < 100 MB)",
        peak_rss_kib() as f64 / 1024.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        measure(Path::new(&args[i + 1]));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--workload") {
        workload(args[i + 1].parse().unwrap());
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--read") {
        let n: u64 = args[i + 1].parse().unwrap();
        let (open_s, page_s) = open_and_page(Path::new(&args[i + 2]), n);
        println!(
            "{{\"load_s\":{:.3},\"peak_rss_mb\":{:.1}}}",
            open_s + page_s,
            peak_rss_kib() as f64 / 1024.0
        );
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
