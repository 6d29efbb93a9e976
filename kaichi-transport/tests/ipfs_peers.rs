//! Peers as IPFS has them: RSA, secp256k1 and ECDSA keys (not only
//! Ed25519), speaking Bitswap and nothing of Kaichi's. Each connects to a
//! Kaichi node, fetches one of its entry blocks over Bitswap, and serves the
//! node a block of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use blockstore::{Blockstore as _, InMemoryBlockstore};
use futures::StreamExt as _;
use kaichi_privatelog::BlockCid;
use kaichi_test_support::identity::{identity, keys};
use kaichi_transport::{Multiaddr, Node, NodeEvent};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Swarm, identify, identity as key, noise, tcp, yamux};

/// What an IPFS peer speaks here: identify and Bitswap.
#[derive(NetworkBehaviour)]
struct IpfsPeer {
    identify: identify::Behaviour,
    bitswap: beetswap::Behaviour<64, InMemoryBlockstore<64>>,
}

fn peer(key: key::Keypair, store: Arc<InMemoryBlockstore<64>>) -> Swarm<IpfsPeer> {
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|k| IpfsPeer {
            identify: identify::Behaviour::new(identify::Config::new(
                "ipfs/0.1.0".into(),
                k.public(),
            )),
            bitswap: beetswap::Behaviour::new(store),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// An in-memory Kaichi node of wallet seed `seed`, listening on loopback.
async fn kaichi_node(seed: u8) -> (Node, Multiaddr) {
    let (wallet, _) = keys(seed);
    let (node, mut events) = Node::in_memory(&wallet)
        .configure(|c| c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap()))
        .start()
        .await
        .unwrap();
    loop {
        if let Some(NodeEvent::Listening(a)) = events.recv().await {
            return (node, a);
        }
    }
}

fn keys_of_every_type() -> Vec<(&'static str, key::Keypair)> {
    let mut der = include_bytes!("fixtures/rsa-2048.pk8").to_vec();
    vec![
        ("rsa", key::Keypair::rsa_from_pkcs8(&mut der).unwrap()),
        ("secp256k1", key::Keypair::generate_secp256k1()),
        ("ecdsa", key::Keypair::generate_ecdsa()),
    ]
}

/// Drives `swarm` until `done` returns a value (at most 30 s).
async fn drive<T>(
    swarm: &mut Swarm<IpfsPeer>,
    mut done: impl FnMut(SwarmEvent<IpfsPeerEvent>) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(t) = done(swarm.select_next_some().await) {
                return t;
            }
        }
    })
    .await
    .expect("timed out")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_secp256k1_and_ecdsa_peers_fetch_and_serve_blocks_over_bitswap() {
    let (node, addr) = kaichi_node(120).await;
    // An entry block the node holds: a DM to someone offline.
    let (_, _, bob_doc) = identity(121);
    node.add_contact(bob_doc).await.unwrap();
    let entry = node
        .send_dm(keys(121).1.ipns().name(), "hello, IPFS")
        .await
        .unwrap();
    let block = node.get_block(&entry.to_cid()).await.unwrap();

    for (kind, key) in keys_of_every_type() {
        let store = Arc::new(InMemoryBlockstore::<64>::new());
        // A block only this peer has (raw codec, SHA-256: what `ipfs block put` makes).
        let theirs = format!("a block held by the {kind} peer").into_bytes();
        let their_cid = BlockCid::of(&theirs).to_cid();
        store.put_keyed(&their_cid, &theirs).await.unwrap();
        let mut swarm = peer(key, store);
        let their_id = *swarm.local_peer_id();
        swarm.dial(addr.clone()).unwrap();
        drive(&mut swarm, |e| match e {
            SwarmEvent::ConnectionEstablished { .. } => Some(()),
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                panic!("{kind}: the handshake failed: {error}")
            }
            _ => None,
        })
        .await;

        // The peer fetches our entry over Bitswap.
        let query = swarm.behaviour_mut().bitswap.get(&entry.to_cid());
        let got = drive(&mut swarm, |e| match e {
            SwarmEvent::Behaviour(IpfsPeerEvent::Bitswap(beetswap::Event::GetQueryResponse {
                query_id,
                data,
            })) if query_id == query => Some(data),
            _ => None,
        })
        .await;
        assert_eq!(got, block, "{kind}: the entry block");

        // And serves us its block while the swarm runs.
        let fetch = node.get_block(&their_cid);
        let serve = drive(&mut swarm, |_| None::<()>);
        let fetched = tokio::select! {
            r = fetch => r.unwrap(),
            () = serve => unreachable!(),
        };
        assert_eq!(fetched, theirs, "{kind}: their block, from {their_id}");
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_blocks_than_a_wantlist_holds_are_fetched_without_stalling() {
    // 1,500 blocks, over the server's 1,024-entry wantlist per peer: a
    // served want must leave the list, or the fetch stalls until the
    // client's next full wantlist (30 s) and the deadline below fails.
    let (node, addr) = kaichi_node(122).await;
    let store = Arc::new(InMemoryBlockstore::<64>::new());
    let mut cids = Vec::new();
    for i in 0..1_500u32 {
        let block = format!("block {i}").into_bytes();
        let cid = BlockCid::of(&block).to_cid();
        store.put_keyed(&cid, &block).await.unwrap();
        cids.push(cid);
    }
    let mut swarm = peer(key::Keypair::generate_ed25519(), store);
    swarm.dial(addr).unwrap();
    let fetch = futures::stream::iter(cids.iter())
        .map(|cid| node.get_block(cid))
        .buffer_unordered(200)
        .filter(|r| futures::future::ready(r.is_ok()))
        .count();
    let serve = drive(&mut swarm, |_| None::<()>);
    let fetched = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::select! {
            n = fetch => n,
            () = serve => unreachable!(),
        }
    })
    .await
    .expect("the fetch stalled");
    assert_eq!(fetched, 1_500);
    node.shutdown().await;
}
