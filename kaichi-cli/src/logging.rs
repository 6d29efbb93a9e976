//! Log output: `tracing` to standard error for every command (warnings by
//! default; `-q` errors only, `-v`/`-vv`/`-vvv` info, debug, trace;
//! `RUST_LOG` decides instead when set), and for `kaichi node` also a
//! rotating file in the profile (`logs/node.log`, at least at `info`).
//!
//! Nothing secret is ever logged: the library crates log identifiers
//! (peer ids, CIDs, IPNS names, group ids), never key material, and
//! secret types print `[redacted]` in their `Debug` forms.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

/// Size at which the log file is rotated.
pub(crate) const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;
/// Rotated files kept (`node.log.1` … `node.log.5`), the oldest dropped.
pub(crate) const KEPT_LOGS: usize = 5;

/// The level `-v`/`-q` ask for.
fn level(verbose: u8, quiet: bool) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    }
}

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// Log to standard error only.
pub(crate) fn init(verbose: u8, quiet: bool) {
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter(level(verbose, quiet)));
    // A second initialisation (never in the binary) is harmless.
    let _ = tracing_subscriber::registry().with(stderr).try_init();
}

/// Log to standard error and to `<home>/logs/node.log`; returns the file's path.
pub(crate) fn init_with_file(home: &Path, verbose: u8, quiet: bool) -> anyhow::Result<PathBuf> {
    let dir = home.join("logs");
    crate::profile::create_private_dir(&dir)?;
    let path = dir.join("node.log");
    let file = RotatingFile::open(&path, MAX_LOG_BYTES, KEPT_LOGS)?;
    let file_level = if verbose > 1 {
        level(verbose, false)
    } else {
        "info"
    };
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter(level(verbose, quiet)));
    let to_file = fmt::layer()
        .with_ansi(false)
        .with_writer(file)
        .with_filter(filter(file_level));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(to_file)
        .try_init();
    Ok(path)
}

/// A log file rotated by size: past `max` bytes it becomes `<name>.1`
/// (the others shift up, the oldest past `keep` is removed) and a new
/// one starts. Owner-only.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    max: u64,
    keep: usize,
    state: Mutex<(File, u64)>,
}

impl RotatingFile {
    /// Opens (appends to) `path`.
    pub(crate) fn open(path: &Path, max: u64, keep: usize) -> anyhow::Result<Self> {
        let file = open_append(path)?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            path: path.to_owned(),
            max,
            keep,
            state: Mutex::new((file, len)),
        })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        name.into()
    }

    fn rotate(&self, state: &mut (File, u64)) -> std::io::Result<()> {
        state.0.flush()?;
        std::fs::remove_file(self.rotated(self.keep)).ok();
        for n in (1..self.keep).rev() {
            std::fs::rename(self.rotated(n), self.rotated(n + 1)).ok();
        }
        std::fs::rename(&self.path, self.rotated(1))?;
        state.0 = open_append(&self.path).map_err(std::io::Error::other)?;
        state.1 = 0;
        Ok(())
    }

    fn write_line(&self, buf: &[u8]) -> std::io::Result<usize> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.1 > 0 && state.1 + buf.len() as u64 > self.max {
            self.rotate(&mut state)?;
        }
        state.0.write_all(buf)?;
        state.1 += buf.len() as u64;
        Ok(buf.len())
    }
}

fn open_append(path: &Path) -> anyhow::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)
        .with_context(|| format!("opening the log file {}", path.display()))
}

/// One event's writer: [`RotatingFile`] behind its lock.
#[derive(Debug)]
pub(crate) struct LogWriter<'a>(&'a RotatingFile);

impl std::io::Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_line(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = LogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write as _;

    use super::*;

    #[test]
    fn the_file_rotates_by_size_and_keeps_a_bounded_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let log = RotatingFile::open(&path, 100, 2).unwrap();
        for i in 0..20 {
            log.make_writer()
                .write_all(format!("line {i:03} of the log, 30 bytes\n").as_bytes())
                .unwrap();
        }
        let sizes: Vec<u64> = ["node.log", "node.log.1", "node.log.2"]
            .iter()
            .map(|n| std::fs::metadata(dir.path().join(n)).unwrap().len())
            .collect();
        assert!(sizes.iter().all(|s| *s <= 100), "{sizes:?}");
        assert!(!dir.path().join("node.log.3").exists());
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.contains("line 019"), "{newest}");
    }
}
