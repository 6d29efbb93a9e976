//! What a line typed in the chat asks for: a message, or a short command.

/// A typed line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Typed {
    /// Send this text.
    Say(String),
    /// Reply to message `#n`.
    Reply(usize, String),
    /// Replace the text of one's own message `#n`.
    Edit(usize, String),
    /// Delete one's own message `#n`.
    Delete(usize),
    /// React to message `#n` (`remove`: withdraw the reaction).
    React {
        /// The message's number.
        n: usize,
        /// The reaction.
        reaction: String,
        /// Withdraw it.
        remove: bool,
    },
    /// Show the commands.
    Help,
    /// Leave the chat.
    Quit,
    /// Nothing to do (an empty line).
    Nothing,
}

/// The commands, as the help line shows them.
pub(crate) const HELP: &str = "/reply N text · /edit N text · /delete N · /react N 👍 · /unreact N 👍 · \
     PgUp/PgDn scroll · /quit (or Ctrl-C)";

/// Parses a typed line: text is a message (`//text` sends `/text`);
/// a known command with bad arguments is an error saying how to use it.
pub(crate) fn parse(line: &str) -> Result<Typed, String> {
    let line = line.trim_end();
    if line.trim().is_empty() {
        return Ok(Typed::Nothing);
    }
    if let Some(rest) = line.strip_prefix("//") {
        return Ok(Typed::Say(format!("/{rest}")));
    }
    let Some(command) = line.strip_prefix('/') else {
        return Ok(Typed::Say(line.to_owned()));
    };
    let (name, args) = command.split_once(' ').unwrap_or((command, ""));
    let args = args.trim();
    let number_then = |usage: &str| -> Result<(usize, String), String> {
        let (n, rest) = args.split_once(' ').unwrap_or((args, ""));
        let n = n
            .trim_start_matches('#')
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("usage: {usage}"))?;
        Ok((n, rest.trim().to_owned()))
    };
    let with_text = |usage: &str| -> Result<(usize, String), String> {
        let (n, text) = number_then(usage)?;
        if text.is_empty() {
            return Err(format!("usage: {usage}"));
        }
        Ok((n, text))
    };
    match name {
        "reply" | "r" => with_text("/reply N text").map(|(n, t)| Typed::Reply(n, t)),
        "edit" | "e" => with_text("/edit N text").map(|(n, t)| Typed::Edit(n, t)),
        "delete" | "del" => match number_then("/delete N")? {
            (n, rest) if rest.is_empty() => Ok(Typed::Delete(n)),
            _ => Err("usage: /delete N".to_owned()),
        },
        "react" | "unreact" => {
            let usage = if name == "react" {
                "/react N 👍"
            } else {
                "/unreact N 👍"
            };
            let (n, reaction) = with_text(usage)?;
            Ok(Typed::React {
                n,
                reaction,
                remove: name == "unreact",
            })
        }
        "help" | "h" | "?" => Ok(Typed::Help),
        "quit" | "q" | "exit" => Ok(Typed::Quit),
        other => Err(format!(
            "no command /{other} (//{other} sends it as text); {HELP}"
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn commands_and_text() {
        assert_eq!(parse("hello").unwrap(), Typed::Say("hello".into()));
        assert_eq!(parse("//me waves").unwrap(), Typed::Say("/me waves".into()));
        assert_eq!(parse("   ").unwrap(), Typed::Nothing);
        assert_eq!(
            parse("/reply 3 yes").unwrap(),
            Typed::Reply(3, "yes".into())
        );
        assert_eq!(
            parse("/edit #2 fixed").unwrap(),
            Typed::Edit(2, "fixed".into())
        );
        assert_eq!(parse("/delete 7").unwrap(), Typed::Delete(7));
        assert_eq!(
            parse("/unreact 1 👍").unwrap(),
            Typed::React {
                n: 1,
                reaction: "👍".into(),
                remove: true
            }
        );
        assert_eq!(parse("/quit").unwrap(), Typed::Quit);
        for bad in [
            "/reply x hi",
            "/reply 3",
            "/edit 0 a",
            "/delete",
            "/delete 2 x",
            "/what",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Any line parses to something or to a usage error; text that does
        /// not start with `/` is sent as typed.
        #[test]
        fn any_line_is_handled(line in "\\PC{0,80}") {
            let parsed = parse(&line);
            if !line.starts_with('/') && !line.trim().is_empty() {
                prop_assert_eq!(parsed, Ok(Typed::Say(line.trim_end().to_owned())));
            }
        }
    }
}
