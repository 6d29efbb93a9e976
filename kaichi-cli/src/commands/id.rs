//! `kaichi id`.

use std::process::ExitCode;

use anyhow::Context as _;
use kaichi_identity::IdentityPublic;
use kaichi_identity::document::DocumentBuilder;
use serde::Serialize;

use crate::cli::IdCommand;
use crate::output::emit;
use crate::profile::{Profile, write_private};

/// The public identity as `id show --json` prints it.
#[derive(Debug, Serialize)]
pub(crate) struct IdJson {
    pub(crate) wallet: String,
    pub(crate) ipns_name: String,
    pub(crate) peer_id: String,
    pub(crate) dm_public_key: String,
    pub(crate) epoch: u32,
    /// On a device profile: this device's own wallet (`wallet` is the
    /// identity's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) device_wallet: Option<String>,
    /// The root this identity's IPNS record points to, when the node runs
    /// and has published it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) root: Option<String>,
}

impl From<&IdentityPublic> for IdJson {
    fn from(p: &IdentityPublic) -> Self {
        let name = p.ipns_name();
        Self {
            wallet: p.wallet.to_string(),
            ipns_name: name.to_string(),
            peer_id: name.to_peer_id_string(),
            dm_public_key: p.dm.to_string(),
            epoch: p.epoch.get(),
            device_wallet: None,
            root: None,
        }
    }
}

impl IdJson {
    pub(crate) fn text(&self) -> String {
        let mut text = format!(
            "wallet:        {}\nipns name:     {}\npeer id:       {}\ndm public key: {}\nkey epoch:     {}",
            self.wallet, self.ipns_name, self.peer_id, self.dm_public_key, self.epoch
        );
        if let Some(device) = &self.device_wallet {
            text.push_str(&format!("\ndevice wallet: {device}"));
        }
        if let Some(root) = &self.root {
            text.push_str(&format!("\nroot:          {root}"));
        }
        text
    }
}

pub(crate) fn run(profile: &Profile, cmd: IdCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        IdCommand::Show => {
            let (wallet, keys, config) = profile.identity()?;
            let mut id = IdJson::from(&keys.public());
            if config.device_of.is_some() {
                use kaichi_identity::WalletSigner as _;
                id.device_wallet = Some(wallet.address().to_string());
            }
            id.root = running_root(profile);
            emit(json, &id, &id.text())?;
            Ok(ExitCode::SUCCESS)
        }
        IdCommand::Document { lifetime, out } => {
            let lifetime = crate::duration::parse(&lifetime).context("--lifetime")?;
            let (wallet, keys, config) = profile.identity()?;
            if let Some(of) = &config.device_of {
                anyhow::bail!(
                    "this profile is a device of {}: the primary wallet signs the identity's document",
                    of.identity
                );
            }
            let mut builder = DocumentBuilder::new(&keys, super::now()?, lifetime);
            for grant in crate::device_link::own_grants(profile, &keys)? {
                builder = builder.device(grant);
            }
            let doc = builder.sign(&wallet)?;
            write_private(&out, &doc)?;
            let id = IdJson::from(&keys.public());
            emit(
                json,
                &id,
                &format!(
                    "wrote the identity document of {} to {}",
                    id.ipns_name,
                    out.display()
                ),
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The root the running node's IPNS record points to; `None` when no node
/// runs (or it has not published yet).
fn running_root(profile: &Profile) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let v = runtime
        .block_on(crate::control::call(
            profile.home(),
            &crate::control::Request::Root,
        ))
        .ok()?;
    v["root"].as_str().map(str::to_owned)
}
