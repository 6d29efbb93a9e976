//! The group fetch state (`GroupBlocks`), fed blocks directly (no swarm).
#![allow(clippy::unwrap_used)]
use super::*;
use kaichi_privatelog::blob::split;

/// The bytes of blobs fetched as bytes.
fn bytes(blobs: &[Fetched]) -> Vec<Vec<u8>> {
    blobs
        .iter()
        .map(|b| match b {
            Fetched::Bytes(b) => b.clone(),
            Fetched::Tree(_) => panic!("a tree"),
        })
        .collect()
}

fn b(cid: Cid) -> Wanted {
    Wanted::Bytes(cid)
}

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
    let step = s.start("join", &[b(w), b(t)], 1 << 20, Instant::now(), |c| a.ask(c));
    assert!(matches!(step, Step::Waiting));
    assert!(s.contains(&1) && s.contains(&2));
    // The tree (second) arrives first; the order stays Welcome, tree.
    assert!(matches!(
        s.got(&2, tb.clone(), Instant::now(), |c| a.ask(c)),
        Step::Waiting
    ));
    let Step::Done(then, blobs) = s.got(&1, wb.clone(), Instant::now(), |c| a.ask(c)) else {
        panic!("not done")
    };
    assert_eq!(then, "join");
    assert_eq!(bytes(&blobs), [wb, tb]);
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
    let step = s.start(
        "two",
        &[b(kp), b(blocks.root)],
        big.len(),
        Instant::now(),
        |c| a.ask(c),
    );
    assert!(matches!(step, Step::Waiting));
    assert!(matches!(
        s.got(&1, kpb.clone(), Instant::now(), |c| a.ask(c)),
        Step::Waiting
    ));
    // The manifest asks for every chunk.
    let manifest = by_cid[&blocks.root].clone();
    assert!(matches!(
        s.got(&2, manifest, Instant::now(), |c| a.ask(c)),
        Step::Waiting
    ));
    let chunk_queries: Vec<u32> = (3..=a.next).collect();
    assert_eq!(chunk_queries.len(), blocks.blocks.len() - 1);
    let mut last = Step::Waiting;
    for q in chunk_queries.into_iter().rev() {
        let block = by_cid[&a.asked[&q]].clone();
        last = s.got(&q, block, Instant::now(), |c| a.ask(c));
    }
    let Step::Done(_, blobs) = last else {
        panic!("not done")
    };
    assert_eq!(bytes(&blobs), [kpb, big.clone()]);

    // A bound below the blob's size fails at the manifest.
    let mut a = Asker::new();
    s.start(
        "small",
        &[b(blocks.root)],
        big.len() - 1,
        Instant::now(),
        |c| a.ask(c),
    );
    let manifest = by_cid[&blocks.root].clone();
    let q = a.next;
    assert!(matches!(
        s.got(&q, manifest, Instant::now(), |c| a.ask(c)),
        Step::Failed(_)
    ));
    // A block that is no manifest fails too.
    s.start("bad", &[b(blocks.root)], big.len(), Instant::now(), |c| {
        a.ask(c)
    });
    let q = a.next;
    assert!(matches!(
        s.got(&q, b"junk".to_vec(), Instant::now(), |c| a.ask(c)),
        Step::Failed(_)
    ));
}

#[test]
fn blocks_at_hand_complete_at_once() {
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let (k, kb) = raw(3);
    let step = s.start("kp", &[b(k)], 1 << 20, Instant::now(), |_| Err(kb.clone()));
    assert!(matches!(step, Step::Done("kp", ref got) if bytes(got) == [kb.clone()]));
}

#[test]
fn a_failed_block_abandons_its_fetch_and_names_the_queries_to_cancel() {
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let mut a = Asker::new();
    s.start(
        "join",
        &[b(raw(1).0), b(raw(2).0)],
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
        s.start(n, &[b(raw(1).0)], 1 << 20, t0, |c| a.ask(c));
    }
    assert!(!s.has_room());
    let just_before = t0 + GROUP_FETCH_TIMEOUT - Duration::from_millis(1);
    assert!(s.expired(just_before).is_empty());
    let gone = s.expired(t0 + GROUP_FETCH_TIMEOUT);
    assert_eq!(gone.len(), MAX_GROUP_FETCHES);
    assert!(gone.iter().all(|a| a.cancel.len() == 1));
    assert!(s.has_room() && !s.contains(&1));
}

/// A ratchet tree of `leaves` copies of one real leaf (blank parents
/// between): valid in shape, `leaves` members; TLS-encoded.
fn tree_of(leaves: usize) -> Vec<u8> {
    use kaichi_groups::mlsrs::RsMember;
    use kaichi_groups::{AdminPolicy, MemberSigner, NewGroup, NoDevices};
    let me = RsMember::new(
        &MemberSigner::identity(kaichi_identity::IpnsKeypair::from_seed(&[4; 32])),
        AdminPolicy,
        std::sync::Arc::new(NoDevices),
    );
    let one = me
        .create(NewGroup::named("t"))
        .unwrap()
        .ratchet_tree()
        .unwrap();
    // One node after the vector's length (1, 2 or 4 bytes: RFC 9420 §2.1.2).
    let leaf = &one[1 << (one[0] >> 6)..];
    let mut body = Vec::new();
    for i in 0..leaves {
        if i > 0 {
            body.push(0);
        }
        body.extend_from_slice(leaf);
    }
    // The length in its shortest form (RFC 9420 §2.1.2).
    let n = body.len();
    let mut out = match n {
        0..0x40 => vec![n as u8],
        0x40..0x4000 => vec![0x40 | (n >> 8) as u8, n as u8],
        _ => vec![
            0x80 | (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ],
    };
    out.extend_from_slice(&body);
    out
}

fn t(cid: Cid) -> Wanted {
    Wanted::Tree(cid)
}

#[test]
fn a_chunked_tree_is_decoded_in_order_a_window_at_a_time() {
    let leaves = 60_000;
    let bytes = tree_of(leaves);
    let blocks = split(&bytes).unwrap();
    let chunks = blocks.blocks.len() - 1;
    assert!(chunks > 2 * super::super::tree_stream::TREE_WINDOW);
    let by_cid: HashMap<Cid, Vec<u8>> = blocks.blocks.iter().cloned().collect();
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let mut a = Asker::new();
    let (w, wb) = raw(1);
    s.start("join", &[b(w), t(blocks.root)], MAX, Instant::now(), |c| {
        a.ask(c)
    });
    assert!(matches!(
        s.got(&1, wb.clone(), Instant::now(), |c| a.ask(c)),
        Step::Waiting
    ));
    assert!(matches!(
        s.got(&2, by_cid[&blocks.root].clone(), Instant::now(), |c| a
            .ask(c)),
        Step::Waiting
    ));
    // Answer the open queries newest first (out of order); never more than
    // a window of chunks is asked for ahead.
    let mut answered = 2;
    let mut last = Step::Waiting;
    while answered < a.next {
        let open: Vec<u32> = (answered + 1..=a.next).collect();
        assert!(open.len() <= super::super::tree_stream::TREE_WINDOW);
        answered = a.next;
        for q in open.into_iter().rev() {
            last = s.got(&q, by_cid[&a.asked[&q]].clone(), Instant::now(), |c| {
                a.ask(c)
            });
        }
    }
    assert_eq!(answered as usize, 2 + chunks);
    let Step::Done("join", blobs) = last else {
        panic!("not done")
    };
    let [Fetched::Bytes(welcome), Fetched::Tree(tree)] = &blobs[..] else {
        panic!("wrong blobs")
    };
    assert_eq!(welcome, &wb);
    assert_eq!(tree.member_count(), leaves);
    assert_eq!(tree.to_bytes(), bytes);
}

/// The bound the tree tests fetch with.
const MAX: usize = kaichi_groups::MAX_TREE_BYTES;

#[test]
fn a_tree_at_hand_or_in_one_block_completes_at_once() {
    let bytes = tree_of(20_000);
    let blocks = split(&bytes).unwrap();
    let by_cid: HashMap<Cid, Vec<u8>> = blocks.blocks.iter().cloned().collect();
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let step = s.start("here", &[t(blocks.root)], MAX, Instant::now(), |c| {
        Err(by_cid[c].clone())
    });
    let Step::Done(_, blobs) = step else {
        panic!("not done")
    };
    assert!(matches!(&blobs[..], [Fetched::Tree(t)] if t.to_bytes() == bytes));
    // A small tree is one raw block.
    let small = tree_of(3);
    let (root, block) = raw_block(&small);
    let step = s.start("small", &[t(root)], MAX, Instant::now(), |_| {
        Err(block.clone())
    });
    assert!(
        matches!(step, Step::Done(_, ref b) if matches!(&b[..], [Fetched::Tree(t)] if t.member_count() == 3))
    );
}

fn raw_block(bytes: &[u8]) -> (Cid, Vec<u8>) {
    (
        kaichi_privatelog::BlockCid::of(bytes).to_cid(),
        bytes.to_vec(),
    )
}

#[test]
fn a_tree_that_does_not_decode_fails_at_its_first_bad_chunk() {
    // A chunked blob of junk named as a tree: refused at chunk 0, and the
    // chunks still asked for are named to cancel.
    let junk = vec![0xff; 3 * kaichi_privatelog::blob::MAX_SINGLE_BLOCK];
    let blocks = split(&junk).unwrap();
    let by_cid: HashMap<Cid, Vec<u8>> = blocks.blocks.iter().cloned().collect();
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let mut a = Asker::new();
    s.start("junk", &[t(blocks.root)], MAX, Instant::now(), |c| a.ask(c));
    assert!(matches!(
        s.got(&1, by_cid[&blocks.root].clone(), Instant::now(), |c| a
            .ask(c)),
        Step::Waiting
    ));
    let Step::Failed(ab) = s.got(&2, by_cid[&a.asked[&2]].clone(), Instant::now(), |c| {
        a.ask(c)
    }) else {
        panic!("junk decoded")
    };
    assert!(ab.why.contains("length"), "{}", ab.why);
    assert_eq!(ab.cancel.len(), a.next as usize - 2);
    // A chunk that is not the one its place names fails too.
    let bytes = tree_of(20_000);
    let blocks = split(&bytes).unwrap();
    let mut a = Asker::new();
    s.start("swapped", &[t(blocks.root)], MAX, Instant::now(), |c| {
        a.ask(c)
    });
    let manifest = blocks.blocks[0].1.clone();
    assert!(matches!(
        s.got(&1, manifest, Instant::now(), |c| a.ask(c)),
        Step::Waiting
    ));
    let second = blocks.blocks[2].1.clone();
    assert!(matches!(
        s.got(&2, second, Instant::now(), |c| a.ask(c)),
        Step::Failed(_)
    ));
}

#[test]
fn each_block_moves_a_fetchs_deadline() {
    let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
    let mut a = Asker::new();
    let t0 = Instant::now();
    s.start("slow", &[b(raw(1).0), b(raw(2).0)], 1 << 20, t0, |c| {
        a.ask(c)
    });
    // The first block comes late, but comes: the fetch waits on.
    let late = t0 + GROUP_FETCH_TIMEOUT - Duration::from_secs(1);
    assert!(matches!(
        s.got(&1, raw(1).1, late, |c| a.ask(c)),
        Step::Waiting
    ));
    assert!(s.expired(t0 + GROUP_FETCH_TIMEOUT).is_empty());
    // Nothing more for the whole timeout after it: abandoned.
    let gone = s.expired(late + GROUP_FETCH_TIMEOUT);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].cancel, [2]);
}
