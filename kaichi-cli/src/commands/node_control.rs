//! The control socket's server side: one request per connection, answered
//! from the running [`Node`] (see [`kaichi_cli::control_protocol`]).

use kaichi_transport::Node;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;
use tokio::sync::broadcast;

use crate::control::{MAX_LINE, Request};

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

pub(super) async fn client(
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
                    .map(|m| {
                        let reactions: serde_json::Map<String, serde_json::Value> = m
                            .reactions
                            .iter()
                            .map(|(r, who)| (r.clone(), json!(who.len())))
                            .collect();
                        json!({"cid": m.cid.to_string(), "mine": m.mine, "clock": m.clock,
                            "sent_at_ms": m.sent_at_ms, "text": m.text, "delivered": m.delivered,
                            "read": m.read, "edited": m.edited, "deleted": m.deleted,
                            "reply_to": m.reply_to.map(|c| c.to_string()),
                            "attachments": m.attachments.len(), "reactions": reactions})
                    })
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
        Request::Status => match super::status::node_json(&node).await {
            Ok(v) => v,
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::Reply { to, target, text } => match cid(&target) {
            Err(e) => e,
            Ok(t) => done(node.reply(&to, t, &text).await),
        },
        Request::Edit { to, target, text } => match cid(&target) {
            Err(e) => e,
            Ok(t) => done(node.edit(&to, t, &text).await),
        },
        Request::Delete { to, target } => match cid(&target) {
            Err(e) => e,
            Ok(t) => done(node.delete(&to, t).await),
        },
        Request::React {
            to,
            target,
            reaction,
            remove,
        } => match cid(&target) {
            Err(e) => e,
            Ok(t) => done(node.react(&to, t, &reaction, remove).await),
        },
        Request::MarkRead { peer, up_to } => match cid(&up_to) {
            Err(e) => e,
            Ok(t) => done(node.mark_read(&peer, t).await),
        },
        Request::GroupRead { group, limit } => match node.read_group(group.as_str(), limit).await {
            Ok(list) => {
                let messages: Vec<_> = list
                    .iter()
                    .map(|m| {
                        json!({"epoch": m.epoch, "sender": m.sender, "at_ms": m.at_ms,
                            "text": String::from_utf8_lossy(&m.body)})
                    })
                    .collect();
                json!({"ok": true, "messages": messages})
            }
            Err(e) => json!({"ok": false, "error": e.to_string()}),
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

/// A message's CID from a request, or the error answer.
fn cid(text: &str) -> Result<kaichi_privatelog::EntryCid, serde_json::Value> {
    text.parse::<kaichi_privatelog::EntryCid>()
        .map_err(|e| json!({"ok": false, "error": format!("{text} is not a message CID: {e}")}))
}

/// The answer to a write: the new entry's CID, or the error.
fn done(
    written: Result<kaichi_privatelog::EntryCid, kaichi_transport::NodeError>,
) -> serde_json::Value {
    match written {
        Ok(cid) => json!({"ok": true, "cid": cid.to_string()}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}
