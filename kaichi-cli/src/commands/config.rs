//! `kaichi config`: the profile's `config.toml` (see [`crate::settings`]).

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::json;

use crate::cli::{ConfigCommand, NodeArgs};
use crate::profile::Profile;
use crate::settings;

pub(crate) fn run(profile: &Profile, cmd: ConfigCommand, json: bool) -> anyhow::Result<ExitCode> {
    let home = profile.home();
    match cmd {
        ConfigCommand::Path => println!("{}", settings::path(home).display()),
        ConfigCommand::Show => show(&settings::load(home)?, json)?,
        ConfigCommand::Get { key } => {
            let table = toml::Table::try_from(settings::load(home)?)?;
            if !settings::keys().contains(&key) {
                bail!(
                    "no setting {key:?}; the settings are: {}",
                    settings::keys().join(", ")
                );
            }
            match (table.get(&key), json) {
                (None, true) => println!("null"),
                (None, false) => {}
                (Some(v), true) => println!("{}", serde_json::to_string(v)?),
                (Some(toml::Value::String(s)), false) => println!("{s}"),
                (Some(toml::Value::Array(list)), false) => {
                    for v in list {
                        println!("{}", v.as_str().unwrap_or_default());
                    }
                }
                (Some(v), false) => println!("{v}"),
            }
        }
        ConfigCommand::Set { key, value } => {
            let new = settings::set(&settings::load(home)?, &key, &value)?;
            save(profile, &new)?;
            say(json, &key, "set");
        }
        ConfigCommand::Unset { key, value } => {
            let new = settings::unset(&settings::load(home)?, &key, value.as_deref())?;
            save(profile, &new)?;
            say(json, &key, "unset");
        }
        ConfigCommand::Edit => edit(profile)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn save(profile: &Profile, settings: &NodeArgs) -> anyhow::Result<()> {
    crate::profile::create_private_dir(profile.home())?;
    settings::save(profile.home(), settings)
}

fn say(json: bool, key: &str, what: &str) {
    if json {
        println!("{}", json!({"ok": true, "key": key, "done": what}));
    } else {
        println!("{key} {what}; `kaichi node` uses it from its next start");
    }
}

/// Every key with the file's value, or the default when unset.
fn show(file: &NodeArgs, json: bool) -> anyhow::Result<()> {
    let table = toml::Table::try_from(file)?;
    let options = settings::NodeOptions::parse(file)?;
    let bootstrap: Vec<String> = options.bootstrap.iter().map(ToString::to_string).collect();
    if json {
        println!(
            "{}",
            json!({"file": table, "bootstrap_dialled": bootstrap,
                "default_bootstrap": settings::DEFAULT_BOOTSTRAP})
        );
        return Ok(());
    }
    for key in settings::keys() {
        match table.get(&key) {
            Some(v) => println!("{key} = {v}"),
            None => println!("# {key} (not set: {})", default_of(&key)),
        }
    }
    println!("# bootstrap peers dialled: {}", bootstrap.len());
    for b in &bootstrap {
        println!("#   {b}");
    }
    Ok(())
}

fn default_of(key: &str) -> &'static str {
    match key {
        "listen" => "/ip4/127.0.0.1/tcp/0",
        "bootstrap" | "external-address" => "none",
        "retention" => "7d",
        "relay-publisher-rate" => "100/500",
        "relay-inbox-rate" => "400/1000",
        "relay-held-bytes" => "33554432",
        "max-connections-per-ip" => "32",
        "dht-mode" => "auto",
        "group-engine" => "mls-rs",
        "solana-commitment" => "confirmed",
        "solana-rate" => "20",
        "token-recheck" => "10m",
        "no-default-bootstrap" | "relay" | "autonat-private-ips" => "false",
        _ => "none",
    }
}

/// Opens a copy in the editor; the copy replaces the file only if it is
/// valid (else it is kept beside it and the error says where).
fn edit(profile: &Profile) -> anyhow::Result<()> {
    let path = settings::path(profile.home());
    crate::profile::create_private_dir(profile.home())?;
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let draft = profile.home().join("config.toml.edit");
    crate::profile::write_private(&draft, current.as_bytes())?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    // The editor may carry arguments (`code --wait`): run through the shell,
    // the path as a positional parameter, never spliced into the script.
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("{editor} \"$1\""), "sh"])
        .arg(&draft)
        .status()
        .with_context(|| format!("running the editor {editor:?}"))?;
    if !status.success() {
        bail!(
            "the editor exited with {status}; {} is unchanged",
            path.display()
        );
    }
    let edited = std::fs::read_to_string(&draft)?;
    if let Err(e) = settings::parse_file(&edited) {
        bail!(
            "{e:#}\n{} is unchanged; your edit is in {}",
            path.display(),
            draft.display()
        );
    }
    crate::profile::write_private(&path, edited.as_bytes())?;
    std::fs::remove_file(&draft).ok();
    println!("{} saved", path.display());
    Ok(())
}
