//! Seed corpora for the transport's fuzz targets (fuzz/seeds/<target>/),
//! and a check that the committed seeds still decode: a sealed notification
//! to the fixture identity, block-exchange frames, and DHT records.
//!
//! Regenerate with:
//! `cargo test -p kaichi-transport --test fuzz_seeds -- --ignored`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_test_support::seeds::{NOW_UNIX_SECS, read_all, write};
use std::time::Duration;

use kaichi_groups::KeyPackageRef;
use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use kaichi_transport::dht::validate_dht_record;
use kaichi_transport::exchange::{BlockRequest, BlockResponse};
use kaichi_transport::notification::{GroupInvitation, Notification};
use kaichi_transport::welcome_index::WelcomeIndex;
use prost::Message as _;
use zeroize::Zeroizing;

/// The `now` every fuzz target uses.
const NOW: Timestamp = Timestamp::from_unix_secs(NOW_UNIX_SECS);
const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

fn fixture(seed: u8) -> (KeypairWallet, IdentityKeys, Vec<u8>) {
    let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
    let doc = DocumentBuilder::new(&keys, NOW, CENTURY)
        .sign(&wallet)
        .unwrap();
    (wallet, keys, doc)
}

fn framed(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

#[test]
#[ignore = "writes fuzz/seeds; run on purpose to regenerate"]
fn write_seeds() {
    let (_, recipient, recipient_doc) = fixture(1);
    let (_, _, sender_doc) = fixture(2);
    let dm = Notification {
        sender_document: sender_doc.clone(),
        conversation: vec![7; 32],
        heads: vec![vec![1, 0x55, 0x12, 0x20, 3]],
        blocks: vec![b"a block".to_vec()],
        ..Default::default()
    };
    let invite = Notification {
        sender_document: sender_doc,
        invitation: Some(GroupInvitation {
            group: vec![5; 32],
            welcome: vec![1, 0x55, 0x12, 0x20],
            ratchet_tree: vec![1, 0x55, 0x12, 0x20],
            addresses: vec![b"/ip4/127.0.0.1/tcp/1".to_vec()],
            split_welcome: false,
        }),
        ..Default::default()
    };
    let join_request = Notification {
        sender_document: recipient_doc.clone(),
        join_request: Some(kaichi_transport::notification::JoinRequest {
            group: vec![5; 32],
            key_package: b"a key package".to_vec(),
            nonce: vec![9; 16],
            sent_at_ms: 1_700_000_000_000,
        }),
        ..Default::default()
    };
    let join_refusal = Notification {
        sender_document: recipient_doc.clone(),
        join_refusal: Some(kaichi_transport::notification::JoinRefusal {
            group: vec![5; 32],
            nonce: vec![9; 16],
            reason: 1,
            held: 3,
            needed: 10,
        }),
        ..Default::default()
    };
    for (name, n) in [
        ("dm", dm),
        ("invitation", invite),
        ("join_request", join_request),
        ("join_refusal", join_refusal),
    ] {
        let sealed = n
            .seal(&recipient.public().dm, Zeroizing::new([3; 32]))
            .unwrap();
        write("notification_open", name, &sealed);
    }

    let request = BlockRequest {
        mailbox: true,
        group: vec![5; 32],
        since_epoch: 3,
        token_groups: vec![2; 32],
        ..Default::default()
    };
    write(
        "block_exchange_decode",
        "request",
        &framed(&request.encode_to_vec()),
    );
    let response = BlockResponse {
        notifications: vec![b"sealed".to_vec()],
        group_messages: vec![b"mls".to_vec()],
        token_groups: vec![kaichi_transport::exchange::TokenGroupAnnouncement {
            group: vec![5; 32],
            name: "holders".into(),
            mint: vec![2; 32],
            minimum: 10,
        }],
    };
    write(
        "block_exchange_decode",
        "response",
        &framed(&response.encode_to_vec()),
    );
    write(
        "block_exchange_decode",
        "oversized",
        &u32::MAX.to_be_bytes(),
    );

    // First byte: 0 = the fixture's /ipns/ key, 1 = another name's, 2 = raw key.
    write(
        "dht_record_validate",
        "document-under-ipns-key",
        &[&[0u8][..], &recipient_doc].concat(),
    );
    let params = RecordParams::new(
        "/ipfs/bafkqaddwgevxmmraojswg33smq",
        1,
        NOW.checked_add(CENTURY).unwrap(),
    );
    let record = create_record(recipient.ipns(), &params).unwrap();
    write(
        "dht_record_validate",
        "ipns-record",
        &[&[0u8][..], &record].concat(),
    );
    write(
        "dht_record_validate",
        "ipns-record-other-name",
        &[&[1u8][..], &record].concat(),
    );
    write("dht_record_validate", "other-namespace", b"\x02/other/key");
    write(
        "welcome_split",
        "index",
        &[&[3u8][..], &welcome_index()].concat(),
    );
}

/// A split Welcome's index of two shards.
fn welcome_index() -> Vec<u8> {
    let cid = |b: &[u8]| kaichi_privatelog::BlockCid::of(b).to_cid();
    let first = |b: u8| KeyPackageRef::from_slice(&[b; 32]).unwrap();
    WelcomeIndex::new(
        cid(b"header"),
        vec![(first(1), cid(b"shard 1")), (first(9), cid(b"shard 2"))],
    )
    .unwrap()
    .encode()
}

#[test]
fn committed_seeds_still_decode() {
    let (_, recipient, _) = fixture(1);
    let opened = read_all("notification_open")
        .iter()
        .filter(|(_, s)| Notification::open(recipient.dm(), s).is_ok())
        .count();
    assert_eq!(opened, 4, "every sealed notification opens");

    let decoded = read_all("block_exchange_decode")
        .iter()
        .filter(|(_, s)| {
            s.len() >= 4
                && (BlockRequest::decode(&s[4..]).is_ok() || BlockResponse::decode(&s[4..]).is_ok())
                && u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize == s.len() - 4
        })
        .count();
    assert_eq!(decoded, 2, "the request and the response decode");

    let keys = [
        recipient.ipns().name().routing_key(),
        kaichi_identity::IpnsKeypair::from_seed(&[2; 32])
            .name()
            .routing_key(),
    ];
    let valid: Vec<String> = read_all("dht_record_validate")
        .into_iter()
        .filter(|(_, s)| {
            let kind = usize::from(s[0]);
            kind < 2 && validate_dht_record(&keys[kind], &s[1..], None, NOW).is_ok()
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        valid,
        ["ipns-record"],
        "only the IPNS record under its own name validates"
    );
    let index = read_all("welcome_split")
        .into_iter()
        .find(|(name, _)| name == "index")
        .expect("the index seed");
    assert_eq!(index.1[1..], welcome_index(), "the index seed is current");
    assert_eq!(
        WelcomeIndex::decode(&index.1[1..]).unwrap().shards().len(),
        2
    );
}
