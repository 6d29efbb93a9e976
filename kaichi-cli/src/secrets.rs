//! Reading secrets from files and standard input (never from arguments).

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use kaichi_identity::wallet::MAX_KEYPAIR_FILE_BYTES;
use zeroize::Zeroizing;

/// Longest secret line accepted on standard input.
const MAX_LINE: usize = 4096;

/// Reads a small secret file (refusing anything larger than a keypair).
pub(crate) fn read_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > MAX_KEYPAIR_FILE_BYTES as u64 {
        bail!(
            "{} is {} bytes; a keypair file is at most {MAX_KEYPAIR_FILE_BYTES}",
            path.display(),
            meta.len()
        );
    }
    Ok(Zeroizing::new(
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    ))
}

/// Reads one secret line: prompts without echo on a terminal, else reads a
/// line of standard input.
pub(crate) fn read_line(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    if std::io::stdin().is_terminal() {
        let line = rpassword::prompt_password(prompt).context("reading from the terminal")?;
        return Ok(Zeroizing::new(line));
    }
    let mut line = Zeroizing::new(String::new());
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    let mut buf = Zeroizing::new(Vec::new());
    loop {
        let chunk = lock.fill_buf().context("reading standard input")?;
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        buf.extend_from_slice(chunk.get(..take).unwrap_or_default());
        lock.consume(take);
        if buf.len() > MAX_LINE {
            bail!("secret line on standard input is longer than {MAX_LINE} bytes");
        }
        if done {
            break;
        }
    }
    let text = std::str::from_utf8(&buf).context("standard input is not UTF-8")?;
    line.push_str(text.trim_end_matches(['\n', '\r']));
    Ok(line)
}
