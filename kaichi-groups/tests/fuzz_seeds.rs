//! Seed corpora for the group fuzz targets (fuzz/seeds/<target>/): real
//! KeyPackages, Welcomes, commits, proposals and application messages. The
//! committed seeds double as wire-format fixtures: each must still decode
//! as an RFC 9420 `MLSMessage` of the kind its name says.
//!
//! Regenerate with:
//! `cargo test -p kaichi-groups --test fuzz_seeds -- --ignored`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use kaichi_test_support::seeds::{read_all, write};

use common::Client;
use kaichi_groups::Outgoing;
use openmls::prelude::{MlsMessageBodyIn, MlsMessageIn};
use tls_codec::Deserialize as _;

#[test]
#[ignore = "writes fuzz/seeds; run on purpose to regenerate"]
fn write_fuzz_seeds() {
    let (mut alice, mut bob, carol) = (Client::new(1), Client::new(2), Client::new(3));
    write("key_package_parse", "key-package", &bob.key_package());
    alice.create("seeds");
    let out = alice.add(&[&bob]);
    bob.join(&out);
    let t = "group_message_process";
    write(t, "welcome", out.welcome.as_deref().unwrap());
    write(t, "commit-add", &out.commit);
    write(t, "application", &alice.send("hello"));
    let Outgoing::Proposals(ps) = bob
        .group
        .as_mut()
        .unwrap()
        .self_update(&bob.provider, &bob.me)
        .unwrap()
    else {
        panic!()
    };
    write(t, "proposal-update", &ps[0]);
    write(t, "key-package", &carol.key_package());
}

#[test]
fn committed_seeds_decode_as_mls_messages() {
    let mut seen = 0;
    for target in ["group_message_process", "key_package_parse"] {
        for (name, bytes) in read_all(target) {
            let body = MlsMessageIn::tls_deserialize_exact(bytes.as_slice())
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .extract();
            let ok = match name.as_str() {
                "welcome" => matches!(body, MlsMessageBodyIn::Welcome(_)),
                "key-package" => matches!(body, MlsMessageBodyIn::KeyPackage(_)),
                _ => matches!(body, MlsMessageBodyIn::PrivateMessage(_)),
            };
            assert!(ok, "{target}/{name} is not what its name says");
            seen += 1;
        }
    }
    assert_eq!(seen, 6);
}
