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

/// Signs the identity's document listing `grants` (and the KeyPackage the
/// running node's document references, so invitations keep finding it),
/// keeps it in the profile and hands it to the running node. Returns the
/// document and what the running node did (`None`: no node runs; it signs
/// its own document from the profile's grants when it starts).
pub(crate) fn sign_and_publish(
    profile: &Profile,
    wallet: &KeypairWallet,
    keys: &IdentityKeys,
    grants: impl IntoIterator<Item = DeviceGrant>,
    now: Timestamp,
) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime to reach the node")?;
    let running = runtime.block_on(node_running(profile.home()));
    let key_packages = if running {
        runtime
            .block_on(call(profile.home(), &Request::Document))
            .ok()
            .and_then(|v| v["hex"].as_str().and_then(super::block::decode_hex))
            .and_then(|bytes| verify_document(&bytes, now).ok())
            .map(|doc| doc.key_packages().to_vec())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut builder = DocumentBuilder::new(keys, now, kaichi_transport::DEFAULT_DOCUMENT_LIFETIME);
    for grant in grants {
        builder = builder.device(grant);
    }
    for reference in key_packages {
        builder = builder.key_package(reference);
    }
    let document = builder.sign(wallet)?;
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
