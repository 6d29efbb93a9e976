//! Identity document (and device request) decode + verify with arbitrary
//! bytes: never panics; a verified document is self-consistent.
#![no_main]

use kaichi_identity::Timestamp;
use kaichi_identity::document::{DeviceRequest, MAX_DEVICES, verify_document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_unix_secs(1_795_000_000);
    if let Ok(doc) = verify_document(data, now) {
        assert!(doc.devices().len() <= MAX_DEVICES);
        assert!(doc.expires_at() > now);
        assert!(doc.is_authorised(&doc.public().wallet));
        for grant in doc.devices() {
            assert!(doc.is_authorised(&grant.device_wallet()));
            assert_ne!(grant.device_wallet(), doc.public().wallet);
        }
    }
    if let Ok(req) = DeviceRequest::from_bytes(data) {
        assert_eq!(DeviceRequest::from_bytes(&req.to_bytes()).ok(), Some(req));
    }
});
