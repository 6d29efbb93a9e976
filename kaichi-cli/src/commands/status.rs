//! `kaichi status`: is the node up, who it is connected to, what waits.
//!
//! With a node running, its own report (the control request `status`);
//! without one, what the profile holds. Both say where the store, the
//! log and the settings are.

use std::path::Path;
use std::process::ExitCode;

use kaichi_transport::{Node, Reachability};
use serde_json::{Value, json};

use crate::control::{self, Request};
use crate::profile::Profile;

/// The running node's report, as the control socket answers `status`.
pub(super) async fn node_json(node: &Node) -> anyhow::Result<Value> {
    let s = node.status().await?;
    let groups = node.groups().await?;
    let strings = |v: &[kaichi_transport::Multiaddr]| -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    };
    let reachability = match &s.reachability {
        Reachability::Public(addr) => json!({"public": addr.to_string()}),
        Reachability::Private => json!("private"),
        _ => json!("unknown"),
    };
    Ok(json!({
        "ok": true,
        "peer_id": s.peer_id.to_string(),
        "ipns_name": s.name.to_string(),
        "listen_addrs": strings(&s.listen_addrs),
        "external_addrs": strings(&s.external_addrs),
        "observed_addrs": strings(&s.observed_addrs),
        "reachability": reachability,
        "connected": s.connected.iter()
            .map(|p| json!({"peer": p.peer.to_string(), "relay": p.relay}))
            .collect::<Vec<_>>(),
        "dht_mode": if s.dht_server { "server" } else { "client" },
        "routing_table_peers": s.routing_table_peers,
        "unpublished_notifications": s.unpublished_notifications,
        "awaiting_receipt": s.awaiting_receipt,
        "conversations": s.conversations,
        "held_entries": s.held_entries,
        "root": s.root.map(|r| r.to_string()),
        "ipns_sequence": s.ipns_sequence,
        "relay": s.relay.map(|r| json!({"inboxes": r.inboxes, "groups": r.groups,
            "held_notifications": r.held_notifications, "held_bytes": r.held_bytes})),
        "rejected": s.rejected,
        "groups": groups.iter()
            .map(|g| json!({"id": g.id.to_string(), "name": g.name, "epoch": g.epoch,
                "members": g.members.len()}))
            .collect::<Vec<_>>(),
    }))
}

pub(crate) fn run(profile: &Profile, json: bool) -> anyhow::Result<ExitCode> {
    let home = profile.home();
    let (_, keys, config) = profile.identity()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let node = if rt.block_on(control::node_running(home)) {
        Some(rt.block_on(control::call(home, &Request::Status))?)
    } else {
        None
    };
    let groups: Vec<Value> = match &node {
        Some(n) => n["groups"].as_array().cloned().unwrap_or_default(),
        None => super::group::groups_json(profile)?
            .into_iter()
            .map(|g| {
                let mut v = serde_json::to_value(&g).unwrap_or_default();
                v["members"] = json!(v["members"].as_array().map_or(0, Vec::len));
                v
            })
            .collect(),
    };
    let log = home.join("logs").join("node.log");
    let settings = crate::settings::path(home);
    let report = json!({
        "running": node.is_some(),
        "profile": home.display().to_string(),
        "ipns_name": keys.ipns().name().to_string(),
        "wallet": config.wallet,
        "node": node,
        "groups": groups,
        "store_bytes": store_bytes(home),
        "log": log.exists().then(|| log.display().to_string()),
        "config": settings.exists().then(|| settings.display().to_string()),
    });
    if json {
        println!("{report}");
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// The profile database's size, its write-ahead log included.
fn store_bytes(home: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let name = format!("{}{suffix}", kaichi_transport::DATABASE_FILE);
            std::fs::metadata(home.join(name)).ok()
        })
        .map(|m| m.len())
        .sum()
}

fn print_report(r: &Value) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    println!(
        "identity   {} (wallet {})",
        s(&r["ipns_name"]),
        s(&r["wallet"])
    );
    let node = &r["node"];
    if node.is_null() {
        println!("node       not running (start it with `kaichi node`)");
    } else {
        println!("node       running, peer id {}", s(&node["peer_id"]));
        let list = |key: &str| -> Vec<String> {
            node[key]
                .as_array()
                .map(|a| a.iter().map(s).collect())
                .unwrap_or_default()
        };
        println!("listening  {}", list("listen_addrs").join(" "));
        for (label, key) in [
            ("external", "external_addrs"),
            ("observed", "observed_addrs"),
        ] {
            let addrs = list(key);
            let shown = if addrs.is_empty() {
                "none".to_owned()
            } else {
                addrs.join(" ")
            };
            println!("{label:<10} {shown}");
        }
        let reach = match &node["reachability"] {
            Value::String(v) => v.clone(),
            v => format!("public at {}", s(&v["public"])),
        };
        println!("reachable  {reach}");
        let peers = node["connected"].as_array().cloned().unwrap_or_default();
        let relays = peers.iter().filter(|p| p["relay"] == true).count();
        println!("peers      {} connected ({relays} relays)", peers.len());
        for p in &peers {
            let tag = if p["relay"] == true { " (relay)" } else { "" };
            println!("           {}{tag}", s(&p["peer"]));
        }
        println!(
            "dht        {}, {} peers in the routing table",
            s(&node["dht_mode"]),
            n(&node["routing_table_peers"])
        );
        println!(
            "outgoing   {} notifications waiting for a peer, {} messages waiting for a receipt",
            n(&node["unpublished_notifications"]),
            n(&node["awaiting_receipt"])
        );
        if let Some(relay) = node["relay"].as_object() {
            println!(
                "relay      following {} inboxes and {} groups, holding {} notifications ({} bytes)",
                n(&relay["inboxes"]),
                n(&relay["groups"]),
                n(&relay["held_notifications"]),
                n(&relay["held_bytes"])
            );
        }
        println!(
            "memory     {} conversations loaded, {} entries held (older ones in the store)",
            n(&node["conversations"]),
            n(&node["held_entries"])
        );
        println!("rejected   {} messages from peers", n(&node["rejected"]));
    }
    let groups = r["groups"].as_array().cloned().unwrap_or_default();
    println!("groups     {}", groups.len());
    for g in &groups {
        println!(
            "           {} (epoch {}, {} members)",
            s(&g["name"]),
            n(&g["epoch"]),
            n(&g["members"])
        );
    }
    println!("store      {} bytes", n(&r["store_bytes"]));
    for (label, key) in [("log", "log"), ("config", "config")] {
        let value = if r[key].is_null() {
            "none".to_owned()
        } else {
            s(&r[key])
        };
        println!("{label:<10} {value}");
    }
}
