//! Attachments: a file sent as encrypted chunks linked from the entry,
//! fetched over Bitswap when the recipient saves it, byte for byte; limits
//! and unknown attachments are typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{memory_store, start, wait_for, within};
use kaichi_privatelog::attachment::{CHUNK_BYTES, MAX_ATTACHMENT_BYTES};
use kaichi_transport::{NodeError, NodeEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_arrives_whole_and_checked() {
    let alice = start(160, memory_store()).await;
    let mut bob = start(161, memory_store()).await;
    bob.node.dial(alice.addr.clone()).await.unwrap();
    alice.node.add_contact(bob.document.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Four full chunks and a partial one, not a multiple of anything.
    let data: Vec<u8> = (0..4 * CHUNK_BYTES + 12_345)
        .map(|i| (i * 7 % 253) as u8)
        .collect();
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, &data).unwrap();
    let mut reported = Vec::new();
    let cid = within(
        alice
            .node
            .send_file(&bob.wallet, &path, "a photo", |done, total| {
                reported.push((done, total))
            }),
    )
    .await
    .unwrap();
    assert_eq!(reported.len(), 5);
    assert_eq!(
        reported.last(),
        Some(&(data.len() as u64, data.len() as u64))
    );

    let got = wait_for(&mut bob.events, |e| match e {
        NodeEvent::MessageReceived { cid, text, .. } => Some((*cid, text.clone())),
        _ => None,
    })
    .await;
    assert_eq!(got, (cid, "a photo".to_owned()));
    let out = dir.path().join("saved.jpg");
    let mut last = 0;
    let attachment = within(bob.node.save_file(cid, 0, &out, |done, _| last = done))
        .await
        .unwrap();
    assert_eq!(attachment.name, "photo.jpg");
    assert_eq!(attachment.mime, "image/jpeg");
    assert_eq!(attachment.size, data.len() as u64);
    assert_eq!(last, data.len() as u64);
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert!(!dir.path().join("saved.jpg.partial").exists());

    // There is no second attachment, and no such message.
    let err = bob
        .node
        .save_file(cid, 1, &out, |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, NodeError::AttachmentNotFound { index: 1, .. }),
        "{err}"
    );
    let nothing = kaichi_privatelog::EntryCid::of(b"no such message");
    let err = bob
        .node
        .save_file(nothing, 0, &out, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::AttachmentNotFound { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_over_the_limit_and_missing_files_are_refused() {
    let alice = start(162, memory_store()).await;
    let (_, _, bob_doc) = common::identity(163);
    let bob = alice.node.add_contact(bob_doc).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A sparse file one byte over the limit: refused before anything is read.
    let big = dir.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_ATTACHMENT_BYTES + 1)
        .unwrap();
    let err = alice
        .node
        .send_file(bob.wallet, &big, "", |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::Attachment(_)), "{err}");
    let err = alice
        .node
        .send_file(bob.wallet, &dir.path().join("missing"), "", |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::File { .. }), "{err}");
    // Nothing was sent.
    assert!(
        alice
            .node
            .read(bob.wallet, 10)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
}
