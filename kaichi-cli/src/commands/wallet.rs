//! `kaichi wallet`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kaichi_identity::IdentityKeys;
use kaichi_identity::KeyEpoch;
use kaichi_identity::wallet::{DerivationPath, KeypairWallet};

use super::id::IdJson;
use crate::cli::{ImportArgs, WalletCommand};
use crate::output::emit;
use crate::profile::{Profile, write_private};
use crate::secrets;

pub(crate) fn run(profile: &Profile, cmd: WalletCommand, json: bool) -> anyhow::Result<ExitCode> {
    let wallet = match cmd {
        WalletCommand::New { outfile, force } => {
            let wallet = KeypairWallet::from_secret_seed(&*super::random32()?);
            if let Some(path) = &outfile {
                if path.exists() && !force {
                    bail!("{} exists; pass --force to overwrite it", path.display());
                }
                write_private(path, wallet.to_keypair_json().as_bytes())?;
                if !json {
                    eprintln!("Wrote keypair to {}", path.display());
                }
            }
            profile.set_wallet(&wallet, force)?;
            wallet
        }
        WalletCommand::Import(args) => {
            let wallet = import(&args)?;
            profile.set_wallet(&wallet, args.force)?;
            wallet
        }
    };
    let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO)?;
    let id = IdJson::from(&keys.public());
    let text = format!(
        "Using wallet in {}\n{}",
        profile.home().display(),
        id.text()
    );
    emit(json, &id, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn import(args: &ImportArgs) -> anyhow::Result<KeypairWallet> {
    if let Some(path) = &args.keypair {
        let bytes = secrets::read_file(path)?;
        return KeypairWallet::from_keypair_json(&bytes)
            .with_context(|| format!("reading {}", path.display()));
    }
    if args.base58 {
        let line = secrets::read_line("Base58 secret key: ")?;
        return Ok(KeypairWallet::from_base58(&line)?);
    }
    let phrase = secrets::read_line("Seed phrase: ")?;
    let passphrase = if args.passphrase {
        secrets::read_line("BIP39 passphrase: ")?
    } else {
        zeroize::Zeroizing::new(String::new())
    };
    match args.derivation_path.as_deref() {
        Some("solana-keygen") => Ok(KeypairWallet::from_seed_phrase_solana_keygen(
            &phrase,
            &passphrase,
        )?),
        Some(path) => {
            let path: DerivationPath = path.parse()?;
            Ok(KeypairWallet::from_seed_phrase(
                &phrase,
                &passphrase,
                &path,
            )?)
        }
        None => Ok(KeypairWallet::from_seed_phrase(
            &phrase,
            &passphrase,
            &DerivationPath::default(),
        )?),
    }
}
