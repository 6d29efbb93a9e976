//! Progress on standard error (indicatif) for what can take more than a
//! second: a bar when the total is known, a spinner when it is not. Drawn
//! only on a terminal, never with `--json`, so scripts and pipes see
//! nothing of it.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar or a spinner, or nothing (not a terminal, or `--json`).
#[derive(Debug)]
pub(crate) struct Progress(Option<ProgressBar>);

/// What a bar counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unit {
    /// Bytes (shown as KiB, MiB…).
    Bytes,
    /// Blocks.
    Blocks,
}

fn shown(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

impl Progress {
    /// A bar counting `unit`, its total given with the first [`Self::show`].
    pub(crate) fn bar(json: bool, what: &str, unit: Unit) -> Self {
        if !shown(json) {
            return Self(None);
        }
        let counts = match unit {
            Unit::Bytes => "{bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            Unit::Blocks => "{pos}/{len} blocks ({per_sec}, {eta} left)",
        };
        let template = format!("{{msg}} [{{bar:30}}] {{percent:>3}}% {counts}");
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>-");
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(what.to_owned());
        Self(Some(bar))
    }

    /// A spinner saying `what` is under way (for waits with no total).
    pub(crate) fn spinner(json: bool, what: &str) -> Self {
        if !shown(json) {
            return Self(None);
        }
        let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self(Some(bar))
    }

    /// `done` of `total`.
    pub(crate) fn show(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Removes it from the terminal (the command prints its result next).
    pub(crate) fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done();
    }
}
