//! `kaichi requests [accept|block]` and `kaichi contacts unblock`: through
//! the running node when there is one (it holds the invitations requests
//! sent), else straight on the profile's store.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kaichi_identity::WalletAddress;
use kaichi_privatelog::store::LogStore as _;
use serde::Serialize;

use crate::cli::RequestsCommand;
use crate::control::{Request, call};
use crate::output::emit;
use crate::profile::Profile;

/// A request as `kaichi requests --json` lists it.
#[derive(Debug, Serialize)]
struct RequestJson {
    wallet: String,
    ipns_name: String,
}

/// The node's answer to `request`, or `None` when no node runs.
pub(super) fn through_node(
    profile: &Profile,
    request: &Request,
) -> anyhow::Result<Option<serde_json::Value>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if !runtime.block_on(crate::control::node_running(profile.home())) {
        return Ok(None);
    }
    let v = runtime.block_on(call(profile.home(), request))?;
    if v["ok"] != true {
        bail!("{}", v["error"].as_str().unwrap_or("the node refused"));
    }
    Ok(Some(v))
}

pub(crate) fn run(
    profile: &Profile,
    cmd: Option<RequestsCommand>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match cmd {
        None => {
            let list: Vec<RequestJson> = match through_node(profile, &Request::Requests)? {
                Some(v) => v["requests"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| RequestJson {
                        wallet: r["wallet"].as_str().unwrap_or_default().to_owned(),
                        ipns_name: r["ipns_name"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
                None => {
                    let store = profile.store()?;
                    let open = store.requests()?;
                    store
                        .conversations()?
                        .into_iter()
                        .filter(|c| open.contains(&c.id))
                        .map(|c| RequestJson {
                            wallet: c.peer.wallet.to_string(),
                            ipns_name: c.peer.ipns_name().to_string(),
                        })
                        .collect()
                }
            };
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!("no message requests");
            } else {
                for r in &list {
                    println!("{}  {}", r.wallet, r.ipns_name);
                }
                println!("`kaichi requests accept PEER` or `kaichi requests block PEER`");
            }
        }
        Some(RequestsCommand::Accept { peer }) => {
            let request = Request::RequestAccept { peer: peer.clone() };
            let who = match through_node(profile, &request)? {
                Some(v) => v["wallet"].as_str().unwrap_or_default().to_owned(),
                None => {
                    let store = profile.store()?;
                    let c = super::log::find_contact(&store, &peer)?;
                    store.set_request(&c.id, false)?;
                    c.peer.wallet.to_string()
                }
            };
            emit(
                json,
                &serde_json::json!({ "accepted": who }),
                &format!("{who} is a contact now"),
            )?;
        }
        Some(RequestsCommand::Block { peer }) => {
            let wallet = block(profile, &peer)?;
            emit(
                json,
                &serde_json::json!({ "blocked": wallet }),
                &format!(
                    "blocked {wallet}: nothing from it is kept until `kaichi contacts unblock {wallet}`"
                ),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Blocks `peer` (a wallet address, or a conversation's peer by IPNS name);
/// returns the wallet.
fn block(profile: &Profile, peer: &str) -> anyhow::Result<String> {
    if let Some(v) = through_node(
        profile,
        &Request::Block {
            peer: peer.to_owned(),
        },
    )? {
        return Ok(v["wallet"].as_str().unwrap_or_default().to_owned());
    }
    let store = profile.store()?;
    let wallet = match peer.parse::<WalletAddress>() {
        Ok(w) => w,
        Err(_) => super::log::find_contact(&store, peer)?.peer.wallet,
    };
    store.set_blocked(&wallet, true)?;
    Ok(wallet.to_string())
}

/// `kaichi contacts unblock PEER`.
pub(crate) fn unblock(profile: &Profile, peer: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = profile.store()?;
    let wallet = match peer.parse::<WalletAddress>() {
        Ok(w) => w,
        Err(_) => {
            super::log::find_contact(&store, peer)
                .with_context(|| format!("{peer:?} is not a wallet address"))?
                .peer
                .wallet
        }
    };
    let request = Request::Unblock {
        wallet: wallet.to_string(),
    };
    if through_node(profile, &request)?.is_none() {
        store.set_blocked(&wallet, false)?;
    }
    emit(
        json,
        &serde_json::json!({ "unblocked": wallet.to_string() }),
        &format!("unblocked {wallet}"),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Whether a contact listing shows `c`: not a request, not blocked.
pub(crate) fn is_listed_contact(
    store: &kaichi_privatelog::store::SqliteStore,
    requests: &[kaichi_privatelog::ConversationId],
    c: &kaichi_privatelog::store::StoredConversation,
) -> anyhow::Result<bool> {
    Ok(!requests.contains(&c.id) && !store.is_blocked(&c.peer.wallet)?)
}
