//! `kaichi log`: local conversation logs and CAR files.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kaichi_identity::{IdentityKeys, IpnsName, WalletAddress};
use kaichi_privatelog::car::read_car;
use kaichi_privatelog::store::{
    LogStore as _, SqliteStore, StoredConversation, export_conversation,
};
use kaichi_privatelog::{
    AuthorTag, Conversation, ConversationId, ConversationKeys, Cursor, Entry, EntryCid, Message,
    SealedEntry,
};
use serde::Serialize;

use crate::cli::LogCommand;
use crate::output::emit;
use crate::profile::Profile;
use crate::progress::{Progress, Unit};

/// Largest CAR file read.
const MAX_CAR_FILE: u64 = 256 * 1024 * 1024;

#[derive(Debug, Serialize)]
struct VerifyJson {
    valid: bool,
    blocks: usize,
    roots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bad_block: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(crate) fn run(profile: &Profile, cmd: LogCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        LogCommand::Append { peer, text } => {
            let (keys, store, mut conv) = open(profile, &peer)?;
            let entry = conv.append(
                keys.ipns(),
                &Message::text(text, super::now_ms()?),
                &super::random16()?,
            )?;
            store.add_entries(&conv.id(), &[&entry])?;
            #[derive(Serialize)]
            struct Appended {
                cid: String,
                clock: u64,
            }
            let out = Appended {
                cid: entry.cid().to_string(),
                clock: entry.clock(),
            };
            emit(
                json,
                &out,
                &format!("appended {} (clock {})", out.cid, out.clock),
            )?;
        }
        LogCommand::Show {
            peer,
            limit,
            before,
        } => {
            let (_, _, conv) = open(profile, &peer)?;
            let cursor: Option<Cursor> = before.map(|b| b.parse()).transpose()?;
            let page = conv.page(cursor.as_ref(), limit);
            let view = crate::output::page_json(&conv, &page);
            if json {
                println!("{}", serde_json::to_string(&view)?);
            } else {
                for m in view.messages.iter().rev() {
                    let who = if m.mine { "me" } else { "them" };
                    let flag = if m.deleted {
                        " (deleted)"
                    } else if m.edited {
                        " (edited)"
                    } else {
                        ""
                    };
                    println!("[{}] {who}: {}{flag}", m.clock, m.text);
                }
                if let Some(next) = &view.next {
                    println!("-- older: --before {next}");
                }
            }
        }
        LogCommand::Export { peer, out } => {
            let (_, store, conv) = open(profile, &peer)?;
            if conv.is_empty() {
                bail!("the conversation with {peer} has no entries to export");
            }
            let spinner = Progress::spinner(json, "exporting");
            let car = export_conversation(&conv, &store)?;
            spinner.done();
            std::fs::write(&out, &car).with_context(|| format!("writing {}", out.display()))?;
            #[derive(Serialize)]
            struct Exported {
                file: String,
                blocks: usize,
                bytes: usize,
                roots: Vec<String>,
            }
            let e = Exported {
                file: out.display().to_string(),
                blocks: conv.len(),
                bytes: car.len(),
                roots: conv.heads().iter().map(ToString::to_string).collect(),
            };
            emit(
                json,
                &e,
                &format!(
                    "exported {} blocks ({} bytes) to {}",
                    e.blocks, e.bytes, e.file
                ),
            )?;
        }
        LogCommand::Import { file } => {
            let (_, keys, _) = profile.identity()?;
            let store = profile.store()?;
            let car = read_car(&read_bounded(&file)?)
                .with_context(|| format!("{} is not a valid CAR file", file.display()))?;
            let mut convs: HashMap<ConversationId, Conversation> = HashMap::new();
            // Blocks name no conversation: each contact's outbox tags say
            // which conversation (if any) a block belongs to.
            let mut known: HashMap<AuthorTag, StoredConversation> = HashMap::new();
            for stored in store.conversations()? {
                let conv_keys = ConversationKeys::derive(&keys, &stored.peer)?;
                for who in [keys.ipns().public(), stored.peer.ipns] {
                    if let Some(tag) = conv_keys.author_tag(&who) {
                        known.insert(tag, stored);
                    }
                }
            }
            let mut accepted: HashMap<ConversationId, Vec<Entry>> = HashMap::new();
            let bar = Progress::bar(json, "importing", Unit::Blocks);
            let blocks = car.blocks.len() as u64;
            for (i, (cid, block)) in car.blocks.iter().enumerate() {
                bar.show(i as u64, blocks);
                let ecid = EntryCid::try_from(*cid)
                    .with_context(|| format!("block {i} ({cid}) is not a Kaichi entry"))?;
                let sealed = SealedEntry::decode(block, Some(&ecid))
                    .with_context(|| format!("block {i} ({cid}) is invalid"))?;
                let Some(stored) = known.get(sealed.log()) else {
                    bail!(
                        "block {i} ({cid}) belongs to a conversation not with one of your contacts"
                    );
                };
                let id = stored.id;
                let conv = match convs.entry(id) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(load(&keys, &store, stored)?)
                    }
                };
                let ins = conv
                    .ingest_sealed(&sealed)
                    .with_context(|| format!("block {i} ({cid}) is rejected"))?;
                if let Some(entry) = ins.entry {
                    accepted.entry(id).or_default().push(entry);
                }
            }
            bar.done();
            let mut total = 0;
            for (id, entries) in &accepted {
                store.add_entries(id, &entries.iter().collect::<Vec<_>>())?;
                total += entries.len();
            }
            #[derive(Serialize)]
            struct Imported {
                blocks: usize,
                new_entries: usize,
                conversations: usize,
            }
            let out = Imported {
                blocks: car.blocks.len(),
                new_entries: total,
                conversations: accepted.len(),
            };
            emit(
                json,
                &out,
                &format!(
                    "imported {} new entries from {} blocks",
                    out.new_entries, out.blocks
                ),
            )?;
        }
        LogCommand::Verify { file } => return verify(&file, json),
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(file: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = read_bounded(file)?;
    let fail =
        |bad_block: Option<String>, error: String, blocks: usize| -> anyhow::Result<ExitCode> {
            if json {
                let v = VerifyJson {
                    valid: false,
                    blocks,
                    roots: vec![],
                    bad_block,
                    error: Some(error),
                };
                println!("{}", serde_json::to_string(&v)?);
            } else {
                eprintln!("invalid: {error}");
            }
            Ok(ExitCode::FAILURE)
        };
    let car = match read_car(&bytes) {
        Ok(c) => c,
        Err(e) => {
            let bad = match &e {
                kaichi_privatelog::car::CarError::HashMismatch(c) => Some(c.to_string()),
                _ => None,
            };
            return fail(bad, e.to_string(), 0);
        }
    };
    let bar = Progress::bar(json, "verifying", Unit::Blocks);
    for (i, (cid, block)) in car.blocks.iter().enumerate() {
        bar.show(i as u64, car.blocks.len() as u64);
        let checked = EntryCid::try_from(*cid)
            .map_err(|e| e.to_string())
            .and_then(|c| SealedEntry::decode(block, Some(&c)).map_err(|e| e.to_string()));
        if let Err(e) = checked {
            return fail(
                Some(cid.to_string()),
                format!("block {i} ({cid}): {e}"),
                car.blocks.len(),
            );
        }
    }
    let v = VerifyJson {
        valid: true,
        blocks: car.blocks.len(),
        roots: car.roots.iter().map(ToString::to_string).collect(),
        bad_block: None,
        error: None,
    };
    emit(
        json,
        &v,
        &format!(
            "valid: {} blocks, every CID and entry checks (signatures are inside the envelopes: `log import` opens and verifies them)",
            v.blocks
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn read_bounded(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let len = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if len > MAX_CAR_FILE {
        bail!("{} is {len} bytes (max {MAX_CAR_FILE})", file.display());
    }
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

/// The profile's keys, store and the loaded conversation with `peer`.
fn open(
    profile: &Profile,
    peer: &str,
) -> anyhow::Result<(IdentityKeys, SqliteStore, Conversation)> {
    let (_, keys, _) = profile.identity()?;
    let store = profile.store()?;
    let stored = find_contact(&store, peer)?;
    let conv = load(&keys, &store, &stored)?;
    Ok((keys, store, conv))
}

fn load(
    keys: &IdentityKeys,
    store: &SqliteStore,
    stored: &StoredConversation,
) -> anyhow::Result<Conversation> {
    let mut conv = Conversation::new(keys, &stored.peer)?;
    conv.load(store)?;
    Ok(conv)
}

/// Finds a contact by wallet address or IPNS name.
pub(crate) fn find_contact(store: &SqliteStore, peer: &str) -> anyhow::Result<StoredConversation> {
    let wallet = peer.parse::<WalletAddress>().ok();
    let name = peer.parse::<IpnsName>().ok();
    if wallet.is_none() && name.is_none() {
        bail!("{peer:?} is neither a wallet address nor an IPNS name");
    }
    store
        .conversations()?
        .into_iter()
        .find(|c| Some(c.peer.wallet) == wallet || Some(c.peer.ipns_name()) == name)
        .with_context(|| {
            format!("{peer} is not a contact: add them with `kaichi contacts add FILE`")
        })
}
