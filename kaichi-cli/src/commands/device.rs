//! `kaichi device …` and `kaichi devices`: one identity on several devices,
//! each with its own wallet (PROTOCOL.md, "Device grants").

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kaichi_identity::document::{
    DeviceGrant, DeviceRequest, MAX_DEVICES, VerifiedDocument, verify_document,
};
use kaichi_identity::{IpnsName, WalletAddress};
use serde::Serialize;

use super::device_publish::Signer;
use crate::cli::DeviceCommand;
use crate::device_link;
use crate::output::emit;
use crate::paste;
use crate::profile::{DeviceOf, Profile, write_private};

const REQUEST: &str = "device-request";
const LINK: &str = "device-link";

pub(crate) fn run(profile: &Profile, cmd: DeviceCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        DeviceCommand::Request { identity, out } => request(profile, &identity, out, json),
        DeviceCommand::Approve {
            request,
            out,
            approver,
        } => approve(profile, &request, out, approver, json),
        DeviceCommand::Join { link } => join(profile, &link, json),
        DeviceCommand::Revoke {
            wallet,
            new_epoch,
            yes,
        } => revoke(profile, &wallet, new_epoch, yes, json),
    }
}

/// Writes `bytes` to `out`, or returns the line to paste.
fn deliver(kind: &str, bytes: &[u8], out: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    match out {
        Some(path) => {
            write_private(&path, paste::encode(kind, bytes).as_bytes())?;
            Ok(None)
        }
        None => Ok(Some(paste::encode(kind, bytes))),
    }
}

#[derive(Serialize)]
struct RequestJson {
    identity: String,
    device_wallet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<String>,
}

fn request(
    profile: &Profile,
    identity: &str,
    out: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let identity: IpnsName = identity
        .parse()
        .with_context(|| format!("--identity {identity:?} is not an IPNS name"))?;
    let (wallet, own, config) = profile.own_keys()?;
    if let Some(of) = &config.device_of {
        bail!("this profile is already a device of {}", of.identity);
    }
    if own.ipns().name() == identity {
        bail!("{identity} is this profile's own identity: a device asks with its own wallet");
    }
    let request = DeviceRequest::create(&wallet, &own, identity)?;
    let written = out.as_ref().map(|p| p.display().to_string());
    let line = deliver(REQUEST, &request.to_bytes(), out)?;
    let text = match (&line, written) {
        (Some(line), _) => format!(
            "device wallet {}\nOn a device holding {identity}, run:\n  kaichi device approve {line}",
            own.wallet()
        ),
        (None, Some(path)) => format!(
            "device wallet {}\nwrote the request to {path}; on a device holding {identity}, run:\n  \
             kaichi device approve {path}",
            own.wallet()
        ),
        (None, None) => unreachable!("a request is printed or written"),
    };
    let out = RequestJson {
        identity: identity.to_string(),
        device_wallet: own.wallet().to_string(),
        request: line,
    };
    emit(json, &out, &text)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct ApproveJson {
    identity: String,
    device_wallet: String,
    devices: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    /// What the running node did with the new document (none runs: absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<String>,
}

fn approve(
    profile: &Profile,
    input: &str,
    out: Option<PathBuf>,
    approver: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (wallet, keys, config) = profile.identity()?;
    let current = device_link::current_document(profile, &keys)?;
    let signer = signer_for(&wallet, &config, current.as_ref(), approver)?;
    let bytes = paste::read(input, REQUEST)?;
    let request = DeviceRequest::from_bytes(&bytes).context("reading the device request")?;
    let name = keys.ipns().name();
    if request.identity() != &name {
        bail!(
            "this request asks to join {}, not this identity ({name})",
            request.identity()
        );
    }
    let mut grants = current
        .as_ref()
        .map(|(_, d)| d.devices().to_vec())
        .unwrap_or_default();
    let device = request.device_wallet();
    if grants.iter().any(|g| g.device_wallet() == device) {
        bail!("{device} is already a device of {name} (a request adds a device once)");
    }
    if grants.len() >= MAX_DEVICES {
        bail!("{name} already has {MAX_DEVICES} devices, the most a document lists");
    }
    let now = super::now()?;
    grants.push(
        DeviceGrant::issue(&keys, &request, super::random32()?, now)?.with_approver(approver),
    );
    let (document, published) = super::device_publish::sign_and_publish(
        profile,
        signer,
        &keys,
        grants.iter().cloned(),
        &key_packages(current.as_ref()),
        now,
    )?;
    let written = out.as_ref().map(|p| p.display().to_string());
    let line = deliver(LINK, &document, out)?;
    let mut text = match (&line, written) {
        (Some(line), _) => {
            format!("approved {device}; on that device, run:\n  kaichi device join {line}")
        }
        (None, Some(path)) => format!(
            "approved {device}; wrote the link to {path}; on that device, run:\n  kaichi device join {path}"
        ),
        (None, None) => unreachable!("a link is printed or written"),
    };
    if let Some(said) = &published {
        text.push('\n');
        text.push_str(said);
    }
    let out = ApproveJson {
        identity: name.to_string(),
        device_wallet: device.to_string(),
        devices: grants.len(),
        link: line,
        node: published,
    };
    emit(json, &out, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn join(profile: &Profile, input: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (_, own, mut config) = profile.own_keys()?;
    let bytes = paste::read(input, LINK)?;
    let doc = verify_document(&bytes, super::now()?).context("the link's identity document")?;
    let name = doc.public().ipns_name();
    if let Some(of) = &config.device_of
        && of.identity != name.to_string()
    {
        bail!(
            "this profile is already a device of {}, not {name}",
            of.identity
        );
    }
    use kaichi_privatelog::store::LogStore as _;
    if config.device_of.is_none() && !profile.store()?.conversations()?.is_empty() {
        bail!(
            "this profile already has conversations as its own identity; join from a fresh \
             profile (`--home DIR`) with this wallet"
        );
    }
    let keys = doc.open_grant(&own).with_context(|| {
        format!(
            "the link from {name} holds no grant this device ({}) can open",
            own.wallet()
        )
    })?;
    profile.save_document(&bytes)?;
    config.device_of = Some(DeviceOf {
        identity: name.to_string(),
        wallet: doc.public().wallet.to_string(),
    });
    profile.save_config(&config)?;
    let mut id = super::id::IdJson::from(&keys.public());
    id.device_wallet = Some(own.wallet().to_string());
    emit(
        json,
        &id,
        &format!("this profile is now a device of {name}\n{}", id.text()),
    )?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct RevokeJson {
    revoked: String,
    done: bool,
    old_identity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_identity: Option<String>,
    epoch: u32,
    /// What the running node did with the change (none runs: absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<String>,
}

fn revoke(
    profile: &Profile,
    wallet: &str,
    new_epoch: bool,
    yes: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let device: WalletAddress = wallet
        .parse()
        .with_context(|| format!("{wallet:?} is not a wallet address"))?;
    let (primary, keys, mut config) = profile.identity()?;
    let current = device_link::current_document(profile, &keys)?;
    let signer = signer_for(&primary, &config, current.as_ref(), false)?;
    let grants: Vec<DeviceGrant> = current
        .as_ref()
        .map(|(_, d)| d.devices().to_vec())
        .unwrap_or_default();
    let Some(target) = grants.iter().find(|g| g.device_wallet() == device) else {
        bail!("{device} is not a device of {}", keys.ipns().name());
    };
    if let Signer::Approver { .. } = signer {
        if new_epoch {
            bail!("only the identity's primary wallet moves it to a new key epoch");
        }
        if target.is_approver() {
            bail!("{device} may approve devices: only the identity's primary wallet revokes it");
        }
    }
    let old = keys.ipns().name();
    let others = grants.len() - 1;
    let explain = if new_epoch {
        let next = keys.epoch().next().context("no key epoch after this one")?;
        format!(
            "Revoking {device} with a new epoch moves {old} to key epoch {}: new IPNS and \
             message keys, so a new IPNS name (contacts find it through your wallet {}). The \
             revoked device keeps what it already received but can read nothing sent from now \
             on, and cannot write as you. Every other device ({others} more) must be linked \
             again with `kaichi device request` / `approve` / `join`. Groups see the new \
             identity as a new member.",
            next.get(),
            primary_address(&primary),
        )
    } else {
        format!(
            "Revoking {device} removes it from {old}'s identity document: once your node \
             publishes it, contacts and group sequencers refuse what the device signs with its \
             own key, and its relays stop handing it your messages. It still holds this \
             identity's keys of epoch {}: if it is lost or stolen, it can still read what is \
             sent to you and write as you. Use --new-epoch to end that too (new keys and IPNS \
             name; your other devices are linked again).",
            keys.epoch().get()
        )
    };
    if !yes {
        let out = RevokeJson {
            revoked: device.to_string(),
            done: false,
            old_identity: old.to_string(),
            new_identity: None,
            epoch: keys.epoch().get(),
            node: None,
        };
        emit(
            json,
            &out,
            &format!("{explain}\nNothing changed: pass --yes to revoke."),
        )?;
        return Ok(ExitCode::from(2));
    }
    let mut published = None;
    if new_epoch {
        let next = keys.epoch().next().context("no key epoch after this one")?;
        config.epoch = next.get();
        profile.save_config(&config)?;
        profile.remove_document()?;
        if super::node_is_running(profile) {
            published =
                Some("the running node still runs the old epoch's identity: restart it".to_owned());
        }
    } else {
        let kept = grants
            .iter()
            .filter(|g| g.device_wallet() != device)
            .cloned();
        let (_, said) = super::device_publish::sign_and_publish(
            profile,
            signer,
            &keys,
            kept,
            &key_packages(current.as_ref()),
            super::now()?,
        )?;
        published = said;
    }
    let (_, now_keys, config) = profile.identity()?;
    let out = RevokeJson {
        revoked: device.to_string(),
        done: true,
        old_identity: old.to_string(),
        new_identity: Some(now_keys.ipns().name().to_string()),
        epoch: config.epoch,
        node: published,
    };
    let mut text = format!(
        "{explain}\nrevoked {device}: this identity is {} (key epoch {})",
        now_keys.ipns().name(),
        config.epoch
    );
    if let Some(said) = &out.node {
        text.push('\n');
        text.push_str(said);
    }
    emit(json, &out, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Who signs this profile's change to the identity's devices: the primary
/// wallet, or this device's own when the current document lets it approve
/// (never to let another device approve: `approver`).
fn signer_for<'a>(
    wallet: &'a kaichi_identity::wallet::KeypairWallet,
    config: &crate::profile::Config,
    current: Option<&'a (Vec<u8>, VerifiedDocument)>,
    approver: bool,
) -> anyhow::Result<Signer<'a>> {
    let Some(of) = &config.device_of else {
        return Ok(Signer::Primary(wallet));
    };
    use kaichi_identity::WalletSigner as _;
    let (bytes, doc) = current.context(
        "this device profile has lost its identity document: run `kaichi device join` again",
    )?;
    if !doc
        .grant_for(&wallet.address())
        .is_some_and(DeviceGrant::is_approver)
    {
        bail!(
            "this profile is a device of {}: only the identity's primary wallet approves and \
             revokes devices, or a device it lets (`kaichi device approve --approver` there)",
            of.identity
        );
    }
    if approver {
        bail!("only the identity's primary wallet lets a device approve (--approver)");
    }
    let authority = doc.authority().unwrap_or(bytes);
    let until = verify_document(authority, super::now()?)
        .context("the document that lets this device approve has expired: ask the primary for a fresh one")?
        .expires_at();
    Ok(Signer::Approver {
        wallet,
        authority,
        until,
    })
}

/// The KeyPackage references of the current document (kept in a re-signed
/// one when no node runs to say its own).
fn key_packages(current: Option<&(Vec<u8>, VerifiedDocument)>) -> Vec<Vec<u8>> {
    current
        .map(|(_, d)| d.key_packages().to_vec())
        .unwrap_or_default()
}

fn primary_address(wallet: &kaichi_identity::wallet::KeypairWallet) -> String {
    use kaichi_identity::WalletSigner as _;
    wallet.address().to_string()
}

#[derive(Serialize)]
struct DeviceJson {
    wallet: String,
    role: &'static str,
    /// Whether it may approve and revoke other devices.
    approver: bool,
    signing_key: Option<String>,
    added: Option<String>,
    last_seen: Option<String>,
}

#[derive(Serialize)]
struct DevicesJson {
    identity: String,
    this_device: String,
    devices: Vec<DeviceJson>,
}

/// `kaichi devices`.
pub(crate) fn list(profile: &Profile, json: bool) -> anyhow::Result<ExitCode> {
    let (wallet, keys, config) = profile.identity()?;
    let this = primary_address(&wallet);
    if let Some(of) = &config.device_of {
        // Says plainly when the stored document is lost or expired.
        device_link::stored_document(profile, of)?;
    }
    let grants = device_link::own_grants(profile, &keys)?;
    let seen = super::device_publish::seen_by_running_node(profile);
    let mut devices = vec![DeviceJson {
        wallet: keys.wallet().to_string(),
        role: "primary",
        approver: true,
        signing_key: None,
        added: None,
        last_seen: seen.get(&None).cloned(),
    }];
    for g in &grants {
        let key: String = g
            .request()
            .signing_key()
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let added = g.granted_at();
        devices.push(DeviceJson {
            wallet: g.device_wallet().to_string(),
            role: "device",
            approver: g.is_approver(),
            last_seen: seen.get(&Some(key.clone())).cloned(),
            signing_key: Some(key),
            added: Some(added.to_string()),
        });
    }
    let mut text = format!("identity {}\n", keys.ipns().name());
    for d in &devices {
        let mark = if d.wallet == this { " (this one)" } else { "" };
        let role = if d.approver && d.role == "device" {
            "device (approves)"
        } else {
            d.role
        };
        text.push_str(&format!(
            "  {role} {}{mark}{}{}\n",
            d.wallet,
            d.added
                .as_deref()
                .map(|a| format!(", added {a}"))
                .unwrap_or_default(),
            d.last_seen
                .as_deref()
                .map(|a| format!(", last seen {a}"))
                .unwrap_or_default()
        ));
    }
    let out = DevicesJson {
        identity: keys.ipns().name().to_string(),
        this_device: this,
        devices,
    };
    emit(json, &out, text.trim_end())?;
    Ok(ExitCode::SUCCESS)
}
