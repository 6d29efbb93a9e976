//! Token-holder groups against a real Solana RPC (surfpool's surfnet,
//! started by the test; balances made by real token transactions): a
//! holder joins by request and chats, a non-holder is refused with the
//! amounts, a holder who sells is removed at the next re-check, and an RPC
//! that stops answering admits nobody and removes nobody.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use kaichi_groups::{GroupId, NewGroup};
use kaichi_identity::WalletAddress;
use kaichi_identity::wallet::WalletSigner as _;
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::solana::{SolanaRpc, SolanaRpcConfig};
use kaichi_transport::{
    DhtMode, JoinRefused, Multiaddr, Node, NodeConfig, NodeConfigBuilder, NodeEvent,
};
use support::surfnet::Surfnet;
use tokio::sync::mpsc;

struct Peer {
    node: Node,
    events: mpsc::Receiver<NodeEvent>,
    addr: Multiaddr,
    wallet: WalletAddress,
}

async fn start(seed: u8, configure: impl FnOnce(NodeConfigBuilder) -> NodeConfigBuilder) -> Peer {
    let (wallet, keys, document) = kaichi_test_support::identity::identity(seed);
    let builder = NodeConfig::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .retry_interval(Duration::from_millis(200))
        .dht_mode(DhtMode::Server);
    let config = configure(builder).build().unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let (node, mut events) = Node::start(config, keys, document, store).await.unwrap();
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
        addr,
        wallet: wallet.address(),
    }
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("timed out")
}

/// The next event `pick` returns something for.
async fn next<T>(peer: &mut Peer, mut pick: impl FnMut(NodeEvent) -> Option<T>) -> T {
    within(async {
        loop {
            if let Some(t) = pick(peer.events.recv().await.expect("node stopped")) {
                return t;
            }
        }
    })
    .await
}

fn rpc(url: &str) -> SolanaRpc {
    SolanaRpc::new(
        SolanaRpcConfig::new(url)
            .unwrap()
            // Nothing reused between requests: each admission and
            // re-check reads the RPC (the policy decides on the read just
            // made, within solana::DECISION_WINDOW).
            .cache_ttl(Duration::ZERO)
            .retries(0, Duration::ZERO),
    )
}

/// A sequencer of a group gated on `mint` (minimum 5), re-checking every
/// `recheck`, and a member-to-be connected to it.
async fn sequencer(url: &str, mint: WalletAddress, recheck: Duration) -> (Peer, GroupId) {
    let rpc = rpc(url);
    let seq = start(40, |b| b.solana_rpc(rpc).token_recheck(recheck)).await;
    let group = seq
        .node
        .create_group(NewGroup::named("holders").token_gated(mint, 5))
        .await
        .unwrap();
    (seq, group.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_joins_by_request_and_a_non_holder_is_refused_with_the_amounts() {
    if support::interop_skipped() {
        return;
    }
    let mut surfnet = Surfnet::start();
    let spl = surfnet.mint("token");
    let mint: WalletAddress = spl.parse().unwrap();
    let (mut seq, group) = sequencer(&surfnet.rpc, mint, Duration::from_secs(3600)).await;

    let mut holder = start(41, |b| b).await;
    let mut poor = start(42, |b| b).await;
    surfnet.mint_to("token", &spl, &holder.wallet.to_string(), 10);
    surfnet.mint_to("token", &spl, &poor.wallet.to_string(), 3);
    for p in [&holder, &poor] {
        p.node.dial(seq.addr.clone()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The holder knows only the mint: the DHT leads to the sequencer, which
    // announces its group gated on it.
    let found = within(async {
        loop {
            let found = holder.node.find_token_groups(mint).await.unwrap();
            if !found.is_empty() {
                break found;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].group, group);
    assert_eq!(found[0].minimum, 5);
    assert_eq!(found[0].sequencer, seq.node.name());
    // Another mint: nothing.
    let other = holder.wallet;
    assert!(
        holder
            .node
            .find_token_groups(other)
            .await
            .unwrap()
            .is_empty()
    );

    holder
        .node
        .request_join(found[0].group, found[0].sequencer)
        .await
        .unwrap();
    let joined = next(&mut holder, |e| match e {
        NodeEvent::GroupJoined { group, name } => Some((group, name)),
        _ => None,
    })
    .await;
    assert_eq!(joined, (group, "holders".to_owned()));
    holder.node.send_group(group, "gm, holders").await.unwrap();
    let text = next(&mut seq, |e| match e {
        NodeEvent::GroupMessage { text, .. } => Some(text),
        _ => None,
    })
    .await;
    assert_eq!(text, "gm, holders");

    poor.node.request_join(group, seq.wallet).await.unwrap();
    let reason = next(&mut poor, |e| match e {
        NodeEvent::JoinRefused { reason, .. } => Some(reason),
        NodeEvent::GroupJoined { .. } => panic!("a non-holder joined"),
        _ => None,
    })
    .await;
    assert_eq!(
        reason,
        JoinRefused::InsufficientBalance { held: 3, needed: 5 }
    );
    assert_eq!(reason.to_string(), "holds 3, needs 5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_who_sells_is_removed_at_the_next_recheck_and_an_rpc_outage_removes_nobody() {
    if support::interop_skipped() {
        return;
    }
    let mut surfnet = Surfnet::start();
    let t22 = surfnet.mint("token2022");
    let mint: WalletAddress = t22.parse().unwrap();
    let (mut seq, group) = sequencer(&surfnet.rpc, mint, Duration::from_secs(2)).await;
    let mut seller = start(43, |b| b).await;
    let mut keeper = start(44, |b| b).await;
    for p in [&seller, &keeper] {
        surfnet.mint_to("token2022", &t22, &p.wallet.to_string(), 5);
        p.node.dial(seq.addr.clone()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for p in [&mut seller, &mut keeper] {
        p.node.request_join(group, seq.wallet).await.unwrap();
        next(p, |e| {
            matches!(e, NodeEvent::GroupJoined { .. }).then_some(())
        })
        .await;
    }

    // The seller's balance drops to zero: the next re-check removes it,
    // and only it.
    surfnet.set_balance("token2022", &t22, &seller.wallet.to_string(), 0);
    next(&mut seller, |e| {
        matches!(e, NodeEvent::GroupRemoved { group: g } if g == group).then_some(())
    })
    .await;
    let removed = next(&mut seq, |e| match e {
        NodeEvent::GroupChanged { removed, .. } if !removed.is_empty() => Some(removed),
        _ => None,
    })
    .await;
    assert_eq!(removed.len(), 1);
    assert!(seller.node.send_group(group, "still here?").await.is_err());
    // And it no longer reads what the group says.
    seq.node.send_group(group, "after the sale").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match seller.events.recv().await {
                Some(NodeEvent::GroupMessage { text, .. }) => return text,
                Some(_) => {}
                None => std::future::pending::<()>().await,
            }
        }
    })
    .await;
    assert!(heard.is_err(), "the seller read {heard:?}");
    next(&mut keeper, |e| match e {
        NodeEvent::GroupMessage { text, .. } if text == "after the sale" => Some(()),
        _ => None,
    })
    .await;

    // The RPC stops answering: re-checks read nothing and remove nobody.
    surfnet.stop();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let summary = seq
        .node
        .groups()
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.id == group)
        .unwrap();
    assert_eq!(summary.members.len(), 2, "{summary:?}");
    // Nor is anybody admitted: a holder's request is refused, to ask again.
    let mut late = start(45, |b| b).await;
    late.node.dial(seq.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    late.node.request_join(group, seq.wallet).await.unwrap();
    let reason = next(&mut late, |e| match e {
        NodeEvent::JoinRefused { reason, .. } => Some(reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, JoinRefused::BalanceUnavailable);
    keeper.node.send_group(group, "still in").await.unwrap();
    let text = next(&mut seq, |e| match e {
        NodeEvent::GroupMessage { text, .. } => Some(text),
        _ => None,
    })
    .await;
    assert_eq!(text, "still in");
}

/// `kaichi node --solana-rpc` sequencing a token-holder group, and
/// `kaichi group request` from two other node processes.
#[test]
fn node_processes_request_to_join_through_a_solana_rpc() {
    use support::{kaichi, kaichi_json, node_process};
    if support::interop_skipped() {
        return;
    }
    let mut surfnet = Surfnet::start();
    let spl = surfnet.mint("token");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (seq, holder, poor) = (d.join("seq"), d.join("holder"), d.join("poor"));
    let mut wallets = Vec::new();
    for h in [&seq, &holder, &poor] {
        let id = kaichi_json(h, &["wallet", "new"]);
        wallets.push(id["wallet"].as_str().unwrap().to_owned());
    }
    surfnet.mint_to("token", &spl, &wallets[1], 10);
    surfnet.mint_to("token", &spl, &wallets[2], 3);
    let doc = d.join("seq.doc");
    kaichi_json(&seq, &["id", "document", "--out", doc.to_str().unwrap()]);
    for h in [&holder, &poor] {
        kaichi_json(h, &["contacts", "add", doc.to_str().unwrap()]);
    }
    let (_seq_node, addr) = node_process(
        &seq,
        &[
            "--solana-rpc",
            &surfnet.rpc,
            "--solana-commitment",
            "finalized",
            "--solana-rate",
            "50",
        ],
        None,
    );
    let _holder_node = node_process(&holder, &["--bootstrap", &addr], None);
    let _poor_node = node_process(&poor, &["--bootstrap", &addr], None);
    std::thread::sleep(Duration::from_millis(1000));
    let group = kaichi_json(
        &seq,
        &[
            "group",
            "create",
            "holders",
            "--token-mint",
            &spl,
            "--token-minimum",
            "5",
        ],
    );
    let id = group["id"].as_str().unwrap().to_owned();

    // The holder gives only the mint.
    let joined = kaichi_json(
        &holder,
        &["group", "request", "--mint", &spl, "--wait", "30s"],
    );
    let outcomes = joined["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 1, "{joined}");
    assert_eq!(outcomes[0]["outcome"], "joined", "{joined}");
    assert_eq!(outcomes[0]["group"], id.as_str());
    assert_eq!(outcomes[0]["name"], "holders");
    let groups = kaichi_json(&holder, &["groups"]);
    let g = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{groups}"));
    assert_eq!(g["token_gate"]["minimum"], 5);
    assert_eq!(g["token_gate"]["mint"], spl.as_str());

    let refused = kaichi(&poor)
        .args([
            "--json",
            "group",
            "request",
            &id,
            "--sequencer",
            &wallets[0],
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let v: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(v["outcomes"][0]["outcome"], "refused", "{v}");
    assert_eq!(v["outcomes"][0]["reason"], "holds 3, needs 5");
    // In words, without --json.
    let refused = kaichi(&poor)
        .args(["group", "request", &id, "--sequencer", &wallets[0]])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let text = String::from_utf8_lossy(&refused.stdout);
    // (Asked again at once: refused as too many requests.)
    assert!(text.contains("refused: too many requests"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_at_a_relay_while_the_sequencer_is_offline() {
    if support::interop_skipped() {
        return;
    }
    let mut surfnet = Surfnet::start();
    let spl = surfnet.mint("token");
    let mint: WalletAddress = spl.parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sequencer-groups.db");
    let relay = start(46, |b| b.relay(Duration::from_secs(3600))).await;

    // The sequencer creates the group while connected to the relay (which
    // then follows its inbox), and goes offline.
    let url = surfnet.rpc.clone();
    let seq_config = |b: NodeConfigBuilder| {
        b.solana_rpc(rpc(&url))
            .token_recheck(Duration::from_secs(3600))
            .group_database(db.clone())
    };
    let seq = start(47, seq_config).await;
    seq.node.dial(relay.addr.clone()).await.unwrap();
    let group = seq
        .node
        .create_group(NewGroup::named("holders").token_gated(mint, 5))
        .await
        .unwrap()
        .id;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let seq_doc = seq.node.identity_document().to_vec();
    let seq_wallet = seq.wallet;
    seq.node.shutdown().await;

    // The holder asks while the sequencer is away: the relay holds it.
    let mut holder = start(48, |b| b).await;
    surfnet.mint_to("token", &spl, &holder.wallet.to_string(), 7);
    holder.node.dial(relay.addr.clone()).await.unwrap();
    holder.node.add_contact(seq_doc).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    holder.node.request_join(group, seq_wallet).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // The sequencer comes back, gets the request from the relay, admits.
    let seq = start(47, seq_config).await;
    seq.node.dial(relay.addr.clone()).await.unwrap();
    let joined = next(&mut holder, |e| match e {
        NodeEvent::GroupJoined { group, .. } => Some(group),
        _ => None,
    })
    .await;
    assert_eq!(joined, group);
    seq.node.shutdown().await;
}

/// A node that is a device of its identity (its leaf signs with the
/// device's own key, granted in the identity's document) asks to join: the
/// sequencer reads the identity's wallet, admits it, and removes it when
/// that wallet sells.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_admitted_and_rechecked_under_its_identitys_wallet() {
    use kaichi_identity::document::{DeviceGrant, DeviceRequest, DocumentBuilder};
    if support::interop_skipped() {
        return;
    }
    let mut surfnet = Surfnet::start();
    let spl = surfnet.mint("token");
    let mint: WalletAddress = spl.parse().unwrap();
    let (mut seq, group) = sequencer(&surfnet.rpc, mint, Duration::from_secs(2)).await;

    // The identity (seed 50) grants a device (seed 51); the node runs as
    // the device.
    let dir = tempfile::tempdir().unwrap();
    let (wallet, keys, _) = kaichi_test_support::identity::identity(50);
    let (device_wallet, device_keys) = kaichi_test_support::identity::keys(51);
    let now = kaichi_test_support::identity::now();
    let request = DeviceRequest::create(&device_wallet, &device_keys, keys.ipns().name()).unwrap();
    let grant =
        DeviceGrant::issue(&keys, &request, zeroize::Zeroizing::new([51; 32]), now).unwrap();
    let path = dir.path().join("device.db");
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
    let (node, mut events) = Node::start(config, keys, document, store).await.unwrap();
    loop {
        if let Some(NodeEvent::Listening(_)) = within(events.recv()).await {
            break;
        }
    }
    let mut device = Peer {
        node,
        events,
        addr: "/ip4/127.0.0.1/tcp/1".parse().unwrap(),
        wallet: wallet.address(),
    };

    surfnet.mint_to("token", &spl, &device.wallet.to_string(), 5);
    device.node.dial(seq.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    device.node.request_join(group, seq.wallet).await.unwrap();
    next(&mut device, |e| {
        matches!(e, NodeEvent::GroupJoined { group: g, .. } if g == group).then_some(())
    })
    .await;
    device
        .node
        .send_group(group, "from my phone")
        .await
        .unwrap();
    let text = next(&mut seq, |e| match e {
        NodeEvent::GroupMessage { text, .. } => Some(text),
        _ => None,
    })
    .await;
    assert_eq!(text, "from my phone");

    // Re-checks read the identity's wallet: it still holds 5, so the
    // device stays; once it sells, the device goes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    device.node.send_group(group, "still here").await.unwrap();
    surfnet.set_balance("token", &spl, &device.wallet.to_string(), 0);
    next(&mut device, |e| {
        matches!(e, NodeEvent::GroupRemoved { group: g } if g == group).then_some(())
    })
    .await;
}
