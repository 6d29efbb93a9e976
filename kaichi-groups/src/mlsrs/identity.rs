//! Kaichi's credential rules as mls-rs' [`IdentityProvider`]: a leaf's
//! basic credential names an IPNS identity whose key, or a device key the
//! identity granted, is the leaf's signature key.

use std::sync::Arc;

use kaichi_identity::IpnsName;
use mls_rs::ExtensionList;
use mls_rs::IdentityProvider;
use mls_rs::identity::{Credential, CredentialType, SigningIdentity};
use mls_rs::time::MlsTime;
use mls_rs_core::identity::MemberValidationContext;

use super::RuleError;
use crate::credential::{CredentialError, DeviceDirectory, bind_identity};

/// The device directory an engine consults, shared with whoever learns
/// identity documents.
pub type SharedDevices = Arc<dyn DeviceDirectory + Send + Sync>;

/// Kaichi's credential rules for mls-rs: every leaf, at join, at add and in
/// every update, must bind its credential to its key.
#[derive(Clone)]
pub struct KaichiIdentity {
    devices: SharedDevices,
}

impl std::fmt::Debug for KaichiIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KaichiIdentity").finish_non_exhaustive()
    }
}

impl KaichiIdentity {
    /// Rules that accept device keys `devices` vouches for.
    pub fn new(devices: SharedDevices) -> Self {
        Self { devices }
    }

    /// The identity a leaf's signing identity binds to.
    pub fn bind(&self, id: &SigningIdentity) -> Result<IpnsName, CredentialError> {
        bind(id, &*self.devices)
    }
}

/// The identity `id` binds to, under `devices`.
pub(crate) fn bind(
    id: &SigningIdentity,
    devices: &(impl DeviceDirectory + ?Sized),
) -> Result<IpnsName, CredentialError> {
    let Credential::Basic(basic) = &id.credential else {
        return Err(CredentialError::NotBasic);
    };
    bind_identity(&basic.identifier, id.signature_key.as_bytes(), devices)
}

/// The identity a leaf's basic credential names, without checking that
/// its key may sign for it.
pub(crate) fn named(id: &SigningIdentity) -> Option<IpnsName> {
    let Credential::Basic(basic) = &id.credential else {
        return None;
    };
    crate::credential::identity_name(&basic.identifier).ok()
}

/// The identity mls-rs indexes a leaf by: name text, 0, signature key.
pub(crate) fn leaf_identity(name: &[u8], signature_key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1 + signature_key.len());
    out.extend_from_slice(name);
    out.push(0);
    out.extend_from_slice(signature_key);
    out
}

impl IdentityProvider for KaichiIdentity {
    type Error = RuleError;

    fn validate_member(
        &self,
        id: &SigningIdentity,
        _: Option<MlsTime>,
        _: MemberValidationContext<'_>,
    ) -> Result<(), RuleError> {
        self.bind(id).map_err(RuleError::Credential)?;
        Ok(())
    }

    fn validate_external_sender(
        &self,
        _: &SigningIdentity,
        _: Option<MlsTime>,
        _: Option<&ExtensionList>,
    ) -> Result<(), RuleError> {
        Err(RuleError::External)
    }

    /// Unique per leaf (mls-rs refuses two leaves with one identity, and an
    /// identity may have several devices): the credential's identity (the
    /// IPNS name's text), a zero byte, and the leaf's signature key. Not
    /// checked here: mls-rs indexes every leaf of a tree with it, and
    /// [`Self::validate_member`] checks each leaf's binding already.
    fn identity(&self, id: &SigningIdentity, _: &ExtensionList) -> Result<Vec<u8>, RuleError> {
        let Credential::Basic(basic) = &id.credential else {
            return Err(RuleError::Credential(CredentialError::NotBasic));
        };
        Ok(leaf_identity(
            &basic.identifier,
            id.signature_key.as_bytes(),
        ))
    }

    /// An update keeps the identity (a device stays the identity's).
    fn valid_successor(
        &self,
        predecessor: &SigningIdentity,
        successor: &SigningIdentity,
        _: &ExtensionList,
    ) -> Result<bool, RuleError> {
        let before = self.bind(predecessor).map_err(RuleError::Credential)?;
        let after = self.bind(successor).map_err(RuleError::Credential)?;
        Ok(before == after)
    }

    fn supported_types(&self) -> Vec<CredentialType> {
        vec![CredentialType::BASIC]
    }
}
