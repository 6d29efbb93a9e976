//! Token-holder groups against a real Solana RPC (surfpool's surfnet from
//! interop/solana, installed with `npm ci` on first use; Node.js 20+):
//!
//! - a balance read through the RPC (no cache): p50 / p99 per wallet;
//! - re-checking 1,000 members: requests/s at the default rate bound (20/s,
//!   bursts of 40) and with the bound lifted (to see what the RPC takes);
//! - join by request end to end on loopback (request sent to the Welcome
//!   applied at the requester): p50 / p99 over 20 joins.
//!
//! `cargo bench -p kaichi-benches --bench token`
//! (`KAICHI_BENCH_RECHECK_MEMBERS` changes the 1,000.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kaichi_groups::NewGroup;
use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp, WalletAddress};
use kaichi_privatelog::store::SqliteStore;
use kaichi_transport::solana::{SolanaRpc, SolanaRpcConfig};
use kaichi_transport::{DhtMode, Node, NodeConfig, NodeConfigBuilder, NodeEvent};
use tokio::sync::mpsc;

struct Surfnet {
    child: Child,
    stdin: ChildStdin,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    rpc: String,
}

impl Surfnet {
    fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/solana");
        if !dir.join("node_modules").exists() {
            let ok = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm (Node.js 20+) is needed for this bench");
            assert!(ok.success());
        }
        let mut child = Command::new("node")
            .arg("surfnet.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: serde_json::Value =
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let rpc = first["rpc"].as_str().unwrap().to_owned();
        Self {
            child,
            stdin,
            lines,
            rpc,
        }
    }

    fn op(&mut self, v: serde_json::Value) -> serde_json::Value {
        writeln!(self.stdin, "{v}").unwrap();
        let out: serde_json::Value =
            serde_json::from_str(&self.lines.next().unwrap().unwrap()).unwrap();
        assert!(out.get("error").is_none(), "{out}");
        out
    }
}

impl Drop for Surfnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wallet(i: u32) -> KeypairWallet {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    KeypairWallet::from_secret_seed(&seed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn client(url: &str, per_second: u32, burst: u32) -> SolanaRpc {
    SolanaRpc::new(
        SolanaRpcConfig::new(url)
            .unwrap()
            .cache_ttl(Duration::ZERO)
            .rate(per_second, burst)
            .unwrap(),
    )
}

async fn balance_reads(surfnet: &mut Surfnet, mint: &str, mint_w: WalletAddress) {
    let holders: Vec<WalletAddress> = (0..20).map(|i| wallet(i).address()).collect();
    for w in &holders {
        surfnet.op(
            serde_json::json!({"op": "mintTo", "program": "token", "mint": mint,
            "owner": w.to_string(), "amount": "10"}),
        );
    }
    let rpc = client(&surfnet.rpc, 10_000, 10_000);
    let mut times = Vec::new();
    for round in 0..10 {
        for w in &holders {
            let t = Instant::now();
            let b = rpc.fetch_balance(w, &mint_w).await.unwrap();
            times.push(t.elapsed());
            assert_eq!(b, 10, "round {round}");
        }
    }
    times.sort();
    println!(
        "balance read through the RPC ({} reads): p50 {:.2} ms, p99 {:.2} ms",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
}

async fn recheck(url: &str, mint: WalletAddress, members: u32, per_second: u32, burst: u32) {
    let rpc = client(url, per_second, burst);
    let wallets: Vec<WalletAddress> = (0..members).map(|i| wallet(i).address()).collect();
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in wallets {
        let rpc = rpc.clone();
        tasks.push(tokio::spawn(
            async move { rpc.fetch_balance(&w, &mint).await },
        ));
    }
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "re-check of {members} members at {per_second}/s (burst {burst}): {secs:.2} s, \
         {:.0} requests/s, {ok} read",
        f64::from(members) / secs
    );
}

struct Peer {
    node: Node,
    events: mpsc::Receiver<NodeEvent>,
    wallet: WalletAddress,
    addr: kaichi_transport::Multiaddr,
}

async fn start(i: u32, configure: impl FnOnce(NodeConfigBuilder) -> NodeConfigBuilder) -> Peer {
    let w = wallet(1_000_000 + i);
    let keys = IdentityKeys::derive(&w, KeyEpoch::ZERO).unwrap();
    let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
    let document = DocumentBuilder::new(&keys, now, Duration::from_secs(86_400))
        .sign(&w)
        .unwrap();
    let b = NodeConfig::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .retry_interval(Duration::from_millis(50))
        .dht_mode(DhtMode::Server);
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let (node, mut events) = Node::start(configure(b).build().unwrap(), keys, document, store)
        .await
        .unwrap();
    let addr = loop {
        if let Some(NodeEvent::Listening(a)) = events.recv().await {
            break a;
        }
    };
    Peer {
        node,
        events,
        wallet: w.address(),
        addr,
    }
}

async fn joins(surfnet: &mut Surfnet, mint: &str, mint_w: WalletAddress) {
    let rpc = client(&surfnet.rpc, 20, 40);
    let seq = start(0, |b| b.solana_rpc(rpc)).await;
    let group = seq
        .node
        .create_group(NewGroup::named("holders").token_gated(mint_w, 5))
        .await
        .unwrap()
        .id;
    let mut times = Vec::new();
    for i in 1..=20 {
        let mut p = start(i, |b| b).await;
        surfnet.op(
            serde_json::json!({"op": "mintTo", "program": "token", "mint": mint,
            "owner": p.wallet.to_string(), "amount": "5"}),
        );
        p.node.dial(seq.addr.clone()).await.unwrap();
        p.node
            .add_contact(seq.node.identity_document().to_vec())
            .await
            .unwrap();
        // Until the sequencer's inbox subscription reached the requester.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Err(e) = client(&surfnet.rpc, 10, 10)
            .fetch_balance(&p.wallet, &mint_w)
            .await
        {
            panic!("the RPC fails before join {i}: {e}");
        }
        let t = Instant::now();
        p.node.request_join(group, seq.wallet).await.unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(30), p.events.recv())
                .await
                .expect("no answer")
            {
                Some(NodeEvent::GroupJoined { .. }) => break,
                Some(NodeEvent::JoinRefused { reason, .. }) => panic!("refused: {reason}"),
                Some(_) => {}
                None => panic!("stopped"),
            }
        }
        times.push(t.elapsed());
        p.node.shutdown().await;
    }
    times.sort();
    println!(
        "join by request, request sent to Welcome applied ({} joins): p50 {:.1} ms, p99 {:.1} ms",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
}

fn main() {
    let members: u32 = std::env::var("KAICHI_BENCH_RECHECK_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut surfnet = Surfnet::start();
    let mint =
        surfnet.op(serde_json::json!({"op": "mint", "program": "token", "decimals": 0}))["mint"]
            .as_str()
            .unwrap()
            .to_owned();
    let mint_w: WalletAddress = mint.parse().unwrap();
    rt.block_on(async {
        if std::env::var_os("KAICHI_BENCH_JOINS_ONLY").is_none() {
            balance_reads(&mut surfnet, &mint, mint_w).await;
            recheck(&surfnet.rpc, mint_w, members, 20, 40).await;
            recheck(&surfnet.rpc, mint_w, members, 100_000, 100_000).await;
        }
        joins(&mut surfnet, &mint, mint_w).await;
    });
}
