//! Finding a person by wallet on the IPFS DHT when someone lies: a peer
//! that provides another's wallet key (a spoofed provider record) is
//! dropped, counted and ignored; the real identity is still found.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use blockstore::{Blockstore as _, InMemoryBlockstore};
use common::{identity, next_message, start, start_relay};
use futures::StreamExt as _;
use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_privatelog::store::SqliteStore;
use kaichi_privatelog::{BlockCid, Root, RootCid};
use kaichi_transport::dht::wallet_key;
use kaichi_transport::{KAD_PROTOCOL, NodeError, Rejection};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, Swarm, identify, kad, noise, tcp, yamux};

/// A DHT server and Bitswap peer that is not a Kaichi node.
#[derive(NetworkBehaviour)]
struct Liar {
    identify: identify::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    bitswap: beetswap::Behaviour<64, InMemoryBlockstore<64>>,
}

/// A peer with its own valid identity (seed `seed`) that claims, in the
/// DHT, to be the node of `victim`'s wallet.
async fn liar(
    seed: u8,
    victim: &kaichi_identity::WalletAddress,
    bootstrap: &Multiaddr,
) -> Swarm<Liar> {
    let (_, keys, doc) = identity(seed);
    let store = Arc::new(InMemoryBlockstore::<64>::new());
    let doc_cid = BlockCid::of(&doc);
    store.put_keyed(&doc_cid.to_cid(), &doc).await.unwrap();
    // Its root: its own (valid) document, no outboxes.
    let root = Root::new(doc_cid).encode();
    let root_cid = RootCid::of(&root);
    store.put_keyed(&root_cid.to_cid(), &root).await.unwrap();
    let key = keys.ipns().to_libp2p().unwrap();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|k| {
            let peer = k.public().to_peer_id();
            let mut kad = kad::Behaviour::with_config(
                peer,
                kad::store::MemoryStore::new(peer),
                kad::Config::new(KAD_PROTOCOL),
            );
            kad.set_mode(Some(kad::Mode::Server));
            Liar {
                identify: identify::Behaviour::new(identify::Config::new(
                    "ipfs/0.1.0".into(),
                    k.public(),
                )),
                kad,
                bitswap: beetswap::Behaviour::new(store),
            }
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    swarm.dial(bootstrap.clone()).unwrap();
    let relay_peer = match bootstrap.iter().last() {
        Some(libp2p::multiaddr::Protocol::P2p(p)) => Some(p),
        _ => None,
    };
    if let Some(p) = relay_peer {
        swarm.behaviour_mut().kad.add_address(&p, bootstrap.clone());
    }
    let now = kaichi_test_support::identity::now();
    let params = RecordParams::new(
        format!("/ipfs/{root_cid}"),
        now.unix_secs(),
        now.checked_add(Duration::from_secs(3600)).unwrap(),
    );
    let record = create_record(keys.ipns(), &params).unwrap();
    let kad = &mut swarm.behaviour_mut().kad;
    kad.put_record(
        kad::Record::new(keys.ipns().name().routing_key(), record),
        kad::Quorum::One,
    )
    .unwrap();
    kad.start_providing(kad::RecordKey::new(&wallet_key(victim)))
        .unwrap();
    swarm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_wallet_provider_is_dropped_and_the_real_one_found() {
    let relay = start_relay(130).await;
    let relay_addr: Multiaddr = format!("{}/p2p/{}", relay.addr, relay.node.peer_id())
        .parse()
        .unwrap();
    let alice = start(131, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    alice.node.dial(relay.addr.clone()).await.unwrap();
    let (bob_wallet, _, _) = identity(132);
    let bob_wallet = kaichi_identity::wallet::WalletSigner::address(&bob_wallet);

    // Only the liar provides Bob's wallet key: Alice finds no Bob, and
    // counts the lie.
    let mut liar = liar(133, &bob_wallet, &relay_addr).await;
    let drive = tokio::spawn(async move {
        loop {
            if let SwarmEvent::Behaviour(LiarEvent::Kad(kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::StartProviding(Err(e)),
                ..
            })) = liar.select_next_some().await
            {
                panic!("the liar could not provide: {e:?}");
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let err = alice
        .node
        .send_dm(bob_wallet, "are you bob?")
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::DocumentNotFound(_)), "{err}");
    let rejections = alice.node.rejections().await.unwrap();
    assert!(
        rejections
            .get(&Rejection::SpoofedProvider)
            .copied()
            .unwrap_or(0)
            >= 1,
        "{rejections:?}"
    );

    // The real Bob comes online: whatever order the providers come in,
    // Alice reaches him.
    let mut bob = start(132, Arc::new(SqliteStore::open_in_memory().unwrap())).await;
    bob.node.dial(relay.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    alice
        .node
        .send_dm(bob_wallet, "found the real you")
        .await
        .unwrap();
    assert_eq!(next_message(&mut bob.events).await, "found the real you");
    drive.abort();
    for n in [&alice.node, &bob.node, &relay.node] {
        n.shutdown().await;
    }
}
