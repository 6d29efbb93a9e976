//! The group fetch state (`GroupBlocks`), fed blocks directly (no swarm).
#![allow(clippy::unwrap_used)]
use super::*;
use kaichi_privatelog::blob::split;

fn raw(n: u8) -> (Cid, Vec<u8>) {
    let block = vec![n; 10];
    (kaichi_privatelog::BlockCid::of(&block).to_cid(), block)
}

/// Answers queries with increasing ids, remembering what each asked.
struct Asker {
    next: u32,
    asked: HashMap<u32, Cid>,
}

impl Asker {
    fn new() -> Self {
        Self {
            next: 0,
            asked: HashMap::new(),
        }
    }

    fn ask(&mut self, cid: &Cid) -> Result<u32, Vec<u8>> {
        self.next += 1;
        self.asked.insert(self.next, *cid);
        Ok(self.next)
    }
}

#[test]
fn a_fetch_completes_when_all_its_blobs_are_in_and_keeps_their_order() {
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let mut a = Asker::new();
    let ((w, wb), (t, tb)) = (raw(1), raw(2));
    let step = s.start("join", &[w, t], 1 << 20, Instant::now(), |c| a.ask(c));
    assert!(matches!(step, Step::Waiting));
    assert!(s.contains(&1) && s.contains(&2));
    // The tree (second) arrives first; the order stays Welcome, tree.
    assert!(matches!(s.got(&2, tb.clone(), |c| a.ask(c)), Step::Waiting));
    let Step::Done(then, blobs) = s.got(&1, wb.clone(), |c| a.ask(c)) else {
        panic!("not done")
    };
    assert_eq!(then, "join");
    assert_eq!(blobs, [wb, tb]);
    assert!(!s.contains(&1));
}

#[test]
fn a_chunked_blob_is_fetched_through_its_manifest_and_checked() {
    let big: Vec<u8> = (0..kaichi_privatelog::blob::MAX_SINGLE_BLOCK * 3)
        .map(|i| (i % 253) as u8)
        .collect();
    let blocks = split(&big).unwrap();
    let by_cid: HashMap<Cid, Vec<u8>> = blocks.blocks.iter().cloned().collect();
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let mut a = Asker::new();
    let (kp, kpb) = raw(9);
    let step = s.start("two", &[kp, blocks.root], big.len(), Instant::now(), |c| {
        a.ask(c)
    });
    assert!(matches!(step, Step::Waiting));
    assert!(matches!(
        s.got(&1, kpb.clone(), |c| a.ask(c)),
        Step::Waiting
    ));
    // The manifest asks for every chunk.
    let manifest = by_cid[&blocks.root].clone();
    assert!(matches!(s.got(&2, manifest, |c| a.ask(c)), Step::Waiting));
    let chunk_queries: Vec<u32> = (3..=a.next).collect();
    assert_eq!(chunk_queries.len(), blocks.blocks.len() - 1);
    let mut last = Step::Waiting;
    for q in chunk_queries.into_iter().rev() {
        let block = by_cid[&a.asked[&q]].clone();
        last = s.got(&q, block, |c| a.ask(c));
    }
    let Step::Done(_, blobs) = last else {
        panic!("not done")
    };
    assert_eq!(blobs, [kpb, big.clone()]);

    // A bound below the blob's size fails at the manifest.
    let mut a = Asker::new();
    s.start(
        "small",
        &[blocks.root],
        big.len() - 1,
        Instant::now(),
        |c| a.ask(c),
    );
    let manifest = by_cid[&blocks.root].clone();
    let q = a.next;
    assert!(matches!(s.got(&q, manifest, |c| a.ask(c)), Step::Failed(_)));
    // A block that is no manifest fails too.
    s.start("bad", &[blocks.root], big.len(), Instant::now(), |c| {
        a.ask(c)
    });
    let q = a.next;
    assert!(matches!(
        s.got(&q, b"junk".to_vec(), |c| a.ask(c)),
        Step::Failed(_)
    ));
}

#[test]
fn blocks_at_hand_complete_at_once() {
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let (k, kb) = raw(3);
    let step = s.start("kp", &[k], 1 << 20, Instant::now(), |_| Err(kb.clone()));
    assert!(matches!(step, Step::Done("kp", ref b) if b == std::slice::from_ref(&kb)));
}

#[test]
fn a_failed_block_abandons_its_fetch_and_names_the_queries_to_cancel() {
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let mut a = Asker::new();
    s.start(
        "join",
        &[raw(1).0, raw(2).0],
        1 << 20,
        Instant::now(),
        |c| a.ask(c),
    );
    let ab = s.failed(&1, "gone").unwrap();
    assert_eq!(ab.then, "join");
    assert_eq!(ab.cancel, [2]);
    assert!(!s.contains(&2));
    assert!(s.failed(&2, "gone").is_none());
}

#[test]
fn fetches_expire_after_the_timeout_and_room_is_bounded() {
    let mut s: GroupBlocks<u32, u32> = GroupBlocks::new();
    let t0 = Instant::now();
    let mut a = Asker::new();
    for n in 0..MAX_GROUP_FETCHES as u32 {
        assert!(s.has_room());
        s.start(n, &[raw(1).0], 1 << 20, t0, |c| a.ask(c));
    }
    assert!(!s.has_room());
    let just_before = t0 + GROUP_FETCH_TIMEOUT - Duration::from_millis(1);
    assert!(s.expired(just_before).is_empty());
    let gone = s.expired(t0 + GROUP_FETCH_TIMEOUT);
    assert_eq!(gone.len(), MAX_GROUP_FETCHES);
    assert!(gone.iter().all(|a| a.cancel.len() == 1));
    assert!(s.has_room() && !s.contains(&1));
}
