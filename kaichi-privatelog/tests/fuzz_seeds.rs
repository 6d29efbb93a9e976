//! Seed corpora for the privatelog fuzz targets (fuzz/seeds/<target>/), and
//! a check that the committed seeds still load: they double as fixtures of
//! the stored entry and CAR formats, so a change that stops old entries from
//! verifying fails here.
//!
//! Regenerate with:
//! `cargo test -p kaichi-privatelog --test fuzz_seeds -- --ignored`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use kaichi_test_support::seeds::{read_all, write};

use common::{keys, salt, text};
use kaichi_privatelog::car::{read_car, write_car};
use kaichi_privatelog::store::journal::{JournalStore, MemoryJournal};
use kaichi_privatelog::store::{LogStore, StoredConversation};
use kaichi_privatelog::{
    BlockCid, Conversation, Entry, EntryCid, IngestError, Message, MessageBody, Root, SealedEntry,
};

/// Alice (seed 1) -> Bob (seed 2): the conversation the fuzz targets use.
fn entries() -> Vec<Entry> {
    let (a, b) = (keys(1), keys(2));
    let mut ca = Conversation::new(&a, &b.public()).unwrap();
    let mut cb = Conversation::new(&b, &a.public()).unwrap();
    let e1 = ca.append(a.ipns(), &text("hello"), &salt(1)).unwrap();
    cb.ingest(e1.block(), None).unwrap();
    let e2 = cb.append(b.ipns(), &text("hi!"), &salt(2)).unwrap();
    ca.ingest(e2.block(), None).unwrap();
    let e3 = ca
        .append(
            a.ipns(),
            &Message {
                sent_at_ms: 3,
                body: MessageBody::Reaction {
                    target: e2.cid(),
                    reaction: "👍".into(),
                    remove: false,
                },
            },
            &salt(3),
        )
        .unwrap();
    vec![e1, e2, e3]
}

/// Alice's root over the seed conversation: her outbox's heads.
fn root(es: &[Entry]) -> Root {
    let (a, b) = (keys(1), keys(2));
    let mut ca = Conversation::new(&a, &b.public()).unwrap();
    for e in es {
        ca.ingest(e.block(), None).unwrap();
    }
    let mut root = Root::new(BlockCid::of(b"alice's document"));
    root.set_outbox(ca.outbox_tag(), ca.outbox_heads()).unwrap();
    root
}

/// The seed conversation in a journal store (Alice's side), framed as the
/// `journal_replay` target reads it: each record a little-endian u16
/// length and its bytes.
fn journal(es: &[Entry]) -> Vec<u8> {
    let (a, b) = (keys(1), keys(2));
    let store = JournalStore::new(MemoryJournal::new());
    let id = Conversation::new(&a, &b.public()).unwrap().id();
    store
        .save_conversation(&StoredConversation {
            id,
            peer: b.public(),
        })
        .unwrap();
    store
        .add_entries(&id, &es.iter().collect::<Vec<_>>())
        .unwrap();
    store.mark_delivered(&id, &[es[0].cid()]).unwrap();
    store.save_peer_document(&id, b"bob's document").unwrap();
    store.set_request(&id, true).unwrap();
    store.hold_invitation(&id, b"an invitation").unwrap();
    store.set_blocked(&keys(3).public().wallet, true).unwrap();
    let mut framed = Vec::new();
    for record in store.sink().records() {
        framed.extend_from_slice(&u16::try_from(record.len()).unwrap().to_le_bytes());
        framed.extend_from_slice(&record);
    }
    framed
}

#[test]
#[ignore = "writes fuzz/seeds; run on purpose to regenerate"]
fn write_fuzz_seeds() {
    let es = entries();
    for (i, e) in es.iter().enumerate() {
        write("entry_decode_verify", &format!("entry-v2-{i}"), e.block());
        write("envelope_open", &format!("envelope-v2-{i}"), e.envelope());
    }
    let car = write_car(
        &[es[2].cid().to_cid()],
        es.iter().map(|e| (e.cid().to_cid(), e.block())),
    );
    write("car_read", "conversation-v2.car", &car);
    write("car_read", "empty.car", &write_car(&[], []));
    write("root_decode", "root-v1", &root(&es).encode());
    write(
        "root_decode",
        "root-v1-empty",
        &Root::new(BlockCid::of(b"document")).encode(),
    );
    write("journal_replay", "conversation", &journal(&es));
    write(
        "log_merge_model",
        "appends-and-merges",
        &[0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 2, 3, 0, 1, 0, 2, 0, 0, 1],
    );
    write(
        "log_merge_model",
        "deliveries",
        &[1, 0, 0, 1, 0, 1, 0, 2, 2, 2, 0, 3, 1, 2, 0, 1],
    );
    // Appends, a forged entry, deliveries in order and out of it, settles.
    write(
        "log_settle",
        "appends-forgery-settles",
        &[
            0, 0, 0, 1, 0, 0, 2, 0, 0, 2, 0, 2, 0, 1, 0, 2, 1, 0, 2, 2, 0, 3, 1, 2, 3, 0, 2, 4, 0,
            3, 2, 1, 5, 0, 2, 3, 0, 2, 5, 0, 3, 0,
        ],
    );
}

#[test]
fn committed_seeds_still_load() {
    let (a, b) = (keys(1), keys(2));
    let mut bob = Conversation::new(&b, &a.public()).unwrap();
    let blocks = read_all("entry_decode_verify");
    assert_eq!(blocks.len(), 3);
    // They are the vectors docs/PROTOCOL.md lists, and still what this
    // version writes.
    let protocol = include_str!("../../docs/PROTOCOL.md");
    for ((name, block), entry) in blocks.iter().zip(entries()) {
        let line = format!("- `{name}`: `{}`", EntryCid::of(block));
        assert!(protocol.contains(&line), "PROTOCOL.md lacks {line}");
        assert_eq!(
            block,
            entry.block(),
            "{name} is no longer what append writes"
        );
    }
    for (name, block) in &blocks {
        bob.ingest(block, Some(&EntryCid::of(block)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let page = bob.page(None, 10);
    assert_eq!(page.messages.len(), 2);
    assert_eq!(page.messages[0].text, "hi!");
    assert_eq!(
        page.messages[0].reactions["👍"],
        vec![a.ipns().public().to_bytes()]
    );
    let journals = read_all("journal_replay");
    let (_, journal) = journals
        .iter()
        .find(|(name, _)| name == "conversation")
        .unwrap();
    assert_eq!(
        journal,
        &self::journal(&entries()),
        "the journal format changed"
    );
    let cars = read_all("car_read");
    let (_, car) = cars
        .iter()
        .find(|(name, _)| name == "conversation-v2.car")
        .unwrap();
    let car = read_car(car).unwrap();
    assert_eq!(car.blocks.len(), 3);
    let roots = read_all("root_decode");
    let (_, block) = roots.iter().find(|(name, _)| name == "root-v1").unwrap();
    let decoded = Root::decode(block).unwrap();
    assert_eq!(decoded, root(&entries()));
    // Alice's outbox: "hello" then the reaction, one head.
    assert_eq!(decoded.outboxes().next().unwrap().1, &[entries()[2].cid()]);
}

/// An entry in the retired version-1 (protobuf) format is refused with a
/// typed error, and nothing is stored.
#[test]
fn version_1_entries_are_refused() {
    let (a, b) = (keys(1), keys(2));
    let mut bob = Conversation::new(&b, &a.public()).unwrap();
    let old = include_bytes!("fixtures/entry-v1.bin");
    assert_eq!(
        SealedEntry::decode(old, None),
        Err(IngestError::LegacyFormat)
    );
    assert_eq!(bob.ingest(old, None), Err(IngestError::LegacyFormat));
    assert_eq!(bob.page(None, 10).messages.len(), 0);
}
