//! Conversations between two identities: append, ingest, view, rejection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{keys, pair, salt, text};
use kaichi_privatelog::{
    Conversation, ConversationKeyError, EntryCid, IngestError, Message, MessageBody,
};

#[test]
fn both_sides_derive_the_same_conversation() {
    let (_, ca, _, cb) = pair();
    assert_eq!(ca.id(), cb.id());
    let c = keys(3);
    let other = Conversation::new(&keys(1), &c.public()).unwrap();
    assert_ne!(other.id(), ca.id());
    assert_eq!(
        Conversation::new(&keys(1), &keys(1).public()).unwrap_err(),
        ConversationKeyError::SameIdentity
    );
}

#[test]
fn messages_flow_both_ways_and_views_agree() {
    let (a, mut ca, b, mut cb) = pair();
    let e1 = ca.append(a.ipns(), &text("hi bob"), &salt(1)).unwrap();
    assert!(cb.ingest(e1.block(), Some(&e1.cid())).unwrap().new);
    let e2 = cb.append(b.ipns(), &text("hi alice"), &salt(2)).unwrap();
    assert_eq!(e2.parents(), &[e1.cid()]);
    assert_eq!(e2.clock(), 2);
    ca.ingest(e2.block(), Some(&e2.cid())).unwrap();
    // Concurrent messages.
    let e3 = ca.append(a.ipns(), &text("one"), &salt(3)).unwrap();
    let e4 = cb.append(b.ipns(), &text("two"), &salt(4)).unwrap();
    ca.ingest(e4.block(), None).unwrap();
    cb.ingest(e3.block(), None).unwrap();
    assert_eq!(ca.heads(), cb.heads());
    assert_eq!(ca.heads().len(), 2);
    let (pa, pb) = (ca.page(None, 10), cb.page(None, 10));
    let texts = |p: &kaichi_privatelog::Page| {
        p.messages
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&pa), texts(&pb));
    assert_eq!(
        texts(&pa)[2..],
        ["hi alice".to_owned(), "hi bob".to_owned()]
    );
    assert!(pa.messages.iter().any(|m| m.mine) && pa.messages.iter().any(|m| !m.mine));
    // The next append joins both heads.
    let e5 = ca.append(a.ipns(), &text("joined"), &salt(5)).unwrap();
    assert_eq!(e5.parents().len(), 2);
    assert_eq!(e5.clock(), 4);
}

#[test]
fn duplicates_and_replays_change_nothing() {
    let (a, mut ca, _, mut cb) = pair();
    let e = ca.append(a.ipns(), &text("once"), &salt(1)).unwrap();
    assert!(cb.ingest(e.block(), None).unwrap().new);
    for _ in 0..3 {
        assert!(!cb.ingest(e.block(), Some(&e.cid())).unwrap().new);
    }
    assert_eq!(cb.len(), 1);
    assert_eq!(cb.page(None, 10).messages.len(), 1);
}

#[test]
fn out_of_order_delivery_reports_gaps_then_fills_them() {
    let (a, mut ca, _, mut cb) = pair();
    let e1 = ca.append(a.ipns(), &text("1"), &salt(1)).unwrap();
    let e2 = ca.append(a.ipns(), &text("2"), &salt(2)).unwrap();
    let e3 = ca.append(a.ipns(), &text("3"), &salt(3)).unwrap();
    cb.ingest(e3.block(), None).unwrap();
    assert_eq!(cb.missing(), vec![e2.cid()]);
    assert_eq!(cb.page(None, 10).messages.len(), 1);
    cb.ingest(e1.block(), None).unwrap();
    assert_eq!(cb.missing(), vec![e2.cid()]);
    cb.ingest(e2.block(), None).unwrap();
    assert!(cb.missing().is_empty());
    let view: Vec<String> = cb
        .page(None, 10)
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(view, ["3", "2", "1"]);
}

#[test]
fn edits_deletes_and_reactions_apply_in_the_view() {
    let (a, mut ca, b, mut cb) = pair();
    let m = ca.append(a.ipns(), &text("helo"), &salt(1)).unwrap();
    let gone = ca.append(a.ipns(), &text("oops"), &salt(2)).unwrap();
    let send = |from: &mut Conversation,
                to: &mut Conversation,
                k: &kaichi_identity::IpnsKeypair,
                body: MessageBody,
                s| {
        let e = from
            .append(
                k,
                &Message {
                    sent_at_ms: 0,
                    body,
                },
                &salt(s),
            )
            .unwrap();
        to.ingest(e.block(), None).unwrap();
        e
    };
    for e in [&m, &gone] {
        cb.ingest(e.block(), None).unwrap();
    }
    send(
        &mut ca,
        &mut cb,
        a.ipns(),
        MessageBody::Edit {
            target: m.cid(),
            text: "hello".into(),
        },
        3,
    );
    send(
        &mut ca,
        &mut cb,
        a.ipns(),
        MessageBody::Delete { target: gone.cid() },
        4,
    );
    // Bob may not edit or delete Alice's message.
    send(
        &mut cb,
        &mut ca,
        b.ipns(),
        MessageBody::Edit {
            target: m.cid(),
            text: "pwned".into(),
        },
        5,
    );
    send(
        &mut cb,
        &mut ca,
        b.ipns(),
        MessageBody::Reaction {
            target: m.cid(),
            reaction: "👍".into(),
            remove: false,
        },
        6,
    );
    send(
        &mut ca,
        &mut cb,
        a.ipns(),
        MessageBody::Reaction {
            target: m.cid(),
            reaction: "👍".into(),
            remove: false,
        },
        7,
    );
    send(
        &mut ca,
        &mut cb,
        a.ipns(),
        MessageBody::Reaction {
            target: m.cid(),
            reaction: "👍".into(),
            remove: true,
        },
        8,
    );
    for conv in [&ca, &cb] {
        let page = conv.page(None, 10);
        assert_eq!(
            page.messages.len(),
            2,
            "edits, deletes and reactions are not messages"
        );
        let deleted = &page.messages[0];
        assert!(deleted.deleted && deleted.text.is_empty());
        let edited = &page.messages[1];
        assert_eq!(edited.text, "hello");
        assert!(edited.edited);
        assert_eq!(edited.reactions.get("👍").map(Vec::len), Some(1));
        assert_eq!(edited.reactions["👍"][0], b.ipns().public().to_bytes());
    }
}

#[test]
fn read_markers_track_the_latest_per_author() {
    let (a, mut ca, b, mut cb) = pair();
    let m1 = ca.append(a.ipns(), &text("1"), &salt(1)).unwrap();
    let m2 = ca.append(a.ipns(), &text("2"), &salt(2)).unwrap();
    for e in [&m1, &m2] {
        cb.ingest(e.block(), None).unwrap();
    }
    assert_eq!(ca.read_marker(&b.ipns().public()), None);
    for (i, up_to) in [m1.cid(), m2.cid()].into_iter().enumerate() {
        let r = cb
            .append(
                b.ipns(),
                &Message {
                    sent_at_ms: 0,
                    body: MessageBody::ReadMarker { up_to },
                },
                &salt(10 + i as u64),
            )
            .unwrap();
        ca.ingest(r.block(), None).unwrap();
    }
    assert_eq!(ca.read_marker(&b.ipns().public()), Some(m2.cid()));
    assert_eq!(ca.read_marker(&a.ipns().public()), None);
    // Markers are not messages.
    assert_eq!(ca.page(None, 10).messages.len(), 2);
}

#[test]
fn paging_walks_the_whole_view_newest_first() {
    let (a, mut ca, _, _) = pair();
    let mut cids = Vec::new();
    for i in 0..25u64 {
        cids.push(
            ca.append(a.ipns(), &text(&i.to_string()), &salt(i))
                .unwrap()
                .cid(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = ca.page(cursor.as_ref(), 7);
        seen.extend(page.messages.iter().map(|m| m.cid));
        match page.next {
            Some(c) => {
                let text = c.to_string();
                cursor = Some(text.parse().unwrap());
            }
            None => break,
        }
    }
    cids.reverse();
    assert_eq!(seen, cids);
}

#[test]
fn forged_and_foreign_entries_are_rejected_without_change() {
    let (a, mut ca, _, mut cb) = pair();
    let e = ca.append(a.ipns(), &text("real"), &salt(1)).unwrap();
    // A third party in their own conversation with Bob.
    let mallory = keys(9);
    let mut cm = Conversation::new(&mallory, &keys(2).public()).unwrap();
    let foreign = cm.append(mallory.ipns(), &text("hi"), &salt(2)).unwrap();
    assert!(matches!(
        cb.ingest(foreign.block(), None),
        Err(IngestError::UnknownAuthor)
    ));

    // Flipping any byte of a real entry is rejected, never a panic.
    let block = e.block().to_vec();
    for i in 0..block.len() {
        let mut bad = block.clone();
        bad[i] ^= 0x01;
        assert!(cb.ingest(&bad, None).is_err(), "byte {i}");
    }
    // A CID mismatch.
    assert!(matches!(
        cb.ingest(&block, Some(&EntryCid::of(b"other"))),
        Err(IngestError::CidMismatch { .. })
    ));
    // Garbage and oversize.
    assert!(cb.ingest(&[0xff; 40], None).is_err());
    assert!(matches!(
        cb.ingest(&vec![0; 200_000], None),
        Err(IngestError::TooLarge { .. })
    ));
    assert!(cb.is_empty());
    assert!(cb.ingest(&block, None).unwrap().new);
}

#[test]
fn devices_sign_for_their_identity_once_granted() {
    use kaichi_identity::document::{DeviceGrant, DeviceRequest, DocumentBuilder, verify_document};
    use kaichi_identity::wallet::KeypairWallet;
    use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};

    let now = Timestamp::from_unix_secs(1_795_000_000);
    let (aw, phone_w) = (
        KeypairWallet::from_secret_seed(&[1; 32]),
        KeypairWallet::from_secret_seed(&[7; 32]),
    );
    let a = IdentityKeys::derive(&aw, KeyEpoch::ZERO).unwrap();
    let phone = IdentityKeys::derive(&phone_w, KeyEpoch::ZERO).unwrap();
    let req = DeviceRequest::create(&phone_w, &phone, a.ipns().name()).unwrap();
    let grant = DeviceGrant::issue(&a, &req, zeroize::Zeroizing::new([4; 32]), now).unwrap();
    let doc = DocumentBuilder::new(&a, now, std::time::Duration::from_secs(86_400))
        .device(grant)
        .sign(&aw)
        .unwrap();
    let doc = verify_document(&doc, now).unwrap();
    let b = keys(2);

    // The phone, holding Alice's granted keys, writes with its own key.
    let on_phone = doc.open_grant(&phone).unwrap();
    let mut phone_conv = Conversation::new(&on_phone, &b.public()).unwrap();
    assert!(
        phone_conv
            .append(phone.ipns(), &text("x"), &salt(1))
            .is_err()
    );
    phone_conv.authorise_devices(&doc);
    let e = phone_conv
        .append(phone.ipns(), &text("from my phone"), &salt(1))
        .unwrap();
    assert_eq!(e.signer(), Some(&phone.ipns().public()));

    // Bob accepts it only after learning the grant.
    let mut cb = Conversation::new(&b, &a.public()).unwrap();
    assert_eq!(
        cb.ingest(e.block(), None).unwrap_err(),
        IngestError::UnauthorisedSigner
    );
    assert!(cb.is_empty());
    cb.authorise_devices(&doc);
    assert!(cb.ingest(e.block(), None).unwrap().new);
    assert_eq!(
        cb.page(None, 1).messages[0].author,
        a.ipns().public().to_bytes()
    );
    // Neither the author nor the device shows in the block.
    let block = e.block();
    for key in [a.ipns().public(), phone.ipns().public(), b.ipns().public()] {
        let key = key.to_bytes();
        assert!(!block.windows(32).any(|w| w == key));
    }

    // Alice revokes the phone: a newer document without its grant. Bob
    // refuses what the phone writes from then on, keeps what it wrote
    // before (also when loading it again), and an older document does not
    // bring the grant back.
    let later = Timestamp::from_unix_nanos(now.unix_nanos() + 1_000_000_000);
    let revoked = DocumentBuilder::new(&a, later, std::time::Duration::from_secs(86_400))
        .sign(&aw)
        .unwrap();
    let revoked = verify_document(&revoked, later).unwrap();
    let after = phone_conv
        .append(phone.ipns(), &text("after revocation"), &salt(2))
        .unwrap();
    cb.authorise_devices(&revoked);
    assert_eq!(
        cb.ingest(after.block(), None).unwrap_err(),
        IngestError::UnauthorisedSigner
    );
    cb.authorise_devices(&doc);
    assert_eq!(
        cb.ingest(after.block(), None).unwrap_err(),
        IngestError::UnauthorisedSigner
    );
    assert_eq!(cb.len(), 1);
    let mut reloaded = Conversation::new(&b, &a.public()).unwrap();
    reloaded.authorise_devices(&revoked);
    assert!(reloaded.ingest_stored(e.block()).unwrap().new);
}

/// What an observer of the blocks (a relay, an IPFS node, anyone walking the
/// DAG from a root) sees names nobody: no participant's key is in any block,
/// the author tag differs per conversation, and a third identity can neither
/// open an entry nor test a guess of its author against it.
#[test]
fn entries_do_not_name_their_participants() {
    let (a, mut ca, b, mut cb) = pair();
    let carol = keys(3);
    let mut a_carol = Conversation::new(&a, &carol.public()).unwrap();
    let to_bob = ca.append(a.ipns(), &text("hi bob"), &salt(1)).unwrap();
    cb.ingest(to_bob.block(), None).unwrap();
    let reply = cb.append(b.ipns(), &text("hi"), &salt(2)).unwrap();
    let to_carol = a_carol
        .append(a.ipns(), &text("hi carol"), &salt(3))
        .unwrap();
    for block in [to_bob.block(), reply.block(), to_carol.block()] {
        for who in [&a, &b, &carol] {
            let key = who.ipns().public().to_bytes();
            assert!(!block.windows(32).any(|w| w == key));
            let dm = who.public().dm.to_bytes();
            assert!(!block.windows(32).any(|w| w == dm));
        }
    }
    // Alice's tag in her conversation with Bob is not her tag with Carol.
    assert_ne!(to_bob.sealed().log(), to_carol.sealed().log());
    // Carol, in her own conversation with Alice, cannot take Bob's entry.
    let mut carol_a = Conversation::new(&carol, &a.public()).unwrap();
    assert!(matches!(
        carol_a.ingest(to_bob.block(), None),
        Err(IngestError::UnknownAuthor)
    ));
    assert!(carol_a.ingest(to_carol.block(), None).unwrap().new);
}

#[test]
fn history_is_recoverable_from_the_wallet_alone() {
    // A fresh device of Alice's re-derives keys from the wallet and reads
    // everything, including Bob's side, from the blocks.
    let (a, mut ca, b, mut cb) = pair();
    let mut blocks = Vec::new();
    blocks.push(
        ca.append(a.ipns(), &text("1"), &salt(1))
            .unwrap()
            .block()
            .to_vec(),
    );
    cb.ingest(&blocks[0], None).unwrap();
    blocks.push(
        cb.append(b.ipns(), &text("2"), &salt(2))
            .unwrap()
            .block()
            .to_vec(),
    );
    let restored = keys(1);
    let mut fresh = Conversation::new(&restored, &b.public()).unwrap();
    for blk in blocks.iter().rev() {
        fresh.ingest(blk, None).unwrap();
    }
    let view: Vec<String> = fresh
        .page(None, 10)
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(view, ["2", "1"]);
}
