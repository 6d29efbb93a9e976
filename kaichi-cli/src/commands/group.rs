//! `kaichi group` and `kaichi groups`: MLS group chats on the profile's
//! database, exchanged as RFC 9420 `MLSMessage` files.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use kaichi_groups::storage::{DatabaseError, StoredGroupMessage};
use kaichi_groups::{
    AdminPolicy, Candidate, CommitOutput, Group, GroupDatabase, GroupEvent, GroupId, MemberSigner,
    NewGroup, NoDevices, Outgoing, key_package,
};
use kaichi_identity::IpnsName;
use serde::Serialize;

use crate::cli::GroupCommand;
use crate::control::{self, Request};
use crate::output::emit;
use crate::profile::{Profile, write_private};

/// Errors inside a database transaction.
struct TxError(anyhow::Error);

impl From<DatabaseError> for TxError {
    fn from(e: DatabaseError) -> Self {
        Self(e.into())
    }
}

fn tx<T>(
    db: &GroupDatabase,
    f: impl FnOnce(&kaichi_groups::SqliteProvider<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    db.transaction(|p| f(p).map_err(TxError)).map_err(|e| e.0)
}

/// The group a user named: a 64-digit hex id, or a unique name.
fn find(db: &GroupDatabase, which: &str) -> anyhow::Result<GroupId> {
    if let Ok(id) = which.parse::<GroupId>() {
        return Ok(id);
    }
    let matches: Vec<GroupId> = db
        .groups()?
        .into_iter()
        .filter(|g| g.name == which)
        .map(|g| g.id)
        .collect();
    match matches.as_slice() {
        [id] => Ok(*id),
        [] => bail!("no group named {which:?} (see `kaichi groups`)"),
        _ => bail!("several groups are named {which:?}: use the id (see `kaichi groups`)"),
    }
}

fn load(p: &kaichi_groups::SqliteProvider<'_>, id: &GroupId) -> anyhow::Result<Group> {
    Group::load(p, id)?.ok_or_else(|| anyhow!("group {id} is not in this profile"))
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > kaichi_groups::MAX_MESSAGE_BYTES as u64 {
        bail!(
            "{} is larger than any MLS message Kaichi accepts",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_private(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Writes a commit (and the Welcome and tree beside it when there are any).
fn write_commit(out: &CommitOutput, path: &Path) -> anyhow::Result<()> {
    write_file(path, &out.commit)?;
    if let Some(w) = &out.welcome {
        write_file(&path.with_extension("welcome"), w)?;
    }
    if let Some(t) = &out.ratchet_tree {
        write_file(&path.with_extension("tree"), t)?;
    }
    Ok(())
}

fn write_outgoing(out: &Outgoing, path: &Path) -> anyhow::Result<&'static str> {
    match out {
        Outgoing::Commit(c) => {
            write_file(path, &c.commit)?;
            Ok("commit")
        }
        Outgoing::Proposals(ps) => match ps.as_slice() {
            [p] => {
                write_file(path, p)?;
                Ok("proposal")
            }
            _ => bail!("expected one proposal, got {}", ps.len()),
        },
        _ => bail!("unexpected output"),
    }
}

#[derive(Serialize)]
struct GroupJson {
    id: String,
    name: String,
    epoch: u64,
    members: Vec<String>,
    /// A token-holder group's gate: `{"mint", "minimum"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_gate: Option<serde_json::Value>,
}

fn describe(g: &Group) -> GroupJson {
    GroupJson {
        id: g.id().to_string(),
        name: g.metadata().name.clone(),
        epoch: g.epoch(),
        members: g.member_names().iter().map(|n| n.to_string()).collect(),
        token_gate: g
            .metadata()
            .token_gate
            .map(|t| serde_json::json!({"mint": t.mint.to_string(), "minimum": t.minimum})),
    }
}

/// `kaichi groups`.
pub(crate) fn list(profile: &Profile, json: bool) -> anyhow::Result<ExitCode> {
    let db = profile.groups()?;
    let p = db.provider();
    let mut out = Vec::new();
    for record in db.groups()? {
        // Groups this member was removed from stay on disk, inactive.
        if let Some(g) = Group::load(&p, &record.id)?
            && g.is_active()
        {
            out.push(describe(&g));
        }
    }
    if json {
        println!("{}", serde_json::to_string(&out)?);
    } else if out.is_empty() {
        println!("no groups yet (kaichi group create NAME)");
    } else {
        for g in &out {
            println!(
                "{}  {}  epoch {}  {} members",
                g.id,
                g.name,
                g.epoch,
                g.members.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `request` on the profile's node.
fn through_node(profile: &Profile, request: &Request) -> anyhow::Result<serde_json::Value> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(control::call(profile.home(), request))
}

fn node_running(profile: &Profile) -> anyhow::Result<bool> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(control::node_running(profile.home())))
}

/// File-based changes while a node runs would leave the node's view of the
/// group behind the database: refused.
fn no_node(profile: &Profile) -> anyhow::Result<()> {
    if node_running(profile)? {
        bail!(
            "a kaichi node is running for this profile: use the network form of this command \
             (without the file options), or stop the node first"
        );
    }
    Ok(())
}

/// What `group create` asks for; a token gate needs both its mint and its
/// minimum.
pub(crate) fn new_group(
    name: &str,
    description: &str,
    token_mint: Option<&str>,
    token_minimum: Option<u64>,
) -> anyhow::Result<NewGroup> {
    let mut new = NewGroup {
        name: name.to_owned(),
        description: description.to_owned(),
        ..NewGroup::default()
    };
    if let Some(mint) = token_mint {
        let mint = mint
            .parse()
            .map_err(|e| anyhow!("--token-mint {mint}: {e}"))?;
        new = new.token_gated(mint, token_minimum.unwrap_or_default());
    }
    Ok(new)
}

pub(crate) fn run(profile: &Profile, cmd: GroupCommand, json: bool) -> anyhow::Result<ExitCode> {
    let (_, keys, _) = profile.identity()?;
    let me = MemberSigner::identity(keys.ipns().clone());
    let db = profile.groups()?;
    match cmd {
        GroupCommand::Create {
            name,
            description,
            token_mint,
            token_minimum,
        } if node_running(profile)? => {
            new_group(&name, &description, token_mint.as_deref(), token_minimum)?;
            let v = through_node(
                profile,
                &Request::GroupCreate {
                    name,
                    description,
                    token_mint,
                    token_minimum: token_minimum.unwrap_or_default(),
                },
            )?;
            emit(json, &v, v["id"].as_str().unwrap_or_default())?;
        }
        GroupCommand::Invite {
            group,
            member: Some(member),
            ..
        } => {
            let v = through_node(profile, &Request::GroupInvite { group, member })?;
            emit(
                json,
                &v,
                &format!("invited; the group is at epoch {}", v["epoch"]),
            )?;
        }
        GroupCommand::Send {
            group,
            text,
            out: None,
        } => {
            through_node(profile, &Request::GroupSend { group, text })?;
            emit(json, &serde_json::json!({"ok": true}), "sent")?;
        }
        GroupCommand::Remove {
            group,
            member,
            commit_out: None,
        } => {
            let v = through_node(profile, &Request::GroupRemove { group, member })?;
            emit(
                json,
                &v,
                &format!("removed; the group is at epoch {}", v["epoch"]),
            )?;
        }
        GroupCommand::Update { group } => {
            let v = through_node(profile, &Request::GroupUpdate { group })?;
            emit(
                json,
                &v,
                &format!(
                    "keys refreshed (or proposed); the group is at epoch {}",
                    v["epoch"]
                ),
            )?;
        }
        GroupCommand::Admin {
            group,
            member,
            revoke,
        } => {
            let v = through_node(
                profile,
                &Request::GroupAdmin {
                    group,
                    member,
                    admin: !revoke,
                },
            )?;
            emit(
                json,
                &v,
                &format!(
                    "{}; the group is at epoch {}",
                    if revoke {
                        "no longer an admin"
                    } else {
                        "now an admin"
                    },
                    v["epoch"]
                ),
            )?;
        }
        GroupCommand::Leave { group, out: None } => {
            through_node(profile, &Request::GroupLeave { group })?;
            emit(
                json,
                &serde_json::json!({"ok": true}),
                "leaving: the sequencer commits it",
            )?;
        }
        GroupCommand::Create {
            name,
            description,
            token_mint,
            token_minimum,
        } => {
            let new = new_group(&name, &description, token_mint.as_deref(), token_minimum)?;
            let g = tx(&db, |p| {
                let g = Group::create(p, &me, new)?;
                db.record_group(&g.id(), &name)?;
                Ok(g)
            })?;
            emit(json, &describe(&g), &g.id().to_string())?;
        }
        GroupCommand::Keypackage { out, last_resort } => {
            let kp = tx(&db, |p| Ok(key_package(p, &me, last_resort)?))?;
            write_file(&out, &kp)?;
            emit(
                json,
                &serde_json::json!({"file": out, "bytes": kp.len()}),
                &format!("KeyPackage for {} written to {}", me.name(), out.display()),
            )?;
        }
        GroupCommand::Invite {
            group,
            keypackage: Some(keypackage),
            welcome_out: Some(welcome_out),
            tree_out,
            commit_out,
            ..
        } => {
            no_node(profile)?;
            let id = find(&db, &group)?;
            let kp = read_file(&keypackage)?;
            let out = tx(&db, |p| {
                let mut g = load(p, &id)?;
                Ok(g.add(p, &me, &AdminPolicy, &NoDevices, &[Candidate::new(kp)])?)
            })?;
            let Outgoing::Commit(c) = &out else {
                if let Some(path) = &commit_out {
                    write_outgoing(&out, path)?;
                }
                bail!(
                    "you are not the sequencer: the add is a proposal for the sequencer to commit"
                );
            };
            let welcome = c
                .welcome
                .as_deref()
                .ok_or_else(|| anyhow!("no Welcome produced"))?;
            write_file(&welcome_out, welcome)?;
            if let (Some(path), Some(tree)) = (&tree_out, &c.ratchet_tree) {
                write_file(path, tree)?;
            }
            if let Some(path) = &commit_out {
                write_file(path, &c.commit)?;
            }
            emit(
                json,
                &serde_json::json!({"epoch": c.epoch}),
                &format!("invited; the group is at epoch {}", c.epoch),
            )?;
        }
        GroupCommand::Invite { .. } => bail!("give a member, or --keypackage and --welcome-out"),
        GroupCommand::Join { welcome, tree } => {
            no_node(profile)?;
            let welcome = read_file(&welcome)?;
            let tree = tree.map(|t| read_file(&t)).transpose()?;
            let g = tx(&db, |p| {
                let g = Group::join(p, &welcome, tree.as_deref(), &NoDevices)?;
                db.record_group(&g.id(), &g.metadata().name)?;
                Ok(g)
            })?;
            emit(json, &describe(&g), &g.id().to_string())?;
        }
        GroupCommand::Send {
            group,
            text,
            out: Some(out),
        } => {
            no_node(profile)?;
            let id = find(&db, &group)?;
            let bytes = tx(&db, |p| {
                let mut g = load(p, &id)?;
                let bytes = g.send(p, &me, text.as_bytes())?;
                db.save_message(
                    &id,
                    &StoredGroupMessage {
                        epoch: g.epoch(),
                        sender: me.name().to_string(),
                        body: text.clone().into_bytes(),
                        at_ms: crate::commands::now_ms()?,
                    },
                )?;
                Ok(bytes)
            })?;
            write_file(&out, &bytes)?;
            emit(
                json,
                &serde_json::json!({"file": out}),
                &format!("written to {}", out.display()),
            )?;
        }
        GroupCommand::Decrypt { group, file } => {
            no_node(profile)?;
            let id = find(&db, &group)?;
            let bytes = read_file(&file)?;
            let event = tx(&db, |p| {
                let mut g = load(p, &id)?;
                let event = g.process(p, &AdminPolicy, &NoDevices, &bytes)?;
                if let GroupEvent::Message { from, text, epoch } = &event {
                    db.save_message(
                        &id,
                        &StoredGroupMessage {
                            epoch: *epoch,
                            sender: from.to_string(),
                            body: text.clone(),
                            at_ms: crate::commands::now_ms()?,
                        },
                    )?;
                }
                if let GroupEvent::Commit { .. } = event {
                    db.record_group(&id, &g.metadata().name)?;
                }
                Ok(event)
            })?;
            print_event(&event, json)?;
        }
        GroupCommand::Read { group, limit } => {
            let id = find(&db, &group)?;
            let messages = db.messages(&id, limit)?;
            if json {
                let v: Vec<_> = messages
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "from": m.sender,
                            "epoch": m.epoch,
                            "at_ms": m.at_ms,
                            "text": String::from_utf8_lossy(&m.body),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string(&v)?);
            } else {
                for m in &messages {
                    println!("{}: {}", short(&m.sender), String::from_utf8_lossy(&m.body));
                }
            }
        }
        GroupCommand::Members { group } => {
            let id = find(&db, &group)?;
            let g = load(&db.provider(), &id)?;
            let d = describe(&g);
            let mut text = String::new();
            for m in &d.members {
                let tag = if *m == g.metadata().sequencer.to_string() {
                    " (sequencer)"
                } else {
                    ""
                };
                text.push_str(&format!("{m}{tag}\n"));
            }
            emit(json, &d.members, text.trim_end())?;
        }
        GroupCommand::Remove {
            group,
            member,
            commit_out: Some(commit_out),
        } => {
            no_node(profile)?;
            let id = find(&db, &group)?;
            let name: IpnsName = member
                .parse()
                .map_err(|_| anyhow!("{member} is not an IPNS name"))?;
            let out = tx(&db, |p| {
                let mut g = load(p, &id)?;
                Ok(g.remove(p, &me, &AdminPolicy, &[name])?)
            })?;
            let kind = write_outgoing(&out, &commit_out)?;
            emit(
                json,
                &serde_json::json!({"kind": kind}),
                &format!("{kind} written to {}", commit_out.display()),
            )?;
        }
        GroupCommand::Leave {
            group,
            out: Some(out),
        } => {
            no_node(profile)?;
            let id = find(&db, &group)?;
            let bytes = tx(&db, |p| {
                let mut g = load(p, &id)?;
                Ok(g.leave(p, &me)?)
            })?;
            write_file(&out, &bytes)?;
            emit(
                json,
                &serde_json::json!({"file": out}),
                &format!("proposal written to {}", out.display()),
            )?;
        }
        GroupCommand::Commit { group, out } => {
            no_node(profile)?;
            let id = find(&db, &group)?;
            let c = tx(&db, |p| {
                let mut g = load(p, &id)?;
                Ok(g.commit_pending(p, &me, &AdminPolicy)?)
            })?;
            write_commit(&c, &out)?;
            emit(
                json,
                &serde_json::json!({"epoch": c.epoch}),
                &format!("committed; epoch {}", c.epoch),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn short(name: &str) -> String {
    name.chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn print_event(event: &GroupEvent, json: bool) -> anyhow::Result<()> {
    match event {
        GroupEvent::Message { from, text, epoch } => emit(
            json,
            &serde_json::json!({"kind": "message", "from": from.to_string(), "epoch": epoch,
                "text": String::from_utf8_lossy(text)}),
            &format!(
                "{}: {}",
                short(&from.to_string()),
                String::from_utf8_lossy(text)
            ),
        ),
        GroupEvent::Proposal { from } => emit(
            json,
            &serde_json::json!({"kind": "proposal", "from": from.to_string()}),
            &format!("proposal from {from} queued for the sequencer"),
        ),
        GroupEvent::Commit {
            from,
            epoch,
            added,
            removed,
            metadata_changed,
        } => emit(
            json,
            &serde_json::json!({"kind": "commit", "from": from.to_string(), "epoch": epoch,
                "added": added.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                "removed": removed.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
                "metadata_changed": metadata_changed}),
            &format!("epoch {epoch}: +{} -{} members", added.len(), removed.len()),
        ),
        GroupEvent::RemovedSelf { from } => emit(
            json,
            &serde_json::json!({"kind": "removed", "from": from.to_string()}),
            &format!("{from} removed you from the group"),
        ),
        _ => emit(json, &serde_json::json!({"kind": "other"}), "processed"),
    }
}
