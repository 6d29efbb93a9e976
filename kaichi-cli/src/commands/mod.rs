//! Command implementations.

mod block;
mod chat;
mod config;
mod contacts;
mod demo;
mod device;
pub(crate) mod device_publish;
mod dm;
mod docs;
mod files;
mod group;
mod group_request;
mod id;
mod ipns;
mod log;
mod node;
mod node_control;
mod renewal;
mod requests;
mod status;
mod wallet;

use std::process::ExitCode;
use std::time::SystemTime;

use kaichi_identity::Timestamp;

use crate::cli::{Cli, Command};
use crate::profile::Profile;

/// Runs a parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    match &cli.command {
        // The chat owns the terminal: log lines would tear its screen.
        Command::Chat { .. } => {}
        Command::Node(_) => {
            let home = Profile::at(cli.home.clone())?;
            let log = crate::logging::init_with_file(home.home(), cli.verbose, cli.quiet)?;
            tracing::info!(log = %log.display(), "kaichi node starting");
        }
        _ => crate::logging::init(cli.verbose, cli.quiet),
    }
    match cli.command {
        Command::Wallet(cmd) => wallet::run(&Profile::at(cli.home)?, cmd, json),
        Command::Id(cmd) => id::run(&Profile::at(cli.home)?, cmd, json),
        Command::Device(cmd) => device::run(&Profile::at(cli.home)?, cmd, json),
        Command::Devices => device::list(&Profile::at(cli.home)?, json),
        Command::Ipns(cmd) => ipns::run(&Profile::at(cli.home)?, cmd, json),
        Command::Contacts { command } => contacts::run(&Profile::at(cli.home)?, command, json),
        Command::Requests { command } => requests::run(&Profile::at(cli.home)?, command, json),
        Command::Log(cmd) => log::run(&Profile::at(cli.home)?, cmd, json),
        Command::Node(args) => node::run(&Profile::at(cli.home)?, args, json),
        Command::Config(cmd) => config::run(&Profile::at(cli.home)?, cmd, json),
        Command::Status => status::run(&Profile::at(cli.home)?, json),
        Command::Chat { with, history } => chat::run(&Profile::at(cli.home)?, &with, history),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out } => docs::man(out.as_deref()),
        Command::Dm(cmd) => dm::run(&Profile::at(cli.home)?, cmd, json),
        Command::Group(cmd) => group::run(&Profile::at(cli.home)?, cmd, json),
        Command::Groups => group::list(&Profile::at(cli.home)?, json),
        Command::Demo { keep } => demo::run(json, keep),
        Command::Block(cmd) => block::run(&Profile::at(cli.home)?, cmd),
    }
}

/// The current time: the CLI is the I/O shell that owns the clock.
pub(crate) fn now() -> anyhow::Result<Timestamp> {
    Ok(Timestamp::from_system_time(SystemTime::now())?)
}

/// 16 random bytes (entry salts).
pub(crate) fn random16() -> anyhow::Result<[u8; 16]> {
    let mut out = [0u8; 16];
    getrandom::fill(&mut out).map_err(|e| anyhow::anyhow!("OS randomness: {e}"))?;
    Ok(out)
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> anyhow::Result<u64> {
    Ok(now()?.unix_nanos() / 1_000_000)
}

/// 32 bytes from the operating system's CSPRNG, zeroized on drop.
pub(crate) fn random32() -> anyhow::Result<zeroize::Zeroizing<[u8; 32]>> {
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(out.as_mut()).map_err(|e| anyhow::anyhow!("OS randomness: {e}"))?;
    Ok(out)
}

/// Whether a `kaichi node` serves this profile's control socket.
pub(crate) fn node_is_running(profile: &crate::profile::Profile) -> bool {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .is_ok_and(|rt| rt.block_on(crate::control::node_running(profile.home())))
}
