//! IPNS name parsing: never panics; whatever parses round-trips through
//! every spelling.
#![no_main]

use kaichi_identity::IpnsName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        let _ = IpnsName::from_bytes(data);
        return;
    };
    if let Ok(name) = text.parse::<IpnsName>() {
        assert_eq!(name.to_string().parse::<IpnsName>().ok(), Some(name));
        assert_eq!(
            name.to_peer_id_string().parse::<IpnsName>().ok(),
            Some(name)
        );
        assert_eq!(IpnsName::from_bytes(&name.to_bytes()).ok(), Some(name));
        let _ = name.inlined_ed25519();
    }
});
