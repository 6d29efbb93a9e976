//! Crash safety: a writer process appends entries and prints an ACK after
//! each commit; it is killed with SIGKILL at random moments, the database is
//! reopened, and every acknowledged entry must be there and the file sound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{keys, text};
use kaichi_privatelog::store::{Durability, LogStore, SqliteStore, StoredConversation};
use kaichi_privatelog::{Conversation, EntryCid};

const DB_ENV: &str = "KAICHI_CRASH_WRITER_DB";
const ROUNDS: u64 = 24;

/// The writer, run as a child process by `acknowledged_entries_survive_sigkill`.
#[test]
#[ignore = "child process of acknowledged_entries_survive_sigkill"]
fn crash_writer_child() {
    let path = std::env::var_os(DB_ENV).expect("run by the crash test");
    let store = SqliteStore::open(path.as_ref(), Durability::Full).unwrap();
    let (a, b) = (keys(1), keys(2));
    let mut conv = Conversation::new(&a, &b.public()).unwrap();
    store
        .save_conversation(&StoredConversation {
            id: conv.id(),
            peer: b.public(),
        })
        .unwrap();
    conv.load(&store).unwrap();
    let mut out = std::io::stdout().lock();
    let pid = u64::from(std::process::id());
    for n in 0u64.. {
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&pid.to_be_bytes());
        salt[8..].copy_from_slice(&n.to_be_bytes());
        let e = conv
            .append(a.ipns(), &text(&format!("{pid}-{n}")), &salt)
            .unwrap();
        store.add_entries(&conv.id(), &[&e]).unwrap();
        writeln!(out, "ACK {}", e.cid()).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_entries_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut acked: HashSet<EntryCid> = HashSet::new();
    // Deterministic "random" kill times: 0 to 120 ms after the writer's
    // first acknowledgement of the round, so every kill lands mid-append.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..ROUNDS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_millis(x % 120);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DB_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(cid) = line.strip_prefix("ACK ") {
                    tx.send(cid.parse::<EntryCid>().unwrap()).unwrap();
                }
            }
        });
        let before = acked.len();
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the writer acknowledged nothing");
        acked.insert(first);
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter());

        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        assert!(
            store.integrity_check().unwrap(),
            "round {round}: integrity check failed"
        );
        let (a, b) = (keys(1), keys(2));
        let mut conv = Conversation::new(&a, &b.public()).unwrap();
        conv.load(&store).unwrap();
        for cid in &acked {
            assert!(conv.contains(cid), "round {round}: acknowledged {cid} lost");
        }
        eprintln!(
            "round {round}: killed {delay:?} after the first ack, {} new acks, {} entries stored",
            acked.len() - before,
            conv.len()
        );
    }
    assert!(
        acked.len() as u64 >= ROUNDS,
        "the writer acknowledged too little to mean anything: {}",
        acked.len()
    );
}
