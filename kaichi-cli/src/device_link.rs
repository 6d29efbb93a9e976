//! A device profile's identity: the grant in the identity's document,
//! opened with the device's own keys.

use anyhow::{Context as _, bail};
use kaichi_identity::IdentityKeys;
use kaichi_identity::IpnsName;
use kaichi_identity::document::{DocumentError, VerifiedDocument, verify_document};

use crate::profile::{DeviceOf, Profile};

/// The identity's keys for this device: its grant in the stored document,
/// opened with `own` (the keys derived from the device's wallet).
pub(crate) fn open(
    profile: &Profile,
    of: &DeviceOf,
    own: &IdentityKeys,
) -> anyhow::Result<IdentityKeys> {
    let doc = stored_document(profile, of)?;
    doc.open_grant(own).with_context(|| {
        format!(
            "this device ({}) cannot open its grant from {}: it was revoked, or the document is \
             not the one it joined with",
            own.wallet(),
            of.identity
        )
    })
}

/// The document a device profile joined with, verified for its identity.
pub(crate) fn stored_document(
    profile: &Profile,
    of: &DeviceOf,
) -> anyhow::Result<VerifiedDocument> {
    let bytes = profile.document()?.context(
        "this device profile has lost its identity document: run `kaichi device join` again",
    )?;
    let name: IpnsName = of
        .identity
        .parse()
        .with_context(|| format!("profile.json names identity {:?}", of.identity))?;
    verified(&bytes, &name)
}

/// `bytes` verified now as `name`'s document, with the steps to take when
/// it expired.
pub(crate) fn verified(bytes: &[u8], name: &IpnsName) -> anyhow::Result<VerifiedDocument> {
    match verify_document(bytes, crate::commands::now()?).and_then(|d| d.for_name(name)) {
        Ok(doc) => Ok(doc),
        Err(DocumentError::Expired { expires_at, .. }) => bail!(
            "the identity document of {name} expired at {expires_at}: on the primary, write a \
             fresh one with `kaichi id document --out FILE` and give it to `kaichi device join`"
        ),
        Err(e) => Err(e).context("the identity document does not verify"),
    }
}

/// The device grants this identity's current document lists (see
/// [`current_document`]; none when there is none).
pub(crate) fn own_grants(
    profile: &Profile,
    keys: &IdentityKeys,
) -> anyhow::Result<Vec<kaichi_identity::document::DeviceGrant>> {
    Ok(current_document(profile, keys)?
        .map(|(_, doc)| doc.devices().to_vec())
        .unwrap_or_default())
}

/// This identity's current document: the newest (by
/// [`kaichi_identity::document::DocumentVersion`]) of the profile's stored
/// one and the running node's (which may have taken a newer one from
/// another device). One of another identity or epoch does not count; one
/// that expired still counts for what it lists (it was signed).
pub(crate) fn current_document(
    profile: &Profile,
    keys: &IdentityKeys,
) -> anyhow::Result<Option<(Vec<u8>, VerifiedDocument)>> {
    let now = crate::commands::now()?;
    let mut found: Option<(Vec<u8>, VerifiedDocument)> = None;
    let stored = profile.document()?;
    let running = crate::commands::device_publish::running_node_document(profile);
    for bytes in [stored, running].into_iter().flatten() {
        let doc = match verify_document(&bytes, now) {
            Err(DocumentError::Expired { expires_at, .. }) => {
                let before = kaichi_identity::Timestamp::from_unix_nanos(
                    expires_at.unix_nanos().saturating_sub(1),
                );
                verify_document(&bytes, before)
            }
            other => other,
        }
        .context("the identity document does not verify")?;
        if doc.public() != &keys.public() {
            continue;
        }
        if found.as_ref().is_none_or(|(_, f)| doc.supersedes(f)) {
            found = Some((bytes, doc));
        }
    }
    Ok(found)
}
