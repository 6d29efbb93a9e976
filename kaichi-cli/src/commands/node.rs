//! `kaichi node`: runs the node and serves the control socket.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kaichi_identity::KeyEpoch;
use kaichi_transport::{Node, NodeConfigBuilder, NodeEvent};
use serde_json::json;
use tokio::net::UnixListener;
use tokio::sync::broadcast;

use crate::cli::NodeArgs;
use crate::control::socket_path;
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
        NodeEvent::IdentityDocument(d) => json!({"event": "identity_document", "bytes": d.len()}),
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
        NodeEvent::MessageChanged {
            conversation,
            from,
            cid,
            ..
        } => json!({
            "event": "message_changed", "conversation": conversation.to_string(),
            "from": from.to_string(), "cid": cid.to_string(),
        }),
        NodeEvent::Delivered {
            conversation,
            entries,
        } => json!({
            "event": "delivered", "conversation": conversation.to_string(),
            "entries": entries.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        NodeEvent::MessageRequest { name, wallet } => {
            json!({"event": "message_request", "ipns_name": name.to_string(), "wallet": wallet.to_string()})
        }
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
    // Flags and KAICHI_* variables over the profile's config.toml.
    let args = args.over(crate::settings::load(profile.home())?);
    let options = crate::settings::NodeOptions::parse(&args)?;
    let balances = match &args.token_balances {
        Some(path) => Some(Arc::new(crate::balances::SnapshotBalances::load(path)?)),
        None => None,
    };
    // WebRTC-direct listeners present the profile's kept certificate.
    #[cfg(feature = "webrtc")]
    let webrtc = options
        .listen
        .iter()
        .any(|a| a.iter().any(|p| p.tag() == "webrtc-direct"))
        .then(|| profile.webrtc_certificate())
        .transpose()?;
    let configure = move |mut c: NodeConfigBuilder| {
        c = options.configure(c);
        #[cfg(feature = "webrtc")]
        if let Some(certificate) = webrtc {
            c = c.webrtc_certificate(certificate);
        }
        if let Some(b) = balances {
            c = c.balance_source(b);
        }
        if let Some((config, every)) = options.solana {
            c = c
                .solana_rpc(kaichi_transport::solana::SolanaRpc::new(config))
                .token_recheck(every);
        }
        c
    };
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
    let (node, mut events) = builder.configure(configure).start().await?;
    // The primary re-signs its document before it expires, for as long as
    // the node runs (devices take the renewed one from its self-sync).
    let renewal = config.device_of.is_none().then(|| {
        tokio::spawn(super::renewal::renew_while_running(
            node.clone(),
            wallet,
            keys,
            DOCUMENT_LIFETIME,
        ))
    });

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
    let keeper = profile.clone();
    let printer = tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            if let NodeEvent::IdentityDocument(document) = &e {
                // The node's newest document: the one to start from next
                // time (a device another device approved stays granted).
                if let Err(e) = keeper.save_document(document) {
                    tracing::warn!(error = %format!("{e:#}"), "could not keep the identity document");
                }
            }
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
                    if let Err(e) = super::node_control::client(stream, node, watch).await {
                        tracing::debug!(error = %format!("{e:#}"), "a control client went away");
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    // The store is flushed and every connection closed before this returns.
    tracing::info!("stopping");
    if let Some(task) = renewal {
        task.abort();
    }
    node.shutdown().await;
    printer.abort();
    let _ = std::fs::remove_file(&path);
    if json {
        println!("{}", json!({"event": "stopped"}));
    } else {
        println!("kaichi node stopped");
    }
    Ok(ExitCode::SUCCESS)
}
