//! Identity documents and device grants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use kaichi_identity::document::{
    BuildError, DeviceGrant, DeviceRequest, DocumentBuilder, DocumentError, GrantError,
    OpenGrantError, RequestError, verify_document,
};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner};
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use proptest::prelude::*;
use zeroize::Zeroizing;

const NOW: Timestamp = Timestamp::from_unix_secs(1_795_000_000);
const DAY: Duration = Duration::from_secs(86_400);

fn wallet(seed: u8) -> KeypairWallet {
    KeypairWallet::from_secret_seed(&[seed; 32])
}

fn keys(w: &KeypairWallet) -> IdentityKeys {
    IdentityKeys::derive(w, KeyEpoch::ZERO).unwrap()
}

/// Primary wallet 1 grants device wallet 2; returns the signed document.
fn granted_document() -> (
    KeypairWallet,
    IdentityKeys,
    KeypairWallet,
    IdentityKeys,
    Vec<u8>,
) {
    let (pw, dw) = (wallet(1), wallet(2));
    let (pk, dk) = (keys(&pw), keys(&dw));
    let req = DeviceRequest::create(&dw, &dk, pk.ipns().name()).unwrap();
    let req = DeviceRequest::from_bytes(&req.to_bytes()).unwrap();
    let grant = DeviceGrant::issue(&pk, &req, Zeroizing::new([9; 32]), NOW).unwrap();
    let doc = DocumentBuilder::new(&pk, NOW, 30 * DAY)
        .device(grant)
        .key_package(b"\x01\x55\x12\x20kp".to_vec())
        .sign(&pw)
        .unwrap();
    (pw, pk, dw, dk, doc)
}

#[test]
fn document_verifies_and_binds_wallet_ipns_and_dm() {
    let (pw, pk, dw, _, doc) = granted_document();
    let v = verify_document(&doc, NOW).unwrap();
    assert_eq!(*v.public(), pk.public());
    assert_eq!(v.expires_at(), NOW.checked_add(30 * DAY).unwrap());
    assert!(v.is_authorised(&pw.address()));
    assert!(v.is_authorised(&dw.address()));
    assert!(v.is_authorised_signer(&pk.ipns().public()));
    assert!(v.is_authorised_signer(&keys(&dw).ipns().public()));
    assert!(!v.is_authorised_signer(&keys(&wallet(3)).ipns().public()));
    assert!(!v.is_authorised(&wallet(3).address()));
    assert_eq!(v.key_packages().len(), 1);
    let v = v.for_wallet(&pw.address()).unwrap();
    let v = v.for_name(&pk.ipns().name()).unwrap();
    assert!(matches!(
        v.clone().for_wallet(&dw.address()),
        Err(DocumentError::WalletMismatch { .. })
    ));
    assert!(matches!(
        v.for_name(&keys(&dw).ipns().name()),
        Err(DocumentError::NameMismatch { .. })
    ));
}

#[test]
fn grant_opens_on_the_device_only() {
    let (_, pk, dw, dk, doc) = granted_document();
    let v = verify_document(&doc, NOW).unwrap();
    let opened = v.open_grant(&dk).unwrap();
    assert_eq!(opened.ipns(), pk.ipns());
    assert_eq!(opened.dm(), pk.dm());
    assert_eq!(opened.wallet(), pk.wallet());
    // The device keeps its own at-rest key.
    assert_eq!(opened.store(), dk.store());
    assert_ne!(opened.store(), pk.store());
    // A third wallet has no grant.
    let other = keys(&wallet(3));
    assert!(matches!(
        v.open_grant(&other),
        Err(OpenGrantError::NoGrant(_))
    ));
    // The device at another epoch has other keys and cannot open it.
    let dk1 = IdentityKeys::derive(&dw, KeyEpoch::new(1)).unwrap();
    assert!(matches!(
        v.open_grant(&dk1),
        Err(OpenGrantError::DeviceKeyMismatch { .. })
    ));
}

#[test]
fn grants_are_refused_for_wrong_requests() {
    let (pw, dw) = (wallet(1), wallet(2));
    let (pk, dk) = (keys(&pw), keys(&dw));
    // A request for someone else's identity.
    let req = DeviceRequest::create(&dw, &dk, keys(&wallet(5)).ipns().name()).unwrap();
    assert!(matches!(
        DeviceGrant::issue(&pk, &req, Zeroizing::new([9; 32]), NOW),
        Err(GrantError::WrongIdentity { .. })
    ));
    // The primary as its own device.
    let own = DeviceRequest::create(&pw, &pk, pk.ipns().name()).unwrap();
    assert_eq!(
        DeviceGrant::issue(&pk, &own, Zeroizing::new([9; 32]), NOW),
        Err(GrantError::DeviceIsPrimary)
    );
    // Keys of one wallet signed by another.
    assert!(matches!(
        DeviceRequest::create(&pw, &dk, pk.ipns().name()),
        Err(RequestError::WalletMismatch { .. })
    ));
    // A tampered request.
    let mut bytes = DeviceRequest::create(&dw, &dk, pk.ipns().name())
        .unwrap()
        .to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(
        DeviceRequest::from_bytes(&bytes),
        Err(RequestError::BadSignature(_) | RequestError::InvalidField(_))
    ));
}

#[test]
fn builder_rejects_bad_inputs() {
    let (pw, pk) = (wallet(1), keys(&wallet(1)));
    assert!(matches!(
        DocumentBuilder::new(&pk, NOW, DAY).sign(&wallet(2)),
        Err(BuildError::WalletMismatch { .. })
    ));
    assert_eq!(
        DocumentBuilder::new(&pk, NOW, Duration::ZERO).sign(&pw),
        Err(BuildError::InvalidLifetime)
    );
    let mut b = DocumentBuilder::new(&pk, NOW, DAY);
    for _ in 0..17 {
        b = b.key_package(vec![1]);
    }
    assert!(matches!(b.sign(&pw), Err(BuildError::TooMany { .. })));
}

#[test]
fn lifetime_is_checked_against_now() {
    let (_, _, _, _, doc) = granted_document();
    let expiry = NOW.checked_add(30 * DAY).unwrap();
    assert!(matches!(
        verify_document(&doc, expiry),
        Err(DocumentError::Expired { .. })
    ));
    assert!(matches!(
        verify_document(&doc, Timestamp::from_unix_secs(1_700_000_000)),
        Err(DocumentError::NotYetValid { .. })
    ));
}

#[test]
fn garbage_and_oversize_get_typed_errors() {
    assert!(matches!(
        verify_document(&[0xff; 10], NOW),
        Err(DocumentError::Malformed(_))
    ));
    assert!(matches!(
        verify_document(&vec![0; 70_000], NOW),
        Err(DocumentError::TooLarge { .. })
    ));
    assert!(matches!(
        verify_document(&[], NOW),
        Err(DocumentError::UnsupportedVersion { actual: 0, .. })
    ));
}

/// One signed document (and its verified form) shared by the properties.
static SIGNED: std::sync::LazyLock<(Vec<u8>, kaichi_identity::document::VerifiedDocument)> =
    std::sync::LazyLock::new(|| {
        let (_, _, _, _, doc) = granted_document();
        let verified = verify_document(&doc, NOW).unwrap();
        (doc, verified)
    });

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any single-byte change to a signed document is rejected.
    #[test]
    fn any_single_byte_change_is_rejected(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let (doc, original) = &*SIGNED;
        let mut tampered = doc.clone();
        let i = index.index(tampered.len());
        tampered[i] ^= flip;
        match verify_document(&tampered, NOW) {
            Err(_) => {}
            // Protobuf tolerates a few re-encodings of the outer envelope
            // (e.g. a changed field tag that becomes an unknown field); the
            // signed content must then be exactly the original.
            Ok(v) => prop_assert_eq!(&v, original),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        let _ = verify_document(&bytes, NOW);
        let _ = DeviceRequest::from_bytes(&bytes);
    }
}
