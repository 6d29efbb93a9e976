//! kaichi-privatelog: append (encrypt + sign + store), ingest (verify +
//! decrypt + store), merging two 100,000-entry logs, paging a 100,000-entry
//! view, and bytes of overhead per message.
//!
//! Targets (one core): append and ingest >= 20,000 entries/s; merging two
//! 100,000-entry logs < 100 ms once ingested. Memory: see privatelog_memory.
//!
//! `cargo bench -p kaichi-benches --bench privatelog`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::store::{Durability, LogStore, MemoryStore, SqliteStore};
use kaichi_privatelog::{Conversation, Entry, EntryCid, EntryMeta, LogSet, Message};

const N: u64 = 100_000;

fn keys(seed: u8) -> IdentityKeys {
    IdentityKeys::derive(
        &KeypairWallet::from_secret_seed(&[seed; 32]),
        KeyEpoch::ZERO,
    )
    .unwrap()
}

fn salt(n: u64) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..8].copy_from_slice(&n.to_be_bytes());
    s
}

fn msg(n: u64) -> Message {
    Message::text(
        format!("message number {n}, a typical short chat line"),
        1_795_000_000_000 + n,
    )
}

/// A linear history by `me` of `n` entries, as blocks.
fn history(me: &IdentityKeys, peer: &IdentityKeys, n: u64, salt_base: u64) -> Vec<Entry> {
    let mut c = Conversation::new(me, &peer.public()).unwrap();
    (0..n)
        .map(|i| c.append(me.ipns(), &msg(i), &salt(salt_base + i)).unwrap())
        .collect()
}

fn append(c: &mut Criterion) {
    let (a, b) = (keys(1), keys(2));
    let mut g = c.benchmark_group("privatelog/append");
    g.throughput(Throughput::Elements(1));
    let mut conv = Conversation::new(&a, &b.public()).unwrap();
    let mut n = 0u64;
    g.bench_function("encrypt+sign (no store)", |bn| {
        bn.iter(|| {
            n += 1;
            black_box(conv.append(a.ipns(), &msg(n), &salt(n)).unwrap())
        })
    });
    let mem = MemoryStore::new();
    let mut conv = Conversation::new(&a, &b.public()).unwrap();
    g.bench_function("encrypt+sign+store (memory)", |bn| {
        bn.iter(|| {
            n += 1;
            let e = conv.append(a.ipns(), &msg(n), &salt(n)).unwrap();
            mem.add_entries(&conv.id(), &[&e]).unwrap();
        })
    });
    for batch in [100usize, 1000] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("batch.db"), Durability::Full).unwrap();
        let mut conv = Conversation::new(&a, &b.public()).unwrap();
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(
            format!("encrypt+sign+store (sqlite, Full, one commit per {batch})"),
            |bn| {
                bn.iter(|| {
                    let entries: Vec<Entry> = (0..batch)
                        .map(|_| {
                            n += 1;
                            conv.append(a.ipns(), &msg(n), &salt(n)).unwrap()
                        })
                        .collect();
                    store
                        .add_entries(&conv.id(), &entries.iter().collect::<Vec<_>>())
                        .unwrap();
                })
            },
        );
    }
    g.throughput(Throughput::Elements(1));
    for durability in [Durability::Normal, Durability::Full] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bench.db"), durability).unwrap();
        let mut conv = Conversation::new(&a, &b.public()).unwrap();
        g.bench_function(
            format!("encrypt+sign+store (sqlite, {durability:?}, one commit each)"),
            |bn| {
                bn.iter(|| {
                    n += 1;
                    let e = conv.append(a.ipns(), &msg(n), &salt(n)).unwrap();
                    store.add_entries(&conv.id(), &[&e]).unwrap();
                })
            },
        );
    }
    g.finish();
}

fn ingest(c: &mut Criterion) {
    let (a, b) = (keys(1), keys(2));
    let blocks = history(&a, &b, 2_000, 0);
    let mut g = c.benchmark_group("privatelog/ingest");
    g.throughput(Throughput::Elements(blocks.len() as u64));
    g.sample_size(10);
    g.bench_function("verify+decrypt (2,000 entries)", |bn| {
        bn.iter_batched(
            || Conversation::new(&b, &a.public()).unwrap(),
            |mut conv| {
                for e in &blocks {
                    conv.ingest(e.block(), Some(&e.cid())).unwrap();
                }
                conv
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function(
        "verify+decrypt+store (sqlite Full, one commit per 2,000)",
        |bn| {
            bn.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let store =
                        SqliteStore::open(&dir.path().join("b.db"), Durability::Full).unwrap();
                    (dir, store, Conversation::new(&b, &a.public()).unwrap())
                },
                |(dir, store, mut conv)| {
                    for e in &blocks {
                        conv.ingest(e.block(), Some(&e.cid())).unwrap();
                    }
                    store
                        .add_entries(&conv.id(), &blocks.iter().collect::<Vec<_>>())
                        .unwrap();
                    (dir, store, conv)
                },
                BatchSize::LargeInput,
            )
        },
    );
    g.finish();
}

fn synthetic_log(author: u8, n: u64, cross: &[EntryCid]) -> LogSet {
    let mut log = LogSet::new();
    let mut prev: Option<EntryCid> = None;
    for i in 0..n {
        let mut parents: Vec<EntryCid> = prev.into_iter().collect();
        // Every 10th entry also names the other side's entry of the same height.
        if i % 10 == 0
            && let Some(c) = cross.get(i as usize)
        {
            parents.push(*c);
        }
        parents.sort_unstable();
        let cid = EntryCid::of(&[&[author][..], &i.to_be_bytes()].concat());
        // The left chain has clocks 1..=n. The right chain sits one above it
        // (its entry i names left entry i, clock i + 1), so its clocks are i + 2.
        let clock = if cross.is_empty() { i + 1 } else { i + 2 };
        log.insert(EntryMeta {
            cid,
            author: [author; 32],
            clock,
            parents,
        })
        .unwrap();
        prev = Some(cid);
    }
    log
}

fn merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("privatelog/merge");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    let left = synthetic_log(1, N, &[]);
    let left_cids: Vec<EntryCid> = left.iter().map(|k| k.cid).collect();
    let right = synthetic_log(2, N, &left_cids);
    g.bench_function("two 100,000-entry logs (LogSet)", |bn| {
        bn.iter_batched(
            || left.clone(),
            |mut l| {
                l.merge(&right);
                assert_eq!(l.len(), 2 * N as usize);
                l
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn paging(c: &mut Criterion) {
    let (a, b) = (keys(1), keys(2));
    let mut conv = Conversation::new(&a, &b.public()).unwrap();
    for i in 0..N {
        conv.append(a.ipns(), &msg(i), &salt(i)).unwrap();
    }
    let mut g = c.benchmark_group("privatelog/page");
    g.bench_function("newest 50 of 100,000", |bn| {
        bn.iter(|| black_box(conv.page(None, 50)))
    });
    let mid = {
        let mut cursor = None;
        for _ in 0..1000 {
            cursor = conv.page(cursor.as_ref(), 50).next;
        }
        cursor.unwrap()
    };
    g.bench_function("50 from the middle of 100,000", |bn| {
        bn.iter(|| black_box(conv.page(Some(&mid), 50)))
    });
    g.sample_size(10);
    g.bench_function("walk all 100,000 in pages of 100", |bn| {
        bn.iter(|| {
            let mut cursor = None;
            let mut n = 0;
            loop {
                let p = conv.page(cursor.as_ref(), 100);
                n += p.messages.len();
                match p.next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(n, N as usize);
        })
    });
    g.finish();
}

fn overhead(_: &mut Criterion) {
    let (a, b) = (keys(1), keys(2));
    let mut conv = Conversation::new(&a, &b.public()).unwrap();
    println!("\nprivatelog/overhead (bytes of block beyond the text; one parent):");
    for (i, len) in [1usize, 20, 100, 1000, 10_000].into_iter().enumerate() {
        let text = "x".repeat(len);
        let e = conv
            .append(a.ipns(), &Message::text(text, 0), &salt(i as u64))
            .unwrap();
        println!(
            "  text {len:>6} B -> block {:>6} B, overhead {:>5} B",
            e.block().len(),
            e.block().len() - len
        );
    }
}

criterion_group!(benches, append, ingest, merge, paging, overhead);
criterion_main!(benches);
