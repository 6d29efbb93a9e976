//! The chat's screen as plain state: the messages shown, the line being
//! typed, the scroll position; keys in, rows of text out. No terminal
//! here (the caller draws the rows), so all of it is unit-tested.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// How far the other side has got with one of this side's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Not this side's message (or a group message: no receipts).
    None,
    /// Written and announced.
    Sent,
    /// Their node stored it.
    Delivered,
    /// They read it.
    Read,
}

/// A message as the chat shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// Its CID (commands refer to it by its number on screen).
    pub(crate) cid: Option<String>,
    /// Who wrote it, as shown (`you` for this side).
    pub(crate) author: String,
    /// This side wrote it.
    pub(crate) mine: bool,
    /// When it was sent, Unix milliseconds.
    pub(crate) at_ms: u64,
    /// The text (empty when deleted).
    pub(crate) text: String,
    /// Edited by its author.
    pub(crate) edited: bool,
    /// Deleted by its author.
    pub(crate) deleted: bool,
    /// The CID of the message it replies to.
    pub(crate) reply_to: Option<String>,
    /// Reactions and how many hold each.
    pub(crate) reactions: Vec<(String, u64)>,
    /// Files it carries.
    pub(crate) attachments: u64,
    /// Delivery state of this side's messages.
    pub(crate) mark: Mark,
}

/// What a key asks the chat to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Nothing changed.
    None,
    /// Draw again.
    Redraw,
    /// The typed line was entered.
    Submit(String),
    /// Scrolled to the top of what is loaded: load older messages.
    WantOlder,
    /// Leave.
    Quit,
}

/// The chat's state.
#[derive(Debug, Default)]
pub(crate) struct Screen {
    /// The top line.
    pub(crate) title: String,
    /// Oldest first; message `#n` is `messages[n - 1]`.
    pub(crate) messages: Vec<Message>,
    /// A one-line notice (an error, the help); replaces the key help.
    pub(crate) notice: Option<String>,
    input: Vec<char>,
    cursor: usize,
    /// Rows scrolled up from the newest.
    scroll: usize,
}

/// The bottom line when there is no notice.
const KEYS: &str = "Enter send · /help commands · PgUp/PgDn scroll · Ctrl-C quit";

impl Screen {
    /// A screen titled `title`.
    pub(crate) fn new(title: String) -> Self {
        Self {
            title,
            ..Self::default()
        }
    }

    /// The CID of message `#n`.
    pub(crate) fn cid_of(&self, n: usize) -> Result<String, String> {
        n.checked_sub(1)
            .and_then(|i| self.messages.get(i))
            .and_then(|m| m.cid.clone())
            .ok_or_else(|| format!("no message #{n} on screen"))
    }

    /// Every message as rows of at most `width` characters.
    fn rows(&self, width: usize) -> Vec<String> {
        let number: std::collections::HashMap<&str, usize> = self
            .messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((m.cid.as_deref()?, i + 1)))
            .collect();
        let mut rows = Vec::new();
        for (i, m) in self.messages.iter().enumerate() {
            let mut line = format!("#{} {} {}: ", i + 1, clock(m.at_ms), m.author);
            if let Some(r) = &m.reply_to {
                match number.get(r.as_str()) {
                    Some(n) => line.push_str(&format!("↳#{n} ")),
                    None => line.push_str("↳(older) "),
                }
            }
            if m.deleted {
                line.push_str("(deleted)");
            } else {
                line.push_str(&m.text);
            }
            if m.attachments > 0 {
                line.push_str(&format!(" [{} file(s): dm save]", m.attachments));
            }
            if m.edited && !m.deleted {
                line.push_str(" (edited)");
            }
            for (r, count) in &m.reactions {
                line.push_str(&format!(" {r}{count}"));
            }
            match m.mark {
                Mark::None => {}
                Mark::Sent => line.push_str(" (sent)"),
                Mark::Delivered => line.push_str(" (delivered)"),
                Mark::Read => line.push_str(" (read)"),
            }
            rows.extend(wrap(&line, width));
        }
        rows
    }

    /// The whole screen: exactly `height` rows of at most `width`
    /// characters (title, messages, notice or key help, the input line)
    /// and the cursor's column on the last row.
    pub(crate) fn render(&mut self, width: u16, height: u16) -> (Vec<String>, u16) {
        let (width, height) = (usize::from(width.max(10)), usize::from(height.max(4)));
        let body = height - 3;
        let rows = self.rows(width);
        self.scroll = self.scroll.min(rows.len().saturating_sub(body));
        let end = rows.len() - self.scroll;
        let start = end.saturating_sub(body);
        let mut out = Vec::with_capacity(height);
        let more = if self.scroll > 0 {
            " · scrolled up (PgDn)"
        } else {
            ""
        };
        out.push(cut(&format!("{}{more}", self.title), width));
        if rows.is_empty() {
            out.push("no messages yet: type one and press Enter".to_owned());
        }
        out.extend(rows[start..end].iter().cloned());
        out.resize(height - 2, String::new());
        out.push(cut(self.notice.as_deref().unwrap_or(KEYS), width));
        // The input scrolls sideways to keep the cursor in view.
        let prompt = "> ";
        let room = width - prompt.len() - 1;
        let first = self.cursor.saturating_sub(room);
        let shown: String = self.input[first..].iter().take(room).collect();
        out.push(format!("{prompt}{shown}"));
        let column = prompt.len() + self.cursor - first;
        (out, u16::try_from(column).unwrap_or(u16::MAX))
    }

    /// Handles a key press.
    pub(crate) fn key(&mut self, key: KeyEvent, page: usize) -> Action {
        if key.kind == KeyEventKind::Release {
            return Action::None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => return Action::Quit,
            KeyCode::Char('d') if ctrl && self.input.is_empty() => return Action::Quit,
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.input.len(),
            KeyCode::Char('u') if ctrl => {
                self.input.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char(c) if !ctrl => {
                self.input.insert(self.cursor, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.input.remove(self.cursor);
            }
            KeyCode::Delete if self.cursor < self.input.len() => {
                self.input.remove(self.cursor);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.input.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.input.len(),
            KeyCode::Esc => {
                self.input.clear();
                self.cursor = 0;
                self.notice = None;
            }
            KeyCode::PageUp | KeyCode::Up => {
                let by = if key.code == KeyCode::Up {
                    1
                } else {
                    page.max(1)
                };
                let before = self.scroll;
                self.scroll += by;
                // At the top already: the caller loads older messages.
                if before > 0 && self.at_top(page) {
                    return Action::WantOlder;
                }
            }
            KeyCode::PageDown | KeyCode::Down => {
                let by = if key.code == KeyCode::Down {
                    1
                } else {
                    page.max(1)
                };
                self.scroll = self.scroll.saturating_sub(by);
            }
            KeyCode::Enter => {
                let line: String = self.input.drain(..).collect();
                self.cursor = 0;
                self.notice = None;
                return Action::Submit(line);
            }
            _ => return Action::None,
        }
        Action::Redraw
    }

    /// Whether the scroll position shows the oldest loaded row.
    fn at_top(&self, body: usize) -> bool {
        let rows = self.rows(200).len();
        self.scroll + body >= rows
    }
}

/// `HH:MM` (UTC) of a Unix-milliseconds time.
fn clock(at_ms: u64) -> String {
    let minutes = at_ms / 60_000;
    format!("{:02}:{:02}", (minutes / 60) % 24, minutes % 60)
}

/// `text` cut to `width` characters.
fn cut(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

/// `text` in rows of at most `width` characters (continuations indented),
/// control characters shown as spaces so a message cannot move the cursor.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let clean: Vec<char> = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut rows = Vec::new();
    let mut rest = &clean[..];
    let mut first = true;
    while first || !rest.is_empty() {
        let indent = if first { 0 } else { 4 };
        let take = (width - indent).min(rest.len());
        let mut row = " ".repeat(indent);
        row.extend(&rest[..take]);
        rows.push(row);
        rest = &rest[take..];
        first = false;
    }
    rows
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn message(text: &str, mine: bool) -> Message {
        Message {
            cid: Some(format!("cid-{text}")),
            author: if mine { "you".into() } else { "bob".into() },
            mine,
            at_ms: 3_600_000 * 13 + 60_000 * 5,
            text: text.into(),
            edited: false,
            deleted: false,
            reply_to: None,
            reactions: vec![],
            attachments: 0,
            mark: if mine { Mark::Delivered } else { Mark::None },
        }
    }

    fn press(s: &mut Screen, code: KeyCode) -> Action {
        s.key(KeyEvent::new(code, KeyModifiers::NONE), 5)
    }

    #[test]
    fn renders_messages_marks_and_replies_in_the_rows_given() {
        let mut s = Screen::new("chat with bob".into());
        s.messages.push(message("hi", false));
        let mut reply = message("hello \x1b[2J bob", true);
        reply.reply_to = Some("cid-hi".into());
        reply.reactions = vec![("👍".into(), 1)];
        s.messages.push(reply);
        let (rows, column) = s.render(60, 8);
        assert_eq!(rows.len(), 8);
        assert!(rows.iter().all(|r| r.chars().count() <= 60), "{rows:?}");
        // Narrower, long lines wrap (continuations indented).
        let (narrow, _) = s.render(20, 12);
        assert!(narrow.iter().all(|r| r.chars().count() <= 20), "{narrow:?}");
        assert!(narrow.iter().any(|r| r.starts_with("    ")), "{narrow:?}");
        let all = rows.join("\n");
        assert!(all.contains("#1 13:05 bob: hi"), "{all}");
        assert!(all.contains("#2 13:05 you: ↳#1 hello"), "{all}");
        assert!(all.contains("(delivered)") && all.contains("👍1"), "{all}");
        assert!(!all.contains('\x1b'));
        assert_eq!(column, 2);
        assert_eq!(s.cid_of(1).unwrap(), "cid-hi");
        assert!(s.cid_of(3).is_err());
    }

    #[test]
    fn typing_editing_and_scrolling() {
        let mut s = Screen::new("t".into());
        for c in "helo".chars() {
            press(&mut s, KeyCode::Char(c));
        }
        press(&mut s, KeyCode::Left);
        press(&mut s, KeyCode::Char('l'));
        assert_eq!(
            press(&mut s, KeyCode::Enter),
            Action::Submit("hello".into())
        );
        for i in 0..30 {
            s.messages.push(message(&format!("m{i}"), i % 2 == 0));
        }
        press(&mut s, KeyCode::PageUp);
        let (rows, _) = s.render(40, 8);
        assert!(rows[0].contains("scrolled up"));
        assert!(!rows.join("\n").contains("m29"));
        let mut older = false;
        for _ in 0..10 {
            older |= press(&mut s, KeyCode::PageUp) == Action::WantOlder;
        }
        assert!(older);
        for _ in 0..20 {
            press(&mut s, KeyCode::PageDown);
        }
        assert!(s.render(40, 8).0.join("\n").contains("m29"));
        let quit = s.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), 5);
        assert_eq!(quit, Action::Quit);
    }
}
