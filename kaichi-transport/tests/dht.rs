//! The IPFS DHT: a sender who knows only a Solana wallet address finds the
//! recipient's identity document (provider record, IPNS record, document
//! over Bitswap); records are validated before storing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{identity, next_message, start, start_relay};
use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_identity::{IpnsKeypair, Timestamp};
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::NodeError;
use kaichi_transport::dht::{RecordError, validate_dht_record};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dm_by_wallet_address_alone() {
    let relay = start_relay(90).await;
    let mut bob = start(91, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    let alice = start(92, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    // Bob's node publishes his document to the DHT once it meets the relay.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // Alice knows only Bob's wallet address: no document exchanged.
    alice
        .node
        .send_dm(&bob.wallet, "found you by your wallet")
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut bob.events).await,
        "found you by your wallet"
    );

    // A wallet nobody published is reported as such.
    let stranger = kaichi_identity::wallet::KeypairWallet::from_secret_seed(&[93; 32]);
    let err = alice
        .node
        .send_dm(
            &kaichi_identity::wallet::WalletSigner::address(&stranger).to_string(),
            "hello?",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::DocumentNotFound(_)), "{err}");
}

#[test]
fn dht_records_are_validated() {
    let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let (wallet, keys, doc) = identity(94);
    // No namespace of Kaichi's own: a document under the old Kaichi keys,
    // or anything but /ipns/, is refused (IPFS DHT servers refuse them too).
    let mut key = b"/kaichi/id/".to_vec();
    key.extend_from_slice(&kaichi_identity::wallet::WalletSigner::address(&wallet).to_bytes());
    assert_eq!(
        validate_dht_record(&key, &doc, None, now),
        Err(RecordError::UnknownNamespace)
    );
    assert_eq!(
        validate_dht_record(b"/pk/x", &doc, None, now),
        Err(RecordError::UnknownNamespace)
    );
    assert!(matches!(
        validate_dht_record(b"/ipns/not-a-name", &doc, None, now),
        Err(RecordError::Name(_))
    ));

    // IPNS: valid for the name in the key; older sequences are refused.
    let ipns = keys.ipns();
    let rk = ipns.name().routing_key();
    let validity = now.checked_add(Duration::from_secs(3600)).unwrap();
    let r1 = create_record(
        ipns,
        &RecordParams::new("/ipfs/bafkqaddwgevxmmraojswg33smq", 1, validity),
    )
    .unwrap();
    let r2 = create_record(
        ipns,
        &RecordParams::new("/ipfs/bafkqaddwgevxmmraojswg33smq", 2, validity),
    )
    .unwrap();
    assert_eq!(validate_dht_record(&rk, &r2, Some(&r1), now), Ok(()));
    assert_eq!(
        validate_dht_record(&rk, &r1, Some(&r2), now),
        Err(RecordError::Stale)
    );
    let other = IpnsKeypair::from_seed(&[7; 32]).name().routing_key();
    assert!(matches!(
        validate_dht_record(&other, &r1, None, now),
        Err(RecordError::Ipns(_))
    ));
}

/// A lookup started the moment a node dials its first DHT peer (its
/// routing table still empty) waits for that peer instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_right_after_start_waits_for_the_dht() {
    let relay = start_relay(95).await;
    let mut bob = start(96, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let alice = start(97, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    // No pause: identify has not told Alice's DHT about the relay yet.
    alice
        .node
        .send_dm(&bob.wallet, "straight away")
        .await
        .unwrap();
    assert_eq!(next_message(&mut bob.events).await, "straight away");
}
