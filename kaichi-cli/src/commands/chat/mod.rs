//! `kaichi chat <contact|group>`: a terminal chat through the running node.
//!
//! The history is read on open; the node's event stream (`watch`) says
//! when something changed and the view is read again (the node's view is
//! the one source of truth: edits, deletions, reactions and delivery
//! marks come with it). Typed lines are sent; short commands reply, edit,
//! delete and react ([`input`]). The screen is plain state ([`screen`]);
//! this module is the terminal and the socket around it. The terminal is
//! restored however the chat ends.

mod input;
mod screen;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::Event;
use crossterm::{cursor, execute, queue, style, terminal};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;

use crate::control::{self, Request};
use crate::profile::Profile;
use input::Typed;
use screen::{Action, Mark, Message, Screen};

/// Most messages ever loaded (scrolling back doubles what is loaded).
const MAX_HISTORY: usize = 10_000;
/// The view is read again at least this often (a missed event, a clock).
const REFRESH: Duration = Duration::from_secs(5);

pub(crate) fn run(profile: &Profile, with: &str, history: usize) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(chat(profile.home(), with, history.clamp(1, MAX_HISTORY)))
}

/// Whom the chat is with.
#[derive(Debug, Clone)]
enum Target {
    /// A contact (wallet address or IPNS name).
    Contact(String),
    /// A group (id or unique name).
    Group(String),
}

struct Chat<'a> {
    home: &'a Path,
    target: Target,
    /// This identity's IPNS name (group messages name their sender).
    me: String,
    limit: usize,
    /// The newest message of theirs this side told them it read.
    marked: Option<String>,
    screen: Screen,
}

async fn chat(home: &Path, with: &str, history: usize) -> anyhow::Result<ExitCode> {
    // Everything that can fail plainly fails before the terminal changes.
    let status = control::call(home, &Request::Status).await?;
    let me = status["ipns_name"].as_str().unwrap_or_default().to_owned();
    let target = which(home, with).await?;
    // The write half stays open as long as the stream is read.
    let (mut events, _events_write) = watch(home).await?;
    let title = match &target {
        Target::Contact(c) => format!("kaichi chat with {c} · times UTC"),
        Target::Group(g) => format!("kaichi chat in group {g} · times UTC"),
    };
    let mut chat = Chat {
        home,
        target,
        me,
        limit: history,
        marked: None,
        screen: Screen::new(title),
    };
    chat.refresh().await;
    let (keys_tx, mut keys) = mpsc::channel::<Event>(64);
    // crossterm reads the terminal blocking: a thread of its own, which
    // ends with the process.
    std::thread::spawn(move || {
        while let Ok(event) = crossterm::event::read() {
            if keys_tx.blocking_send(event).is_err() {
                break;
            }
        }
    });
    let terminal = Terminal::enter()?;
    let mut tick = tokio::time::interval(REFRESH);
    let mut watching = true;
    loop {
        terminal.draw(&mut chat.screen)?;
        tokio::select! {
            key = keys.recv() => match key {
                Some(Event::Key(key)) => {
                    let page = usize::from(terminal::size()?.1.saturating_sub(3));
                    match chat.screen.key(key, page) {
                        Action::Quit => break,
                        Action::Submit(line) if chat.typed(&line).await => break,
                        Action::WantOlder if chat.limit < MAX_HISTORY => {
                            chat.limit = (chat.limit * 2).min(MAX_HISTORY);
                            chat.refresh().await;
                        }
                        _ => {}
                    }
                }
                Some(_) => {} // a resize: drawn again at the top of the loop
                None => break,
            },
            line = events.next_line(), if watching => match line {
                Ok(Some(line)) => {
                    if chat.concerns(&line) {
                        chat.refresh().await;
                    }
                }
                _ => {
                    watching = false;
                    chat.screen.notice =
                        Some("the node stopped: nothing is sent or received (/quit)".into());
                }
            },
            _ = tick.tick() => chat.refresh().await,
        }
    }
    drop(terminal);
    Ok(ExitCode::SUCCESS)
}

/// A contact if the node has a conversation with `with`, else a group.
async fn which(home: &Path, with: &str) -> anyhow::Result<Target> {
    let dm = Request::Read {
        peer: with.to_owned(),
        limit: 1,
    };
    let dm_error = match control::call(home, &dm).await {
        Ok(_) => return Ok(Target::Contact(with.to_owned())),
        Err(e) => e,
    };
    let group = Request::GroupRead {
        group: with.to_owned(),
        limit: 1,
    };
    match control::call(home, &group).await {
        Ok(_) => Ok(Target::Group(with.to_owned())),
        Err(group_error) => anyhow::bail!(
            "{with} is neither a contact ({dm_error:#}) nor a group ({group_error:#})"
        ),
    }
}

/// The node's event stream, a line per event.
async fn watch(
    home: &Path,
) -> anyhow::Result<(
    tokio::io::Lines<BufReader<tokio::net::unix::OwnedReadHalf>>,
    tokio::net::unix::OwnedWriteHalf,
)> {
    let stream = control::connect(home).await?;
    let (read, mut write) = stream.into_split();
    write.write_all(Request::Watch.to_line().as_bytes()).await?;
    let mut lines = BufReader::new(read).lines();
    let first = lines
        .next_line()
        .await?
        .context("the node closed the event stream")?;
    anyhow::ensure!(
        first.contains("\"ok\":true"),
        "the node refused the event stream: {first}"
    );
    Ok((lines, write))
}

impl Chat<'_> {
    /// Whether an event line changes what this chat shows.
    fn concerns(&self, line: &str) -> bool {
        let event: Value = serde_json::from_str(line).unwrap_or_default();
        let kinds: &[&str] = match self.target {
            Target::Contact(_) => &["message", "message_changed", "delivered", "lagged"],
            Target::Group(_) => &["group_message", "group_changed", "group_removed", "lagged"],
        };
        event["event"].as_str().is_some_and(|k| kinds.contains(&k))
    }

    /// Reads the view again; tells the contact what was read.
    async fn refresh(&mut self) {
        let (request, contact) = match &self.target {
            Target::Contact(c) => (
                Request::Read {
                    peer: c.clone(),
                    limit: self.limit,
                },
                true,
            ),
            Target::Group(g) => (
                Request::GroupRead {
                    group: g.clone(),
                    limit: self.limit,
                },
                false,
            ),
        };
        let answer = match control::call(self.home, &request).await {
            Ok(a) => a,
            Err(e) => {
                self.screen.notice = Some(format!("error: {e:#}"));
                return;
            }
        };
        let list = answer["messages"].as_array().cloned().unwrap_or_default();
        self.screen.messages = if contact {
            // Newest first from the node.
            list.iter().rev().map(dm_message).collect()
        } else {
            list.iter().map(|m| group_message(m, &self.me)).collect()
        };
        if let Target::Contact(peer) = &self.target {
            let newest = self
                .screen
                .messages
                .iter()
                .rev()
                .find(|m| !m.mine)
                .and_then(|m| m.cid.clone());
            if newest.is_some() && newest != self.marked {
                let mark = Request::MarkRead {
                    peer: peer.clone(),
                    up_to: newest.clone().unwrap_or_default(),
                };
                if control::call(self.home, &mark).await.is_ok() {
                    self.marked = newest;
                }
            }
        }
    }

    /// Acts on an entered line; `true` to leave.
    async fn typed(&mut self, line: &str) -> bool {
        let typed = match input::parse(line) {
            Ok(t) => t,
            Err(usage) => {
                self.screen.notice = Some(usage);
                return false;
            }
        };
        if typed == Typed::Quit {
            return true;
        }
        let request = match self.request(typed) {
            Ok(Some(r)) => r,
            Ok(None) => return false,
            Err(notice) => {
                self.screen.notice = Some(notice);
                return false;
            }
        };
        if let Err(e) = control::call(self.home, &request).await {
            self.screen.notice = Some(format!("not sent: {e:#}"));
        }
        self.refresh().await;
        false
    }

    /// The request a typed line makes (`None`: nothing to send).
    fn request(&mut self, typed: Typed) -> Result<Option<Request>, String> {
        let contact = match (&self.target, &typed) {
            (Target::Group(group), Typed::Say(text)) => {
                return Ok(Some(Request::GroupSend {
                    group: group.clone(),
                    text: text.clone(),
                }));
            }
            (Target::Group(_), Typed::Reply(..) | Typed::Edit(..) | Typed::Delete(_))
            | (Target::Group(_), Typed::React { .. }) => {
                return Err(
                    "replies, edits, deletions and reactions are for direct messages".into(),
                );
            }
            (Target::Contact(c), _) => c.clone(),
            (Target::Group(_), _) => String::new(),
        };
        let to = contact;
        Ok(Some(match typed {
            Typed::Say(text) => Request::Send { to, text },
            Typed::Reply(n, text) => Request::Reply {
                to,
                target: self.screen.cid_of(n)?,
                text,
            },
            Typed::Edit(n, text) => Request::Edit {
                to,
                target: self.own(n)?,
                text,
            },
            Typed::Delete(n) => Request::Delete {
                to,
                target: self.own(n)?,
            },
            Typed::React {
                n,
                reaction,
                remove,
            } => Request::React {
                to,
                target: self.screen.cid_of(n)?,
                reaction,
                remove,
            },
            Typed::Help => {
                self.screen.notice = Some(input::HELP.to_owned());
                return Ok(None);
            }
            Typed::Quit | Typed::Nothing => return Ok(None),
        }))
    }

    /// The CID of message `#n`, which must be this side's.
    fn own(&self, n: usize) -> Result<String, String> {
        let cid = self.screen.cid_of(n)?;
        match self.screen.messages.get(n - 1) {
            Some(m) if m.mine => Ok(cid),
            _ => Err(format!("#{n} is not yours: only its author can change it")),
        }
    }
}

fn dm_message(m: &Value) -> Message {
    let mine = m["mine"] == true;
    let mark = match (mine, m["read"] == true, m["delivered"] == true) {
        (false, ..) => Mark::None,
        (true, true, _) => Mark::Read,
        (true, false, true) => Mark::Delivered,
        (true, false, false) => Mark::Sent,
    };
    let reactions = m["reactions"]
        .as_object()
        .map(|r| {
            r.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    Message {
        cid: m["cid"].as_str().map(str::to_owned),
        author: if mine { "you".into() } else { "them".into() },
        mine,
        at_ms: m["sent_at_ms"].as_u64().unwrap_or(0),
        text: m["text"].as_str().unwrap_or_default().to_owned(),
        edited: m["edited"] == true,
        deleted: m["deleted"] == true,
        reply_to: m["reply_to"].as_str().map(str::to_owned),
        reactions,
        attachments: m["attachments"].as_u64().unwrap_or(0),
        mark,
    }
}

fn group_message(m: &Value, me: &str) -> Message {
    let sender = m["sender"].as_str().unwrap_or_default();
    let mine = sender == me;
    let author = if mine {
        "you".to_owned()
    } else {
        // k51qzi5uqu5d… is every name's prefix: show the distinctive end.
        let tail: String = sender
            .chars()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    };
    Message {
        cid: None,
        author,
        mine,
        at_ms: m["at_ms"].as_u64().unwrap_or(0),
        text: m["text"].as_str().unwrap_or_default().to_owned(),
        edited: false,
        deleted: false,
        reply_to: None,
        reactions: Vec::new(),
        attachments: 0,
        mark: Mark::None,
    }
}

/// The terminal in raw mode on the alternate screen, restored on drop.
struct Terminal;

impl Terminal {
    fn enter() -> anyhow::Result<Self> {
        terminal::enable_raw_mode().context("the chat needs a terminal (raw mode)")?;
        let guard = Terminal;
        execute!(std::io::stdout(), terminal::EnterAlternateScreen)?;
        Ok(guard)
    }

    fn draw(&self, screen: &mut Screen) -> anyhow::Result<()> {
        let (width, height) = terminal::size()?;
        let (rows, column) = screen.render(width, height);
        let mut out = std::io::stdout().lock();
        queue!(out, cursor::Hide)?;
        for (y, row) in rows.iter().enumerate() {
            let y = u16::try_from(y).unwrap_or(u16::MAX);
            queue!(
                out,
                cursor::MoveTo(0, y),
                style::Print(row),
                terminal::Clear(terminal::ClearType::UntilNewLine)
            )?;
        }
        queue!(
            out,
            cursor::MoveTo(column, height.saturating_sub(1)),
            cursor::Show
        )?;
        out.flush()?;
        Ok(())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Best effort: the terminal is being given back either way.
        let _ = execute!(
            std::io::stdout(),
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
        let _ = terminal::disable_raw_mode();
    }
}
