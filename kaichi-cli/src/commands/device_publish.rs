//! The running node's side of device commands: re-signing the identity
//! document after a device is approved or revoked and handing it to the
//! node, which publishes it at once (`Node::set_identity_document`); when
//! the node last heard from each device (`Node::devices_seen`).

use anyhow::Context as _;
use kaichi_identity::document::{DeviceGrant, DocumentBuilder, verify_document};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, Timestamp};

use crate::control::{Request, call, node_running};
use crate::profile::Profile;

/// Who signs a re-signed identity document.
pub(crate) enum Signer<'a> {
    /// The identity's primary wallet.
    Primary(&'a KeypairWallet),
    /// A device the primary lets approve: its own wallet, on `authority`
    /// (the primary-signed document granting it that), which the new
    /// document may not outlive (`until`).
    Approver {
        wallet: &'a KeypairWallet,
        authority: &'a [u8],
        until: Timestamp,
    },
}

/// Signs the identity's document listing `grants` (and the KeyPackage the
/// running node's document references, so invitations keep finding it;
/// `key_packages` when no node runs), keeps it in the profile and hands it
/// to the running node. Returns the document and what the running node
/// did (`None`: no node runs; it takes the profile's document when it
/// starts).
pub(crate) fn sign_and_publish(
    profile: &Profile,
    signer: Signer<'_>,
    keys: &IdentityKeys,
    grants: impl IntoIterator<Item = DeviceGrant>,
    key_packages: &[Vec<u8>],
    now: Timestamp,
) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime to reach the node")?;
    let running = runtime.block_on(node_running(profile.home()));
    let key_packages = running
        .then(|| running_node_document(profile))
        .flatten()
        .and_then(|bytes| verify_document(&bytes, now).ok())
        .map_or_else(|| key_packages.to_vec(), |doc| doc.key_packages().to_vec());
    let lifetime = match &signer {
        Signer::Primary(_) => kaichi_transport::DEFAULT_DOCUMENT_LIFETIME,
        Signer::Approver { until, .. } => {
            std::time::Duration::from_nanos(until.unix_nanos().saturating_sub(now.unix_nanos()))
                .min(kaichi_transport::DEFAULT_DOCUMENT_LIFETIME)
        }
    };
    let mut builder = DocumentBuilder::new(keys, now, lifetime);
    for grant in grants {
        builder = builder.device(grant);
    }
    for reference in key_packages {
        builder = builder.key_package(reference);
    }
    let document = match signer {
        Signer::Primary(wallet) => builder.sign(wallet)?,
        Signer::Approver {
            wallet, authority, ..
        } => builder.sign_as_device(wallet, authority)?,
    };
    verify_document(&document, now).context("the re-signed document does not verify")?;
    profile.save_document(&document)?;
    if !running {
        return Ok((document, None));
    }
    let hex: String = document.iter().map(|b| format!("{b:02x}")).collect();
    let said = match runtime.block_on(call(profile.home(), &Request::DocumentSet { hex })) {
        Ok(v) if v["ok"] == true => "the running node published the new document".to_owned(),
        Ok(v) => format!(
            "the running node kept its document ({}); it publishes the new one when it restarts",
            v["error"].as_str().unwrap_or("no reason given")
        ),
        Err(e) => format!(
            "could not reach the running node ({e:#}); it publishes the new document when it \
             restarts"
        ),
    };
    Ok((document, Some(said)))
}

/// The identity document the profile's running node publishes (`None`
/// when no node runs or it does not answer).
pub(crate) fn running_node_document(profile: &Profile) -> Option<Vec<u8>> {
    // Inside a runtime (the node itself starting) there is no other node
    // to ask, and no runtime may be started here.
    if tokio::runtime::Handle::try_current().is_ok() {
        return None;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    if !runtime.block_on(node_running(profile.home())) {
        return None;
    }
    runtime
        .block_on(call(profile.home(), &Request::Document))
        .ok()
        .and_then(|v| v["hex"].as_str().and_then(super::block::decode_hex))
}

/// When the profile's running node last heard from each device of the
/// identity, by signing key (hex; `None`: the identity's own key). Empty
/// when no node runs.
pub(crate) fn seen_by_running_node(
    profile: &Profile,
) -> std::collections::HashMap<Option<String>, String> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Default::default();
    };
    let Ok(answer) = runtime.block_on(call(profile.home(), &Request::DevicesSeen)) else {
        return Default::default();
    };
    answer["seen"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let key = d["signing_key"].as_str().map(str::to_owned);
            Some((key, d["at"].as_str()?.to_owned()))
        })
        .collect()
}
