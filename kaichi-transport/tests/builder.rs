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
    let doc = verify_document(node.identity_document(), now).unwrap();
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
    let doc_again = verify_document(again.identity_document(), now).unwrap();
    assert_eq!(again.name(), node.name());
    assert_eq!(
        doc_again.key_packages(),
        doc.key_packages(),
        "the published KeyPackage is reused across restarts"
    );
    again.shutdown().await;

    let (memory, _events) = Node::in_memory(&wallet).start().await.unwrap();
    let doc = verify_document(memory.identity_document(), now).unwrap();
    assert!(
        doc.key_packages().is_empty(),
        "an in-memory node publishes no KeyPackage"
    );
    memory.shutdown().await;
}
