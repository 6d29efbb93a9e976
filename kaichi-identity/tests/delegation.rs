//! Delegated approval: a device the primary lets approve signs documents
//! with its own wallet; every other device cannot; an approving device
//! cannot add, remove or change approvers, outlive its authority, or
//! outdate the primary's revocation of its right.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use kaichi_identity::document::{
    BuildError, DeviceGrant, DeviceRequest, DocumentBuilder, DocumentError, verify_document,
};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner};
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use proptest::prelude::*;
use zeroize::Zeroizing;

const T0: Timestamp = Timestamp::from_unix_secs(1_795_000_000);
const DAY: Duration = Duration::from_secs(86_400);

fn at(minutes: u64) -> Timestamp {
    T0.checked_add(Duration::from_secs(60 * minutes)).unwrap()
}

fn wallet(seed: u8) -> KeypairWallet {
    KeypairWallet::from_secret_seed(&[seed; 32])
}

fn keys(w: &KeypairWallet) -> IdentityKeys {
    IdentityKeys::derive(w, KeyEpoch::ZERO).unwrap()
}

/// The primary (wallet 1) and the grant of device `seed`, made at `now`.
fn grant(primary: &IdentityKeys, seed: u8, now: Timestamp) -> DeviceGrant {
    let w = wallet(seed);
    let req = DeviceRequest::create(&w, &keys(&w), primary.ipns().name()).unwrap();
    DeviceGrant::issue(primary, &req, Zeroizing::new([seed; 32]), now).unwrap()
}

/// Laptop (primary, wallet 1) grants the phone (2, approver) and the watch
/// (3, not an approver).
struct Family {
    laptop: KeypairWallet,
    identity: IdentityKeys,
    phone: KeypairWallet,
    phone_grant: DeviceGrant,
    watch_grant: DeviceGrant,
    authority: Vec<u8>,
}

fn family() -> Family {
    let laptop = wallet(1);
    let identity = keys(&laptop);
    let phone_grant = grant(&identity, 2, T0).with_approver(true);
    let watch_grant = grant(&identity, 3, T0);
    let authority = DocumentBuilder::new(&identity, T0, 30 * DAY)
        .device(phone_grant.clone())
        .device(watch_grant.clone())
        .sign(&laptop)
        .unwrap();
    Family {
        laptop,
        identity,
        phone: wallet(2),
        phone_grant,
        watch_grant,
        authority,
    }
}

/// What the phone signs at `now`, listing `devices`.
fn by_phone(f: &Family, now: Timestamp, devices: &[DeviceGrant]) -> Result<Vec<u8>, BuildError> {
    let mut b = DocumentBuilder::new(&f.identity, now, 29 * DAY);
    for d in devices {
        b = b.device(d.clone());
    }
    b.sign_as_device(&f.phone, &f.authority)
}

#[test]
fn an_approver_adds_and_removes_devices_and_its_document_comes_after_the_authority() {
    let f = family();
    let tablet = grant(&f.identity, 4, at(5));
    let doc = by_phone(
        &f,
        at(5),
        &[f.phone_grant.clone(), f.watch_grant.clone(), tablet.clone()],
    )
    .unwrap();
    let v = verify_document(&doc, at(6)).unwrap();
    let authority = verify_document(&f.authority, at(6)).unwrap();
    assert_eq!(v.approved_by(), Some(f.phone.address()));
    assert_eq!(v.authority(), Some(f.authority.as_slice()));
    assert!(v.is_authorised(&wallet(4).address()));
    assert!(v.supersedes(&authority));
    assert_eq!(v.version().authority_created_at(), T0);
    assert_eq!(authority.approved_by(), None);
    // The tablet opens its grant from the document the phone signed.
    assert_eq!(
        v.open_grant(&keys(&wallet(4))).unwrap().ipns(),
        f.identity.ipns()
    );
    // The phone removes the watch (not an approver).
    let doc = by_phone(&f, at(7), &[f.phone_grant.clone(), tablet]).unwrap();
    let later = verify_document(&doc, at(8)).unwrap();
    assert!(!later.is_authorised(&wallet(3).address()));
    assert!(later.supersedes(&v));
}

#[test]
fn a_device_without_the_right_cannot_approve() {
    let f = family();
    let watch = wallet(3);
    let refused = DocumentBuilder::new(&f.identity, at(5), DAY)
        .device(f.phone_grant.clone())
        .device(f.watch_grant.clone())
        .device(grant(&f.identity, 4, at(5)))
        .sign_as_device(&watch, &f.authority);
    assert_eq!(
        refused,
        Err(BuildError::Delegation(DocumentError::NotAnApprover(
            watch.address()
        )))
    );
    // Nor can a wallet that is no device at all.
    let stranger = wallet(9);
    assert!(matches!(
        DocumentBuilder::new(&f.identity, at(5), DAY).sign_as_device(&stranger, &f.authority),
        Err(BuildError::Delegation(DocumentError::NotAnApprover(_)))
    ));
}

#[test]
fn an_approver_cannot_touch_approvers_or_outlive_its_authority() {
    let f = family();
    // Granting itself or another device the right.
    let tablet = grant(&f.identity, 4, at(5)).with_approver(true);
    let e = by_phone(
        &f,
        at(5),
        &[f.phone_grant.clone(), f.watch_grant.clone(), tablet],
    )
    .unwrap_err();
    assert_eq!(
        e,
        BuildError::Delegation(DocumentError::ApproverChanged(wallet(4).address()))
    );
    // Removing an approver (itself).
    let e = by_phone(&f, at(5), std::slice::from_ref(&f.watch_grant)).unwrap_err();
    assert_eq!(
        e,
        BuildError::Delegation(DocumentError::ApproverChanged(f.phone.address()))
    );
    // Outliving the authority.
    let e = DocumentBuilder::new(&f.identity, at(5), 31 * DAY)
        .device(f.phone_grant.clone())
        .sign_as_device(&f.phone, &f.authority)
        .unwrap_err();
    assert!(matches!(
        e,
        BuildError::Delegation(DocumentError::AuthorityMismatch(_))
    ));
    // Created before its authority.
    let e = DocumentBuilder::new(&f.identity, T0, DAY)
        .device(f.phone_grant.clone())
        .sign_as_device(&f.phone, &f.authority)
        .unwrap_err();
    assert!(matches!(
        e,
        BuildError::Delegation(DocumentError::AuthorityMismatch(_))
    ));
    // Another identity's document as authority.
    let other = keys(&wallet(5));
    let foreign = DocumentBuilder::new(&other, T0, 30 * DAY)
        .sign(&wallet(5))
        .unwrap();
    // (With its real authority the same document is fine.)
    by_phone(&f, at(5), std::slice::from_ref(&f.phone_grant)).unwrap();
    let e = DocumentBuilder::new(&f.identity, at(5), DAY)
        .device(f.phone_grant.clone())
        .sign_as_device(&f.phone, &foreign)
        .unwrap_err();
    assert!(matches!(
        e,
        BuildError::Delegation(DocumentError::NotAnApprover(_))
    ));
}

/// The laptop revokes the phone's right at minute 10. The phone, keeping
/// the old authority, signs a document at minute 20 re-adding a device:
/// it verifies on its own (nothing in it is false), but the revocation is
/// the newer version, so whoever holds both keeps the revocation.
#[test]
fn a_revoked_approver_cannot_outdate_its_revocation() {
    let f = family();
    let revocation = DocumentBuilder::new(&f.identity, at(10), 30 * DAY)
        .device(f.watch_grant.clone())
        .sign(&f.laptop)
        .unwrap();
    let late = by_phone(&f, at(20), std::slice::from_ref(&f.phone_grant)).unwrap();
    let (revocation, late) = (
        verify_document(&revocation, at(21)).unwrap(),
        verify_document(&late, at(21)).unwrap(),
    );
    assert!(late.created_at() > revocation.created_at());
    assert!(revocation.supersedes(&late));
    assert!(!late.supersedes(&revocation));
    // And a document built on the revocation cannot name the phone.
    let revocation_bytes = DocumentBuilder::new(&f.identity, at(10), 30 * DAY)
        .device(f.watch_grant.clone())
        .sign(&f.laptop)
        .unwrap();
    assert!(matches!(
        DocumentBuilder::new(&f.identity, at(11), DAY).sign_as_device(&f.phone, &revocation_bytes),
        Err(BuildError::Delegation(DocumentError::NotAnApprover(_)))
    ));
}

#[test]
fn tampered_delegations_are_refused() {
    let f = family();
    let doc = by_phone(&f, at(5), &[f.phone_grant.clone(), f.watch_grant.clone()]).unwrap();
    // A delegated document as the authority of another (nesting).
    let nested = DocumentBuilder::new(&f.identity, at(6), DAY)
        .device(f.phone_grant.clone())
        .device(f.watch_grant.clone())
        .sign_as_device(&f.phone, &doc)
        .unwrap_err();
    assert!(matches!(
        nested,
        BuildError::Delegation(DocumentError::BadAuthority(_))
    ));
    // The primary's own signature path refuses a body naming an approver:
    // flipping bytes anywhere is refused (property below); a document
    // verified at a time its authority expired is refused.
    assert!(matches!(
        verify_document(&doc, T0.checked_add(31 * DAY).unwrap()),
        Err(DocumentError::Expired { .. } | DocumentError::BadAuthority(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any single byte changed in a document a device approved is refused
    /// (or, where protobuf ignores it, verifies to the same document).
    #[test]
    fn any_single_byte_change_is_refused(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let f = family();
        let doc = by_phone(&f, at(5), &[f.phone_grant.clone(), f.watch_grant.clone()]).unwrap();
        let original = verify_document(&doc, at(6)).unwrap();
        let mut bad = doc.clone();
        let i = index.index(bad.len());
        bad[i] ^= flip;
        if let Ok(v) = verify_document(&bad, at(6)) {
            prop_assert_eq!(v, original);
        }
    }
}
