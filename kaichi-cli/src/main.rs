//! `kaichi`: the reference command-line client for the Kaichi messenger.
//!
//! A thin front end over the Kaichi library crates; see `kaichi --help`.
#![forbid(unsafe_code)]

mod balances;
mod cli;
mod commands;
mod control;
mod device_link;
mod duration;
mod logging;
mod output;
mod paste;
mod profile;
mod progress;
mod secrets;
mod settings;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
