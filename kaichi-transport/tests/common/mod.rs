//! Shared fixtures: identities, documents and nodes on loopback.
#![allow(
    dead_code,
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use kaichi_identity::IdentityKeys;
use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::wallet::KeypairWallet;
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeConfig, NodeConfigBuilder, NodeEvent};
use tokio::sync::mpsc;

pub struct Peer {
    pub node: Node,
    pub events: mpsc::Receiver<NodeEvent>,
    pub keys: IdentityKeys,
    pub document: Vec<u8>,
    pub addr: Multiaddr,
    pub wallet: String,
}

pub use kaichi_test_support::identity::identity;

/// An in-memory store.
pub fn memory_store() -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open_in_memory().unwrap())
}

pub async fn start(seed: u8, store: Arc<SqliteStore>) -> Peer {
    start_with(seed, store, false).await
}

pub async fn start_relay(seed: u8) -> Peer {
    start_with(seed, Arc::new(SqliteStore::open_in_memory().unwrap()), true).await
}

pub async fn start_with(seed: u8, store: Arc<SqliteStore>, relay: bool) -> Peer {
    start_configured(seed, store, |b| {
        let b = b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap());
        if relay {
            b.relay(Duration::from_secs(3600))
        } else {
            b
        }
    })
    .await
}

/// Starts a node whose configuration `configure` completes (it must add a
/// listen address).
pub async fn start_configured(
    seed: u8,
    store: Arc<SqliteStore>,
    configure: impl FnOnce(NodeConfigBuilder) -> NodeConfigBuilder,
) -> Peer {
    let (wallet, keys, document) = identity(seed);
    // All on loopback, where AutoNAT confirms nothing by default.
    let builder = NodeConfig::builder()
        .retry_interval(Duration::from_millis(200))
        .dht_mode(DhtMode::Server);
    let config = configure(builder).build().unwrap();
    launch(config, wallet, keys, document, store).await
}

/// Awaits `f` for at most 20 seconds.
pub async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out")
}

/// Waits for the next received message's text.
pub async fn next_message(events: &mut mpsc::Receiver<NodeEvent>) -> String {
    loop {
        match within(events.recv()).await {
            Some(NodeEvent::MessageReceived { text, .. }) => return text,
            Some(_) => {}
            None => panic!("node stopped"),
        }
    }
}

/// A node with a group database and a published KeyPackage, in `dir`
/// (the block store and the group state share one SQLite file).
pub async fn start_member(seed: u8, dir: &std::path::Path) -> Peer {
    start_member_with(seed, dir, |b| b).await
}

/// [`start_member`] with more configuration.
pub async fn start_member_with(
    seed: u8,
    dir: &std::path::Path,
    configure: impl FnOnce(NodeConfigBuilder) -> NodeConfigBuilder,
) -> Peer {
    // The embedding API: Node::builder does every set-up step (keys, the
    // database in `home`, the KeyPackage, the signed document).
    let (wallet, keys) = kaichi_test_support::identity::keys(seed);
    let home = dir.join(format!("member-{seed}"));
    let (node, events) = Node::builder(&wallet, home)
        .durability(kaichi_privatelog::store::Durability::Normal)
        .configure(|c| {
            configure(
                c.retry_interval(Duration::from_millis(200))
                    .dht_mode(DhtMode::Server)
                    .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap()),
            )
        })
        .start()
        .await
        .unwrap();
    let document = node.identity_document().to_vec();
    listening(node, events, &wallet, keys, document).await
}

/// A device of identity `seed` (its own wallet from `device_seed`, granted
/// in the identity's document) running a node whose group leaves sign with
/// the device's own key; its KeyPackage is made with that key and listed in
/// the document.
pub async fn start_device_member(seed: u8, device_seed: u8, dir: &std::path::Path) -> Peer {
    use kaichi_identity::document::{DeviceGrant, DeviceRequest};
    let (wallet, keys, _) = identity(seed);
    let (device_wallet, device_keys) = kaichi_test_support::identity::keys(device_seed);
    let now = kaichi_test_support::identity::now();
    let request = DeviceRequest::create(&device_wallet, &device_keys, keys.ipns().name()).unwrap();
    let grant = DeviceGrant::issue(
        &keys,
        &request,
        zeroize::Zeroizing::new([device_seed; 32]),
        now,
    )
    .unwrap();
    let path = dir.join(format!("device-{seed}-{device_seed}.db"));
    let store =
        Arc::new(SqliteStore::open(&path, kaichi_privatelog::store::Durability::Normal).unwrap());
    let kp = kaichi_transport::prepare_device_key_package(&path, &store, &keys, device_keys.ipns())
        .unwrap();
    let document = DocumentBuilder::new(&keys, now, Duration::from_secs(86_400))
        .device(grant)
        .key_package(kp)
        .sign(&wallet)
        .unwrap();
    let config = NodeConfig::builder()
        .retry_interval(Duration::from_millis(200))
        .dht_mode(DhtMode::Server)
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .group_database(&path)
        .device_signing_key(device_keys.ipns().clone())
        .build()
        .unwrap();
    launch(config, wallet, keys, document, store).await
}

/// Waits for an event `f` picks out.
pub async fn wait_for<T>(
    events: &mut mpsc::Receiver<NodeEvent>,
    mut f: impl FnMut(&NodeEvent) -> Option<T>,
) -> T {
    loop {
        match within(events.recv()).await {
            Some(e) => {
                if let Some(t) = f(&e) {
                    return t;
                }
            }
            None => panic!("node stopped"),
        }
    }
}

/// Waits for the next group message's text.
pub async fn next_group_message(events: &mut mpsc::Receiver<NodeEvent>) -> String {
    wait_for(events, |e| match e {
        NodeEvent::GroupMessage { text, .. } => Some(text.clone()),
        _ => None,
    })
    .await
}

/// A raw libp2p peer speaking only gossipsub (an attacker's tool).
pub fn raw_gossip_peer(seed: u8) -> libp2p::Swarm<libp2p::gossipsub::Behaviour> {
    gossip_peer(seed, false)
}

/// A raw gossipsub peer that forwards only what its driver accepts
/// (`report_message_validation_result`): a lossy hop.
pub fn validating_gossip_peer(seed: u8) -> libp2p::Swarm<libp2p::gossipsub::Behaviour> {
    gossip_peer(seed, true)
}

fn gossip_peer(seed: u8, validate: bool) -> libp2p::Swarm<libp2p::gossipsub::Behaviour> {
    use libp2p::gossipsub::{self, MessageAuthenticity};
    let mut bytes = [seed; 32];
    let key = libp2p::identity::Keypair::ed25519_from_bytes(&mut bytes).unwrap();
    let mut config = gossipsub::ConfigBuilder::default();
    config.heartbeat_interval(Duration::from_millis(200));
    if validate {
        config.validate_messages();
    }
    let behaviour: gossipsub::Behaviour = gossipsub::Behaviour::new(
        MessageAuthenticity::Signed(key.clone()),
        config.build().unwrap(),
    )
    .unwrap();
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| behaviour)
        .unwrap()
        .build()
}

/// Drives `swarm` until a peer subscribes to `topic`.
pub async fn until_subscribed(
    swarm: &mut libp2p::Swarm<libp2p::gossipsub::Behaviour>,
    topic: &libp2p::gossipsub::TopicHash,
) {
    use futures::StreamExt as _;
    within(async {
        loop {
            if let libp2p::swarm::SwarmEvent::Behaviour(libp2p::gossipsub::Event::Subscribed {
                topic: t,
                ..
            }) = swarm.select_next_some().await
                && t == *topic
            {
                break;
            }
        }
    })
    .await
}

/// Starts a node and waits until it listens.
async fn launch(
    config: NodeConfig,
    wallet: KeypairWallet,
    keys: IdentityKeys,
    document: Vec<u8>,
    store: Arc<SqliteStore>,
) -> Peer {
    // RUST_LOG=kaichi_transport=debug shows what the nodes do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (node, events) = Node::start(config, keys.clone(), document.clone(), store)
        .await
        .unwrap();
    listening(node, events, &wallet, keys, document).await
}

/// Waits until a started node listens.
/// `node` once it listens, as a [`Peer`] of `wallet` acting for `keys`.
pub async fn listening(
    node: Node,
    mut events: mpsc::Receiver<NodeEvent>,
    wallet: &KeypairWallet,
    keys: IdentityKeys,
    document: Vec<u8>,
) -> Peer {
    let addr = loop {
        match within(events.recv()).await {
            Some(NodeEvent::Listening(a)) => break a,
            Some(_) => {}
            None => panic!("node stopped"),
        }
    };
    Peer {
        node,
        events,
        keys,
        document,
        addr,
        wallet: kaichi_identity::wallet::WalletSigner::address(wallet).to_string(),
    }
}

/// A relay that pins what its users push and holds notifications for no
/// time: what reaches a reader through it comes by root and Bitswap only.
pub async fn start_pinning_relay(seed: u8, store: Arc<SqliteStore>) -> Peer {
    start_configured(seed, store, |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .relay(Duration::from_millis(1))
    })
    .await
}

/// A node that republishes its root at least every second.
pub async fn start_fast_root(seed: u8, store: Arc<SqliteStore>) -> Peer {
    start_configured(seed, store, |b| {
        b.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .root_republish_interval(Duration::from_secs(1))
    })
    .await
}

/// Waits until `store` pins every one of `cids`.
pub async fn until_pinned(store: &SqliteStore, cids: &[kaichi_privatelog::EntryCid]) {
    use kaichi_privatelog::store::BlockStore as _;
    within(async {
        while !cids
            .iter()
            .all(|c| store.is_pinned(&c.to_cid()).unwrap_or(false))
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}
