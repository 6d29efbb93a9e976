//! `kaichi contacts`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kaichi_identity::document::verify_document;
use kaichi_privatelog::Conversation;
use kaichi_privatelog::store::{LogStore as _, StoredConversation};
use serde::Serialize;

use crate::cli::ContactsCommand;
use crate::output::emit;
use crate::profile::Profile;

/// A contact as `kaichi contacts --json` lists it.
#[derive(Debug, Serialize)]
pub(crate) struct ContactJson {
    pub(crate) wallet: String,
    pub(crate) ipns_name: String,
    pub(crate) dm_public_key: String,
    pub(crate) epoch: u32,
    pub(crate) conversation: String,
    pub(crate) entries: u64,
}

/// Largest identity document file read.
const MAX_DOCUMENT_FILE: u64 = 64 * 1024;

pub(crate) fn run(
    profile: &Profile,
    cmd: Option<ContactsCommand>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = profile.store()?;
    match cmd {
        Some(ContactsCommand::Add { file }) => {
            let (_, keys, _) = profile.identity()?;
            let len = std::fs::metadata(&file)
                .with_context(|| format!("reading {}", file.display()))?
                .len();
            if len > MAX_DOCUMENT_FILE {
                bail!(
                    "{} is {len} bytes; identity documents are at most {MAX_DOCUMENT_FILE}",
                    file.display()
                );
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let doc = verify_document(&bytes, super::now()?)
                .with_context(|| format!("{} is not a valid identity document", file.display()))?;
            let peer = *doc.public();
            let conv = Conversation::new(&keys, &peer)?;
            store.save_conversation(&StoredConversation {
                id: conv.id(),
                peer,
            })?;
            // Adding someone whose message request waits accepts it.
            store.set_request(&conv.id(), false)?;
            // A running node holds this side's requests in memory: if this
            // contact was one, it becomes a contact there too and the group
            // invitations it sent are taken up. (A node that does not know
            // the contact yet has nothing to take up.)
            let accept = crate::control::Request::RequestAccept {
                peer: peer.wallet.to_string(),
            };
            if let Err(e) = super::requests::through_node(profile, &accept) {
                tracing::debug!(error = %format!("{e:#}"), "the node had no request to accept");
            }
            let c = contact(
                &store,
                &StoredConversation {
                    id: conv.id(),
                    peer,
                },
            )?;
            emit(json, &c, &format!("added {} ({})", c.ipns_name, c.wallet))?;
        }
        Some(ContactsCommand::Unblock { peer }) => {
            return super::requests::unblock(profile, &peer, json);
        }
        None => {
            // Requests and blocked wallets are not contacts (`kaichi requests`).
            let requests = store.requests()?;
            let mut list = Vec::new();
            for c in store.conversations()? {
                if super::requests::is_listed_contact(&store, &requests, &c)? {
                    list.push(contact(&store, &c)?);
                }
            }
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else if list.is_empty() {
                println!(
                    "no contacts yet: `kaichi contacts add FILE` with their identity document"
                );
            } else {
                for c in &list {
                    println!("{}  {}  {} entries", c.wallet, c.ipns_name, c.entries);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn contact(
    store: &kaichi_privatelog::store::SqliteStore,
    c: &StoredConversation,
) -> anyhow::Result<ContactJson> {
    Ok(ContactJson {
        wallet: c.peer.wallet.to_string(),
        ipns_name: c.peer.ipns_name().to_string(),
        dm_public_key: c.peer.dm.to_string(),
        epoch: c.peer.epoch.get(),
        conversation: c.id.to_string(),
        entries: store.entry_count(&c.id)?,
    })
}
