//! `kaichi group` and `kaichi groups`: MLS group chats on the profile's
//! database, exchanged as RFC 9420 `MLSMessage` files.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use kaichi_groups::session::AnyGroup;
use kaichi_groups::{
    Candidate, GroupEvent, GroupId, GroupSession, MemberSigner, NewGroup, NoBalances,
    SessionOutput, SharedBalanceSource, StandardPolicy,
};

/// A group of this profile, in whichever engine holds it.
type Group = AnyGroup<StandardPolicy>;
use kaichi_identity::IpnsName;
use kaichi_privatelog::store::LogStore as _;
use serde::Serialize;

use crate::cli::GroupCommand;
use crate::control::{self, Request};
use crate::output::emit;
use crate::profile::{Profile, write_private};

/// The profile's groups, with the policy nodes apply (the group's own
/// rules; balances from `balances`, none by default).
fn session(
    profile: &Profile,
    me: MemberSigner,
    balances: Option<&Path>,
) -> anyhow::Result<GroupSession<StandardPolicy>> {
    let balances: SharedBalanceSource = match balances {
        Some(path) => Arc::new(crate::balances::SnapshotBalances::load(path)?),
        None => Arc::new(NoBalances),
    };
    Ok(GroupSession::open(
        profile.groups()?,
        me,
        StandardPolicy::new(balances),
    )?)
}

/// What one operation asked to deliver.
#[derive(Default)]
struct Delivery {
    /// MLS messages for the group (a message, proposals, or a commit).
    messages: Vec<Vec<u8>>,
    /// A Welcome and its ratchet tree.
    welcome: Option<(Vec<u8>, Vec<u8>)>,
    /// Whether a commit was made (the epoch moved).
    committed: bool,
}

fn delivery(session: &mut GroupSession<StandardPolicy>) -> Delivery {
    let mut d = Delivery::default();
    while let Some(output) = session.poll_output() {
        match output {
            SessionOutput::Publish { message, .. } => d.messages.push(message),
            SessionOutput::Welcome {
                welcome,
                ratchet_tree,
                ..
            } => d.welcome = Some((welcome, ratchet_tree)),
            SessionOutput::Changed { .. } => d.committed = true,
            _ => {}
        }
    }
    d
}

/// The one message an operation made.
fn one_message(d: &Delivery) -> anyhow::Result<&[u8]> {
    match d.messages.as_slice() {
        [m] => Ok(m),
        other => bail!("expected one message, got {}", other.len()),
    }
}

/// The wallet of a contact named `name` (for token-holder groups).
fn contact_wallet(
    profile: &Profile,
    name: &IpnsName,
) -> anyhow::Result<Option<kaichi_identity::WalletAddress>> {
    Ok(profile
        .store()?
        .conversations()?
        .into_iter()
        .find(|c| c.peer.ipns_name() == *name)
        .map(|c| c.peer.wallet))
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
fn write_commit(d: &Delivery, path: &Path) -> anyhow::Result<()> {
    write_file(path, one_message(d)?)?;
    if let Some((welcome, tree)) = &d.welcome {
        write_file(&path.with_extension("welcome"), welcome)?;
        write_file(&path.with_extension("tree"), tree)?;
    }
    Ok(())
}

#[derive(Serialize)]
pub(super) struct GroupJson {
    id: String,
    name: String,
    epoch: u64,
    members: Vec<String>,
    /// The member whose commits apply (`null` in a plain RFC 9420 group,
    /// where any member's do).
    sequencer: Option<String>,
    /// The MLS engine holding it here (`mls-rs` or `openmls`).
    engine: String,
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
        sequencer: g.metadata().sequencer.map(|s| s.to_string()),
        engine: g.engine().to_string(),
        token_gate: g
            .metadata()
            .token_gate
            .map(|t| serde_json::json!({"mint": t.mint.to_string(), "minimum": t.minimum})),
    }
}

/// `kaichi groups`.
pub(crate) fn list(profile: &Profile, json: bool) -> anyhow::Result<ExitCode> {
    let out = groups_json(profile)?;
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

/// The profile's groups as its database holds them, by name.
pub(super) fn groups_json(profile: &Profile) -> anyhow::Result<Vec<GroupJson>> {
    let (_, keys, _) = profile.identity()?;
    let session = session(profile, MemberSigner::identity(keys.ipns().clone()), None)?;
    let mut out: Vec<GroupJson> = session.groups().map(describe).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Runs `request` on the profile's node.
fn through_node(profile: &Profile, request: &Request) -> anyhow::Result<serde_json::Value> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(control::call(profile.home(), request))
}

/// File-based changes while a node runs would leave the node's view of the
/// group behind the database: refused.
fn no_node(profile: &Profile) -> anyhow::Result<()> {
    if super::node_is_running(profile) {
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
    let balances = match &cmd {
        GroupCommand::Invite { token_balances, .. } => token_balances.clone(),
        _ => None,
    };
    let mut session = session(profile, me, balances.as_deref())?;
    match cmd {
        GroupCommand::Create {
            name,
            description,
            token_mint,
            token_minimum,
            engine,
        } if super::node_is_running(profile) => {
            new_group(&name, &description, token_mint.as_deref(), token_minimum)?;
            if let Some(e) = &engine {
                e.parse::<kaichi_groups::GroupEngine>()?;
            }
            let v = through_node(
                profile,
                &Request::GroupCreate {
                    name,
                    description,
                    token_mint,
                    token_minimum: token_minimum.unwrap_or_default(),
                    engine,
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
        GroupCommand::Request {
            group,
            sequencer,
            mint,
            wait,
        } => {
            let request = super::group_request::JoinRequest {
                group,
                sequencer,
                mint,
                wait,
            };
            return super::group_request::run(profile, request, json, through_node);
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
            engine,
        } => {
            let new = new_group(&name, &description, token_mint.as_deref(), token_minimum)?;
            let engine = match engine {
                Some(e) => e.parse()?,
                None => session.engine(),
            };
            let id = session.create_with(new, engine)?;
            let g = group_of(&session, &id)?;
            emit(json, &describe(g), &id.to_string())?;
        }
        GroupCommand::Keypackage { out, last_resort } => {
            let kp = session.key_package(last_resort)?;
            let me = session.me();
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
            let id = session.find(&group)?;
            let kp = read_file(&keypackage)?;
            // The invitee's wallet, when they are a contact: a token-holder
            // group admits only a wallet whose balance it can check.
            let (_, name) = kaichi_groups::parse_key_package(
                &session.database().provider(),
                &kp,
                &kaichi_groups::NoDevices,
            )
            .with_context(|| format!("reading {}", keypackage.display()))?;
            let mut candidate = Candidate::new(kp);
            if let Some(wallet) = contact_wallet(profile, &name)? {
                candidate = candidate.with_wallet(wallet);
            }
            let epoch = session.add(id, &[candidate])?;
            let d = delivery(&mut session);
            let Some((welcome, tree)) = &d.welcome else {
                if let Some(path) = &commit_out {
                    write_file(path, one_message(&d)?)?;
                }
                bail!(
                    "you are not the sequencer: the add is a proposal for the sequencer to commit"
                );
            };
            write_file(&welcome_out, welcome)?;
            if let Some(path) = &tree_out {
                write_file(path, tree)?;
            }
            if let Some(path) = &commit_out {
                write_file(path, one_message(&d)?)?;
            }
            emit(
                json,
                &serde_json::json!({"epoch": epoch}),
                &format!("invited; the group is at epoch {epoch}"),
            )?;
        }
        GroupCommand::Invite { .. } => bail!("give a member, or --keypackage and --welcome-out"),
        GroupCommand::Join { welcome, tree } => {
            no_node(profile)?;
            let welcome = read_file(&welcome)?;
            let tree = tree.map(|t| read_file(&t)).transpose()?;
            // A large group's tree takes a while to verify.
            let spinner = crate::progress::Progress::spinner(json, "joining: verifying the group");
            let id = session.join(&welcome, tree.as_deref(), None)?;
            spinner.done();
            emit(json, &describe(group_of(&session, &id)?), &id.to_string())?;
        }
        GroupCommand::Send {
            group,
            text,
            out: Some(out),
        } => {
            no_node(profile)?;
            let id = session.find(&group)?;
            session.send(id, text.as_bytes(), crate::commands::now_ms()?)?;
            write_file(&out, one_message(&delivery(&mut session))?)?;
            emit(
                json,
                &serde_json::json!({"file": out}),
                &format!("written to {}", out.display()),
            )?;
        }
        GroupCommand::Decrypt { group, file } => {
            no_node(profile)?;
            let id = session.find(&group)?;
            let bytes = read_file(&file)?;
            let event = session.apply(id, &bytes, crate::commands::now_ms()?)?;
            print_event(&event, json)?;
        }
        GroupCommand::Read { group, limit } => {
            let id = session.find(&group)?;
            let messages = session.messages(&id, limit)?;
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
            let id = session.find(&group)?;
            let g = group_of(&session, &id)?;
            let d = describe(g);
            let mut text = String::new();
            for m in &d.members {
                let tag = if g.metadata().sequencer.is_some_and(|s| *m == s.to_string()) {
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
            let id = session.find(&group)?;
            let name: IpnsName = member
                .parse()
                .map_err(|_| anyhow!("{member} is not an IPNS name"))?;
            session.remove(id, &[name])?;
            let d = delivery(&mut session);
            write_file(&commit_out, one_message(&d)?)?;
            let kind = if d.committed { "commit" } else { "proposal" };
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
            let id = session.find(&group)?;
            session.leave(id)?;
            write_file(&out, one_message(&delivery(&mut session))?)?;
            emit(
                json,
                &serde_json::json!({"file": out}),
                &format!("proposal written to {}", out.display()),
            )?;
        }
        GroupCommand::Commit { group, out } => {
            no_node(profile)?;
            let id = session.find(&group)?;
            let epoch = session.commit_pending(id)?;
            write_commit(&delivery(&mut session), &out)?;
            emit(
                json,
                &serde_json::json!({"epoch": epoch}),
                &format!("committed; epoch {epoch}"),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A loaded group of the session.
fn group_of<'s>(
    session: &'s GroupSession<StandardPolicy>,
    id: &GroupId,
) -> anyhow::Result<&'s Group> {
    session
        .group(id)
        .ok_or_else(|| anyhow!("group {id} is not active in this profile"))
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
