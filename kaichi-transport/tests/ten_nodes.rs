//! Ten Kaichi nodes on loopback forming one IPFS DHT. The author joins
//! through one node and the reader through another, two hops apart; neither
//! is told the other's address. The reader knows only the author's wallet:
//! it finds the author through the wallet's provider record, resolves the
//! IPNS record, reaches the author at the address the DHT gives, and
//! fetches root, document and entries over Bitswap. (With ten nodes and
//! k = 20 the DHT's own traffic soon connects every pair, so what is
//! checked is that nothing but the DHT told them about each other.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{memory_store, start, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_two_hops_away_finds_and_reads_an_author() {
    // Eight DHT nodes: 170 is the bootstrap, the rest join through it.
    let mut dht = vec![start(170, memory_store()).await];
    for seed in 171..178 {
        let n = start(seed, memory_store()).await;
        n.node.dial(dht[0].addr.clone()).await.unwrap();
        dht.push(n);
    }
    // The author joins through 171, the reader through 177.
    let author = start(178, memory_store()).await;
    author.node.dial(dht[1].addr.clone()).await.unwrap();
    let reader = start(179, memory_store()).await;
    reader.node.dial(dht[7].addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    author
        .node
        .add_contact(reader.document.clone())
        .await
        .unwrap();
    for i in 0..3 {
        author
            .node
            .send_dm(&reader.wallet, &format!("hop {i}"))
            .await
            .unwrap();
    }
    // The author's root lists the three entries once republished; the
    // reader syncs until they are there.
    let texts = within(async {
        loop {
            let _ = reader.node.sync(&author.wallet).await;
            let page = reader.node.read(&author.wallet, 10).await;
            if let Ok(page) = page
                && page.messages.len() == 3
            {
                break page
                    .messages
                    .iter()
                    .map(|m| m.text.clone())
                    .collect::<Vec<_>>();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    assert_eq!(texts, ["hop 2", "hop 1", "hop 0"]);
}

/// The author is offline; what it wrote lives on a pinning relay among the
/// ten, which the reader does not know: the root and the entries are found
/// through the relay's provider records and fetched over Bitswap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_are_found_through_provider_records_with_the_author_offline() {
    let mut dht = vec![start(180, memory_store()).await];
    for seed in 181..187 {
        let n = start(seed, memory_store()).await;
        n.node.dial(dht[0].addr.clone()).await.unwrap();
        dht.push(n);
    }
    // A relay that pins what its users push, holding notifications for no
    // time (so nothing reaches the reader but through the DHT).
    let relay_store = memory_store();
    let relay = common::start_pinning_relay(187, relay_store.clone()).await;
    relay.node.dial(dht[0].addr.clone()).await.unwrap();
    let author = common::start_fast_root(188, memory_store()).await;
    author.node.dial(relay.addr.clone()).await.unwrap();
    author.node.dial(dht[1].addr.clone()).await.unwrap();
    let (_, reader_keys, reader_doc) = common::identity(189);
    author.node.add_contact(reader_doc).await.unwrap();
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(
            author
                .node
                .send_dm(reader_keys.wallet(), &format!("pinned {i}"))
                .await
                .unwrap(),
        );
    }
    // The relay walked the author's latest root and pinned every entry.
    common::until_pinned(&relay_store, &sent).await;
    // The author's DHT records are out before it goes: Kademlia reports a
    // provider record published once its messages are queued, so a DHT
    // node must find the author by its wallet alone first (otherwise the
    // author may shut down with its wallet's provider record unsent).
    common::within(async {
        while dht[5].node.sync(&author.wallet).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    author.node.shutdown().await;

    let reader = start(189, memory_store()).await;
    reader.node.dial(dht[6].addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Up to a minute: on a loaded 2-core machine the eleven nodes' DHT
    // takes a while to settle around the newcomer (what this checks is that
    // the blocks are found at all with the author gone, not how fast).
    let report = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match reader.node.sync(&author.wallet).await {
                Ok(r) => break r,
                Err(e) => {
                    eprintln!("sync attempt: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
            }
        }
    })
    .await
    .expect("the reader never synced");
    assert_eq!(report.entries, 3);
    let page = reader.node.read(&author.wallet, 10).await.unwrap();
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["pinned 2", "pinned 1", "pinned 0"]);
}
