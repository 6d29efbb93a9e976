//! `kaichi completions` and `kaichi man`: generated from the clap
//! definitions, so they never drift from the commands.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::Cli;

/// Writes the completion script for `shell` to standard output.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "kaichi", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// Writes the man page to standard output, or every command's page into `out`.
pub(crate) fn man(out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let command = Cli::command();
    match out {
        None => clap_mangen::Man::new(command)
            .render(&mut std::io::stdout())
            .context("writing the man page")?,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("writing the man pages to {}", dir.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
