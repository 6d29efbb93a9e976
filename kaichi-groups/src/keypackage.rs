//! KeyPackages: how others invite this member.

use openmls::prelude::{
    Capabilities, CredentialType, ExtensionType, KeyPackage, KeyPackageIn, MlsMessageBodyIn,
    MlsMessageIn, MlsMessageOut, ProtocolVersion,
};
use openmls_traits::OpenMlsProvider;
use tls_codec::{Deserialize as _, Serialize as _};

use crate::credential::{DeviceDirectory, verify_binding};
use crate::metadata::METADATA_EXTENSION;
use crate::signer::MemberSigner;
use crate::{CIPHERSUITE, MAX_MESSAGE_BYTES};

/// A KeyPackage could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyPackageError {
    /// openmls could not build it (storage, crypto).
    #[error("building the KeyPackage: {0}")]
    Build(#[source] crate::MlsError),
    /// Not an `MLSMessage` holding a KeyPackage.
    #[error("not an MLSMessage carrying a KeyPackage")]
    Decode,
    /// Over [`MAX_MESSAGE_BYTES`].
    #[error("KeyPackage too large")]
    TooLarge,
    /// Invalid: signature, lifetime or capabilities.
    #[error("invalid KeyPackage: {0}")]
    Invalid(#[source] crate::MlsError),
    /// Valid, but for a ciphersuite Kaichi does not use.
    #[error("KeyPackage for ciphersuite {0:#06x}, not Kaichi's 0x0001")]
    WrongCiphersuite(u16),
    /// Its credential does not bind to its key.
    #[error("credential: {0}")]
    Credential(#[from] crate::CredentialError),
}

/// The capabilities every Kaichi leaf advertises.
pub(crate) fn capabilities() -> Capabilities {
    Capabilities::new(
        None,
        Some(&[CIPHERSUITE]),
        // Last-resort KeyPackages carry the last_resort extension, which
        // the leaf must then list.
        Some(&[
            ExtensionType::Unknown(METADATA_EXTENSION),
            ExtensionType::LastResort,
        ]),
        None,
        Some(&[CredentialType::Basic]),
    )
}

/// A fresh KeyPackage for `me`, as TLS-serialised `MLSMessage` bytes. Its
/// private keys stay in `provider`'s storage until a Welcome uses them.
/// A last-resort KeyPackage (RFC 9420 §10.1 extension) may be used more than once.
pub fn key_package(
    provider: &impl OpenMlsProvider,
    me: &MemberSigner,
    last_resort: bool,
) -> Result<Vec<u8>, KeyPackageError> {
    let mut builder = KeyPackage::builder().leaf_node_capabilities(capabilities());
    if last_resort {
        builder = builder.mark_as_last_resort();
    }
    let bundle = builder
        .build(CIPHERSUITE, provider, me, me.credential())
        .map_err(|e| KeyPackageError::Build(crate::MlsError::protocol(e)))?;
    MlsMessageOut::from(bundle.key_package().clone())
        .tls_serialize_detached()
        .map_err(|e| KeyPackageError::Build(crate::MlsError::protocol(e)))
}

/// Parses and validates a KeyPackage `MLSMessage`: signature, ciphersuite,
/// lifetime, and the credential's binding to its key.
pub fn parse_key_package(
    provider: &impl OpenMlsProvider,
    bytes: &[u8],
    devices: &(impl DeviceDirectory + ?Sized),
) -> Result<(KeyPackage, kaichi_identity::IpnsName), KeyPackageError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(KeyPackageError::TooLarge);
    }
    let message =
        MlsMessageIn::tls_deserialize_exact(bytes).map_err(|_| KeyPackageError::Decode)?;
    let MlsMessageBodyIn::KeyPackage(kp) = message.extract() else {
        return Err(KeyPackageError::Decode);
    };
    let kp: KeyPackageIn = kp;
    let kp = kp
        .validate(provider.crypto(), ProtocolVersion::Mls10)
        .map_err(|e| KeyPackageError::Invalid(crate::MlsError::protocol(e)))?;
    if kp.ciphersuite() != CIPHERSUITE {
        return Err(KeyPackageError::WrongCiphersuite(kp.ciphersuite().into()));
    }
    let leaf = kp.leaf_node();
    let name = verify_binding(leaf.credential(), leaf.signature_key().as_slice(), devices)?;
    Ok((kp, name))
}

/// Whether `provider`'s storage holds the private keys of KeyPackage
/// `bytes` (one openmls made).
#[cfg(feature = "sqlite")]
pub(crate) fn openmls_holds(provider: &impl OpenMlsProvider, bytes: &[u8]) -> bool {
    use openmls::prelude::{KeyPackageBundle, KeyPackageIn, MlsMessageBodyIn, MlsMessageIn};
    use openmls_traits::storage::StorageProvider as _;
    use tls_codec::Deserialize as _;
    let Ok(message) = MlsMessageIn::tls_deserialize_exact(bytes) else {
        return false;
    };
    let MlsMessageBodyIn::KeyPackage(kp) = message.extract() else {
        return false;
    };
    let Ok(kp) = KeyPackageIn::validate(
        kp,
        provider.crypto(),
        openmls::prelude::ProtocolVersion::Mls10,
    ) else {
        return false;
    };
    let Ok(hash) = kp.hash_ref(provider.crypto()) else {
        return false;
    };
    matches!(
        provider.storage().key_package::<_, KeyPackageBundle>(&hash),
        Ok(Some(_))
    )
}
