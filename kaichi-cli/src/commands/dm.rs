//! `kaichi dm`: direct messages through the running node.

use std::process::ExitCode;

use anyhow::Context as _;
use kaichi_privatelog::Conversation;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

use crate::cli::DmCommand;
use crate::control::{self, Request};
use crate::profile::Profile;
use crate::progress::{Progress, Unit};

pub(crate) fn run(profile: &Profile, cmd: DmCommand, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match cmd {
            DmCommand::Send {
                peer,
                text,
                file: Some(file),
            } => {
                let path = std::path::absolute(&file)
                    .with_context(|| format!("{}", file.display()))?;
                let request = Request::SendFile {
                    to: peer,
                    path,
                    text: text.unwrap_or_default(),
                };
                let bar = Progress::bar(json, "sending", Unit::Bytes);
                let v = control::call_with_progress(profile.home(), &request, |d, t| bar.show(d, t))
                    .await?;
                bar.done();
                if json {
                    println!("{}", serde_json::json!({"cid": v["cid"]}));
                } else {
                    println!("sent {}", v["cid"].as_str().unwrap_or("?"));
                }
            }
            DmCommand::Save {
                message,
                out,
                index,
            } => {
                let out = std::path::absolute(&out)
                    .with_context(|| format!("{}", out.display()))?;
                let request = Request::SaveFile {
                    message,
                    index,
                    out: out.clone(),
                };
                let bar = Progress::bar(json, "saving", Unit::Bytes);
                let v = control::call_with_progress(profile.home(), &request, |d, t| bar.show(d, t))
                    .await?;
                bar.done();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"name": v["name"], "mime": v["mime"], "size": v["size"], "out": out})
                    );
                } else {
                    println!(
                        "saved {} ({} bytes) to {}",
                        v["name"].as_str().unwrap_or("?"),
                        v["size"],
                        out.display()
                    );
                }
            }
            DmCommand::Send { peer, text, .. } => {
                let text = text.unwrap_or_default();
                let v = control::call(profile.home(), &Request::Send { to: peer, text }).await?;
                if json {
                    println!("{}", serde_json::json!({"cid": v["cid"]}));
                } else {
                    println!("sent {}", v["cid"].as_str().unwrap_or("?"));
                }
            }
            DmCommand::Read { peer, limit } => {
                // Through the node when it runs; otherwise straight from the store.
                match control::call(
                    profile.home(),
                    &Request::Read {
                        peer: peer.clone(),
                        limit,
                    },
                )
                .await
                {
                    Ok(v) => {
                        let messages = v["messages"].as_array().cloned().unwrap_or_default();
                        if json {
                            println!("{}", serde_json::json!({"messages": messages}));
                        } else {
                            for m in messages.iter().rev() {
                                let mine = m["mine"] == true;
                                let who = if mine { "me" } else { "them" };
                                let mark = crate::output::delivery_mark(
                                    mine,
                                    m["delivered"] == true,
                                    m["read"] == true,
                                );
                                println!(
                                    "[{}] {who}: {}{mark}",
                                    m["clock"],
                                    m["text"].as_str().unwrap_or("")
                                );
                            }
                        }
                    }
                    Err(e) if e.to_string().contains("no kaichi node is running") => {
                        let (_, keys, _) = profile.identity()?;
                        let store = profile.store()?;
                        let contact = super::log::find_contact(&store, &peer)?;
                        let mut conv = Conversation::new(&keys, &contact.peer)?;
                        conv.load(&store)?;
                        let page = crate::output::page_json(&conv, &conv.page(None, limit));
                        if json {
                            println!("{}", serde_json::to_string(&page)?);
                        } else {
                            for m in page.messages.iter().rev() {
                                println!(
                                    "[{}] {}: {}{}",
                                    m.clock,
                                    if m.mine { "me" } else { "them" },
                                    m.text,
                                    crate::output::delivery_mark(m.mine, m.delivered, m.read)
                                );
                            }
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            DmCommand::Sync { peer } => {
                let spinner = Progress::spinner(json, &format!("syncing {peer}'s outbox"));
                let v = control::call(profile.home(), &Request::DmSync { peer: peer.clone() }).await?;
                spinner.done();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"new_entries": v["new_entries"], "entries": v["entries"]})
                    );
                } else {
                    println!(
                        "synced {peer}: {} new entries ({} in the conversation)",
                        v["new_entries"], v["entries"]
                    );
                }
            }
            DmCommand::Watch => {
                let stream = control::connect(profile.home()).await?;
                let (read, mut write) = stream.into_split();
                write.write_all(b"{\"op\":\"watch\"}\n").await?;
                let mut lines = BufReader::new(read).lines();
                let _ack = lines.next_line().await?;
                while let Some(line) = lines.next_line().await? {
                    if json {
                        println!("{line}");
                    } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                        && v["event"] == "message"
                    {
                        println!(
                            "{}: {}",
                            v["from"].as_str().unwrap_or("?"),
                            v["text"].as_str().unwrap_or("")
                        );
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
