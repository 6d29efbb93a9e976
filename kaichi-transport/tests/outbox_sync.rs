//! IPNS as the way in: a reader who knows only the author's wallet (or
//! IPNS name) and reaches any node holding the blocks rebuilds the
//! conversation (resolve, fetch the root, fetch every entry it leads to,
//! verify, merge), with no notification ever received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{memory_store, start, within};
use kaichi_privatelog::Root;
use kaichi_transport::NodeError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_rebuilds_an_outbox_through_the_authors_ipns_root() {
    // A relay that pins what its users publish and is the DHT, but holds
    // notifications for no time: the only way to Alice's messages is her
    // root.
    let relay_store = memory_store();
    let relay = common::start_pinning_relay(150, relay_store.clone()).await;
    let alice = common::start_fast_root(151, memory_store()).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    let (_, bob_keys, bob_doc) = common::identity(152);
    alice.node.add_contact(bob_doc).await.unwrap();
    // Bob is offline: nobody is told of these.
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(
            alice
                .node
                .send_dm(bob_keys.wallet(), &format!("message {i}"))
                .await
                .unwrap(),
        );
    }
    // The relay's copy of Alice's record points at a root that lists her
    // latest entry; the relay holds that root.
    within(async {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let Ok(record) = relay.node.resolve(alice.keys.ipns().name()).await else {
                continue;
            };
            let cid = kaichi_transport::dht::root_cid(record.value_str().unwrap()).unwrap();
            let Ok(block) = relay.node.get_block(&cid.to_cid()).await else {
                continue;
            };
            let root = Root::decode(&block).unwrap();
            if root
                .outboxes()
                .next()
                .is_some_and(|(_, heads)| heads.contains(sent.last().unwrap()))
            {
                break;
            }
        }
    })
    .await;
    // The relay walked Alice's root and pinned every entry (pushed to it or
    // not); then Alice goes offline.
    common::until_pinned(&relay_store, &sent).await;
    alice.node.shutdown().await;

    // Bob comes online knowing only Alice's wallet and syncs: every entry
    // arrives from the relay, verified.
    let bob = start(152, memory_store()).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = within(bob.node.sync(alice.keys.wallet())).await.unwrap();
    assert_eq!(report.new_entries, 5);
    let page = bob.node.read(alice.keys.wallet(), 10).await.unwrap();
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "message 4",
            "message 3",
            "message 2",
            "message 1",
            "message 0"
        ]
    );
    // Nothing new the second time.
    let again = within(bob.node.sync(alice.keys.ipns().name()))
        .await
        .unwrap();
    assert_eq!(again.new_entries, 0);
    assert_eq!(again.entries, 5);

    // A name nobody published is a typed error.
    let (_, stranger, _) = common::identity(153);
    let err = within(bob.node.sync(stranger.ipns().name()))
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::DocumentNotFound(_)), "{err}");
}
