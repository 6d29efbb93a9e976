//! `Node::builder`: from a wallet and a directory to a running node whose
//! signed identity document references a published KeyPackage; a restart
//! reuses the same state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_identity::Timestamp;
use kaichi_identity::document::verify_document;
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_transport::{DATABASE_FILE, Node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_starts_a_node_from_a_wallet_and_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("profiles").join("alice");
    let wallet = KeypairWallet::from_secret_seed(&[41; 32]);
    let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let start = || {
        Node::builder(&wallet, &home)
            .configure(|c| c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap()))
            .start()
    };

    let (node, _events) = start().await.unwrap();
    let doc = verify_document(&node.identity_document(), now).unwrap();
    assert_eq!(doc.public().wallet, wallet.address());
    assert_eq!(doc.public().ipns_name(), node.name());
    assert_eq!(
        doc.key_packages().len(),
        1,
        "the document references a KeyPackage"
    );
    assert!(home.join(DATABASE_FILE).exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&home).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the home holds MLS secrets");
    }
    node.shutdown().await;

    let (again, _events) = start().await.unwrap();
    let doc_again = verify_document(&again.identity_document(), now).unwrap();
    assert_eq!(again.name(), node.name());
    assert_eq!(
        doc_again.key_packages(),
        doc.key_packages(),
        "the published KeyPackage is reused across restarts"
    );
    again.shutdown().await;

    let (memory, _events) = Node::in_memory(&wallet).start().await.unwrap();
    let doc = verify_document(&memory.identity_document(), now).unwrap();
    assert!(
        doc.key_packages().is_empty(),
        "an in-memory node publishes no KeyPackage"
    );
    memory.shutdown().await;
}

/// `Node::set_identity_document`: a running node takes a newer document of
/// its own identity (publishing a root that links it) and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_takes_only_a_newer_document_of_its_own_identity() {
    use kaichi_identity::document::{DocumentBuilder, DocumentError};
    use kaichi_identity::{IdentityKeys, KeyEpoch};
    use kaichi_transport::{DEFAULT_DOCUMENT_LIFETIME, NodeError};

    let wallet = KeypairWallet::from_secret_seed(&[42; 32]);
    let (node, _events) = Node::in_memory(&wallet).start().await.unwrap();
    let first = node.identity_document().to_vec();
    let now = || Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let sign = |wallet: &KeypairWallet| {
        let keys = IdentityKeys::derive(wallet, KeyEpoch::new(0)).unwrap();
        DocumentBuilder::new(&keys, now(), DEFAULT_DOCUMENT_LIFETIME)
            .sign(wallet)
            .unwrap()
    };

    let same = node.set_identity_document(first.clone()).await;
    assert!(
        matches!(same, Err(NodeError::StaleDocument { .. })),
        "{same:?}"
    );
    let other = sign(&KeypairWallet::from_secret_seed(&[43; 32]));
    let foreign = node.set_identity_document(other).await;
    assert!(
        matches!(
            foreign,
            Err(NodeError::Document(DocumentError::NameMismatch { .. }))
        ),
        "{foreign:?}"
    );
    let garbage = node.set_identity_document(vec![0x0a, 0xff, 1]).await;
    assert!(
        matches!(garbage, Err(NodeError::Document(_))),
        "{garbage:?}"
    );
    assert_eq!(
        &*node.identity_document(),
        first.as_slice(),
        "nothing changed"
    );

    let newer = sign(&wallet);
    node.set_identity_document(newer.clone()).await.unwrap();
    assert_eq!(&*node.identity_document(), newer.as_slice());
    let root = node.root().await.unwrap().expect("a root was published");
    let block = node.get_block(&root.to_cid()).await.unwrap();
    let root = kaichi_privatelog::Root::decode(&block).unwrap();
    assert_eq!(root.document(), kaichi_privatelog::BlockCid::of(&newer));
    // The older one cannot come back.
    let back = node.set_identity_document(first).await;
    assert!(
        matches!(back, Err(NodeError::StaleDocument { .. })),
        "{back:?}"
    );
    node.shutdown().await;
}
