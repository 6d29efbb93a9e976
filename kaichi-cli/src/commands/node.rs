//! `kaichi node`: runs the node and serves the control socket.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kaichi_identity::KeyEpoch;
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeConfigBuilder, NodeEvent};
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast;

use crate::cli::NodeArgs;
use crate::control::{MAX_LINE, Request, socket_path};
use crate::profile::Profile;

/// Events buffered for slow `watch` clients (older ones are dropped).
const WATCH_BUFFER: usize = 1024;
/// Lifetime of the identity document the node publishes.
const DOCUMENT_LIFETIME: Duration = Duration::from_secs(30 * 86_400);

pub(crate) fn run(profile: &Profile, args: NodeArgs, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(profile, args, json))
}

fn event_json(e: &NodeEvent) -> serde_json::Value {
    match e {
        NodeEvent::Listening(a) => json!({"event": "listening", "addr": a.to_string()}),
        NodeEvent::PeerConnected(p) => json!({"event": "peer_connected", "peer": p.to_string()}),
        NodeEvent::Reachability { public } => {
            json!({"event": "reachability", "public": public.as_ref().map(ToString::to_string)})
        }
        NodeEvent::DhtServer(server) => json!({"event": "dht_mode", "server": server}),
        NodeEvent::PeerDisconnected(p) => {
            json!({"event": "peer_disconnected", "peer": p.to_string()})
        }
        NodeEvent::ContactAdded { name, wallet } => {
            json!({"event": "contact_added", "ipns_name": name.to_string(), "wallet": wallet.to_string()})
        }
        NodeEvent::MessageReceived {
            conversation,
            from,
            cid,
            text,
        } => json!({
            "event": "message", "conversation": conversation.to_string(), "from": from.to_string(),
            "cid": cid.to_string(), "text": text,
        }),
        NodeEvent::Rejected { peer, reason } => {
            json!({"event": "rejected", "peer": peer.to_string(), "reason": reason.to_string()})
        }
        NodeEvent::GroupJoined { group, name } => {
            json!({"event": "group_joined", "group": group.to_string(), "name": name})
        }
        NodeEvent::GroupMessage { group, from, text } => json!({
            "event": "group_message", "group": group.to_string(), "from": from.to_string(), "text": text,
        }),
        NodeEvent::GroupChanged {
            group,
            epoch,
            added,
            removed,
        } => json!({
            "event": "group_changed", "group": group.to_string(), "epoch": epoch,
            "added": added.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            "removed": removed.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        }),
        NodeEvent::GroupRemoved { group } => {
            json!({"event": "group_removed", "group": group.to_string()})
        }
        NodeEvent::JoinRefused { group, by, reason } => json!({
            "event": "join_refused", "group": group.to_string(), "by": by.to_string(),
            "reason": reason.to_string(),
        }),
        other => json!({"event": "other", "debug": format!("{other:?}")}),
    }
}

async fn serve(profile: &Profile, args: NodeArgs, json: bool) -> anyhow::Result<ExitCode> {
    let (wallet, keys, config) = profile.identity()?;
    let mut options: Vec<Box<dyn FnOnce(NodeConfigBuilder) -> NodeConfigBuilder>> = Vec::new();
    for l in &args.listen {
        let addr = l
            .parse::<Multiaddr>()
            .with_context(|| format!("--listen {l}"))?;
        options.push(Box::new(move |c| c.listen(addr)));
    }
    for b in &args.bootstrap {
        let addr = b
            .parse::<Multiaddr>()
            .with_context(|| format!("--bootstrap {b}"))?;
        options.push(Box::new(move |c| c.bootstrap(addr)));
    }
    if args.relay {
        let retention = crate::duration::parse(&args.retention).context("--retention")?;
        let publisher = rate(&args.relay_publisher_rate).context("--relay-publisher-rate")?;
        let inbox = rate(&args.relay_inbox_rate).context("--relay-inbox-rate")?;
        let held = args.relay_held_bytes;
        options.push(Box::new(move |c| {
            c.relay(retention)
                .relay_rates(publisher, inbox)
                .relay_held_bytes(held)
        }));
    }
    let mode = match args.dht_mode {
        crate::cli::DhtModeArg::Server => DhtMode::Server,
        crate::cli::DhtModeArg::Client => DhtMode::Client,
        crate::cli::DhtModeArg::Auto => DhtMode::Auto,
    };
    options.push(Box::new(move |c| c.dht_mode(mode)));
    let engine: kaichi_groups::GroupEngine = args.group_engine.parse()?;
    options.push(Box::new(move |c| c.group_engine(engine)));
    if args.autonat_private_ips {
        options.push(Box::new(|c| c.autonat_private_ips(true)));
    }
    for a in &args.external_address {
        let addr = a
            .parse::<Multiaddr>()
            .with_context(|| format!("--external-address {a}"))?;
        options.push(Box::new(move |c| c.external_address(addr)));
    }
    if let Some(path) = &args.token_balances {
        let balances = Arc::new(crate::balances::SnapshotBalances::load(path)?);
        options.push(Box::new(move |c| c.balance_source(balances)));
    }
    if let Some(url) = &args.solana_rpc {
        let commitment: kaichi_groups::token::Commitment = args
            .solana_commitment
            .parse()
            .context("--solana-commitment")?;
        let config = kaichi_transport::solana::SolanaRpcConfig::new(url)
            .context("--solana-rpc")?
            .commitment(commitment)
            .rate(args.solana_rate, args.solana_rate.saturating_mul(2))
            .context("--solana-rate")?;
        let every = crate::duration::parse(&args.token_recheck).context("--token-recheck")?;
        let rpc = kaichi_transport::solana::SolanaRpc::new(config);
        options.push(Box::new(move |c| c.solana_rpc(rpc).token_recheck(every)));
    }
    // The builder derives the keys, opens the profile's database (blocks
    // and group state share it), prepares the KeyPackage the identity
    // document references, signs the document and starts the node.
    let mut builder = Node::builder(&wallet, profile.home())
        .epoch(KeyEpoch::new(config.epoch))
        .document_lifetime(DOCUMENT_LIFETIME);
    match &config.device_of {
        // The devices `kaichi device approve` granted stay in every
        // document the node signs.
        None => {
            for grant in crate::device_link::own_grants(profile, &keys)? {
                builder = builder.device_grant(grant);
            }
        }
        // A device runs for the identity with the document it joined with
        // (checked already by `profile.identity()`), as its own peer.
        Some(_) => {
            let document = profile
                .document()?
                .context("this device profile has lost its identity document")?;
            builder = builder.device_of(document);
        }
    }
    let (node, mut events) = builder
        .configure(|c| options.into_iter().fold(c, |c, option| option(c)))
        .start()
        .await?;

    let path = socket_path(profile.home());
    let _ = std::fs::remove_file(&path);
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    if !json {
        println!("kaichi node {} (peer id {})", node.name(), node.peer_id());
        println!("control socket {}", path.display());
    }

    let (watch_tx, _) = broadcast::channel::<String>(WATCH_BUFFER);
    let pump_tx = watch_tx.clone();
    let peer_id = node.peer_id();
    let printer = tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            let line = event_json(&e).to_string();
            if json {
                println!("{line}");
            } else if let NodeEvent::Listening(a) = &e {
                println!("listening on {a}/p2p/{peer_id}");
            } else if let NodeEvent::MessageReceived { from, text, .. } = &e {
                println!("{from}: {text}");
            } else if let NodeEvent::GroupMessage { group, from, text } = &e {
                println!("[{group}] {from}: {text}");
            }
            let _ = pump_tx.send(line);
        }
    });

    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    loop {
        #[cfg(unix)]
        let term = terminate.recv();
        #[cfg(not(unix))]
        let term = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = term => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let node = node.clone();
                let watch = watch_tx.subscribe();
                tokio::spawn(async move {
                    if let Err(e) = client(stream, node, watch).await {
                        tracing_free_log(&e);
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    node.shutdown().await;
    printer.abort();
    let _ = std::fs::remove_file(&path);
    Ok(ExitCode::SUCCESS)
}

/// Sends join requests (to one group, or to every group found gated on a
/// mint) and waits, on the node's events, for each sequencer's answer:
/// joined, refused with the reason, or still pending.
async fn group_request(
    node: &Node,
    watch: &mut broadcast::Receiver<String>,
    group: Option<String>,
    sequencer: Option<String>,
    mint: Option<String>,
    wait_secs: u64,
) -> serde_json::Value {
    let fail = |e: String| json!({"ok": false, "error": e});
    // (group, name, sequencer)
    let mut targets: Vec<(kaichi_groups::GroupId, String, String)> = Vec::new();
    match (group, sequencer, mint) {
        (Some(group), Some(sequencer), None) => match group.parse() {
            Ok(id) => targets.push((id, String::new(), sequencer)),
            Err(e) => return fail(format!("{group}: {e}")),
        },
        (None, None, Some(mint)) => {
            let mint = match mint.parse::<kaichi_identity::WalletAddress>() {
                Ok(m) => m,
                Err(e) => return fail(format!("--mint {mint}: {e}")),
            };
            match node.find_token_groups(mint).await {
                Ok(found) => targets.extend(
                    found
                        .into_iter()
                        .map(|f| (f.group, f.name, f.sequencer.to_string())),
                ),
                Err(e) => return fail(e.to_string()),
            }
        }
        _ => return fail("give a group and its sequencer, or a mint".into()),
    }
    let mut outcomes: Vec<serde_json::Value> = Vec::new();
    for (id, name, sequencer) in &targets {
        let outcome = match node.request_join(*id, sequencer.as_str()).await {
            Ok(()) => "pending",
            Err(e) => return fail(e.to_string()),
        };
        outcomes.push(
            json!({"group": id.to_string(), "name": name, "sequencer": sequencer,
            "outcome": outcome}),
        );
    }
    let wait = std::time::Duration::from_secs(wait_secs.min(3600));
    let _ = tokio::time::timeout(wait, async {
        while outcomes.iter().any(|o| o["outcome"] == "pending") {
            let line = match watch.recv().await {
                Ok(line) => line,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let Some(o) = outcomes
                .iter_mut()
                .find(|o| o["group"] == v["group"] && o["outcome"] == "pending")
            else {
                continue;
            };
            match v["event"].as_str() {
                Some("group_joined") => {
                    o["outcome"] = json!("joined");
                    o["name"] = v["name"].clone();
                }
                Some("join_refused") => {
                    o["outcome"] = json!("refused");
                    o["reason"] = v["reason"].clone();
                }
                _ => {}
            }
        }
    })
    .await;
    json!({"ok": true, "outcomes": outcomes})
}

/// A rate as `PER_SECOND/BURST` (both at least 1).
fn rate(text: &str) -> anyhow::Result<kaichi_transport::RateLimit> {
    let (per_second, burst) = text
        .split_once('/')
        .with_context(|| format!("{text:?} is not PER_SECOND/BURST"))?;
    let parse = |n: &str| -> anyhow::Result<u32> {
        let v: u32 = n
            .trim()
            .parse()
            .with_context(|| format!("{n:?} is not a whole number"))?;
        anyhow::ensure!(v > 0, "a rate of 0 refuses everything");
        Ok(v)
    };
    Ok(kaichi_transport::RateLimit {
        per_second: parse(per_second)?,
        burst: parse(burst)?,
    })
}

fn tracing_free_log(e: &anyhow::Error) {
    eprintln!("control client: {e:#}");
}

async fn client(
    stream: UnixStream,
    node: Node,
    mut watch: broadcast::Receiver<String>,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_LINE as u64));
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let reply = |v: serde_json::Value| format!("{v}\n");
    let request = match Request::parse(line.as_bytes()) {
        Ok(r) => r,
        Err(e) => {
            write
                .write_all(reply(json!({"ok": false, "error": e.to_string()})).as_bytes())
                .await?;
            return Ok(());
        }
    };
    let response = match request {
        Request::Addrs => {
            let addrs = node.listen_addrs().await?;
            let peer = node.peer_id();
            json!({"ok": true, "peer_id": peer.to_string(), "addrs": addrs.iter().map(|a| format!("{a}/p2p/{peer}")).collect::<Vec<_>>()})
        }
        Request::Send { to, text } => match node.send_dm(&to, &text).await {
            Ok(cid) => json!({"ok": true, "cid": cid.to_string()}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::Read { peer, limit } => match node.read(&peer, limit).await {
            Ok(page) => {
                let messages: Vec<_> = page
                    .messages
                    .iter()
                    .map(|m| json!({"cid": m.cid.to_string(), "mine": m.mine, "clock": m.clock, "sent_at_ms": m.sent_at_ms, "text": m.text, "delivered": m.delivered, "read": m.read}))
                    .collect();
                json!({"ok": true, "messages": messages})
            }
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::GroupCreate {
            name,
            description,
            token_mint,
            token_minimum,
            engine,
        } => {
            let engine = engine
                .map(|e| e.parse::<kaichi_groups::GroupEngine>())
                .transpose();
            match (
                super::group::new_group(
                    &name,
                    &description,
                    token_mint.as_deref(),
                    Some(token_minimum),
                ),
                engine,
            ) {
                (Err(e), _) => json!({"ok": false, "error": e.to_string()}),
                (_, Err(e)) => json!({"ok": false, "error": e.to_string()}),
                (Ok(new), Ok(engine)) => {
                    let created = match engine {
                        Some(e) => node.create_group_in(new, e).await,
                        None => node.create_group(new).await,
                    };
                    match created {
                        Ok(g) => {
                            json!({"ok": true, "id": g.id.to_string(), "name": g.name, "epoch": g.epoch,
                            "engine": g.engine.to_string(),
                            "members": g.members.iter().map(|n| n.to_string()).collect::<Vec<_>>()})
                        }
                        Err(e) => json!({"ok": false, "error": e.to_string()}),
                    }
                }
            }
        }
        Request::GroupInvite { group, member } => match node.invite(&group, &member).await {
            Ok(epoch) => json!({"ok": true, "epoch": epoch}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::GroupRequest {
            group,
            sequencer,
            mint,
            wait_secs,
        } => group_request(&node, &mut watch, group, sequencer, mint, wait_secs).await,
        Request::GroupSend { group, text } => match node.send_group(&group, &text).await {
            Ok(()) => json!({"ok": true}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::GroupRemove { group, member } => match node.remove_member(&group, &member).await {
            Ok(epoch) => json!({"ok": true, "epoch": epoch}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::GroupAdmin {
            group,
            member,
            admin,
        } => match node.set_group_admin(&group, &member, admin).await {
            Ok(epoch) => json!({"ok": true, "epoch": epoch}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::GroupUpdate { group } => match node.update_group_keys(&group).await {
            Ok(epoch) => json!({"ok": true, "epoch": epoch}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::GroupLeave { group } => match node.leave_group(&group).await {
            Ok(()) => json!({"ok": true}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::SendFile { to, path, text } => {
            super::files::send_file(&node, &mut write, to, path, text).await
        }
        Request::SaveFile {
            message,
            index,
            out,
        } => super::files::save_file(&node, &mut write, message, index, out).await,
        Request::Root => json!({"ok": true, "root": node.root().await?.map(|c| c.to_string())}),
        Request::DmSync { peer } => match node.sync(&peer).await {
            Ok(r) => json!({"ok": true, "new_entries": r.new_entries, "entries": r.entries}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::Requests => match node.requests().await {
            Ok(list) => {
                let list: Vec<_> = list
                    .iter()
                    .map(|p| json!({"wallet": p.wallet.to_string(), "ipns_name": p.ipns_name().to_string()}))
                    .collect();
                json!({"ok": true, "requests": list})
            }
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::RequestAccept { peer } => match node.accept_request(&peer).await {
            Ok(p) => {
                json!({"ok": true, "wallet": p.wallet.to_string(), "ipns_name": p.ipns_name().to_string()})
            }
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::Block { peer } => match node.block(&peer).await {
            Ok(w) => json!({"ok": true, "wallet": w.to_string()}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::Unblock { wallet } => match wallet.parse() {
            Err(_) => json!({"ok": false, "error": format!("{wallet:?} is not a wallet address")}),
            Ok(w) => match node.unblock(w).await {
                Ok(()) => json!({"ok": true, "wallet": wallet}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            },
        },
        Request::DevicesSeen => {
            let seen: Vec<_> = node
                .devices_seen()
                .await?
                .into_iter()
                .map(|d| {
                    let key = d.signing_key.map(|k| {
                        k.to_bytes()
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    });
                    json!({"signing_key": key, "at": d.at.to_string()})
                })
                .collect();
            json!({"ok": true, "seen": seen})
        }
        Request::Document => {
            let hex: String = node
                .identity_document()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            json!({"ok": true, "hex": hex})
        }
        Request::DocumentSet { hex } => match super::block::decode_hex(&hex) {
            None => json!({"ok": false, "error": "the document is not hex"}),
            Some(document) => match node.set_identity_document(document).await {
                Ok(()) => json!({"ok": true}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            },
        },
        Request::BlockGet { cid } => match cid.parse::<kaichi_transport::Cid>() {
            Err(e) => json!({"ok": false, "error": format!("{cid} is not a CID: {e}")}),
            Ok(cid) => match node.get_block(&cid).await {
                Ok(block) => {
                    let hex: String = block.iter().map(|b| format!("{b:02x}")).collect();
                    json!({"ok": true, "hex": hex})
                }
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            },
        },
        Request::Watch => {
            write
                .write_all(reply(json!({"ok": true})).as_bytes())
                .await?;
            loop {
                match watch.recv().await {
                    Ok(line) => write.write_all(format!("{line}\n").as_bytes()).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        write
                            .write_all(reply(json!({"event": "lagged", "dropped": n})).as_bytes())
                            .await?;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                }
            }
        }
    };
    write.write_all(reply(response).as_bytes()).await?;
    Ok(())
}
