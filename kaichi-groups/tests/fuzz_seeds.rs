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
use kaichi_groups::welcome::{key_package_ref, split_welcome, welcome_for};
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

    // welcome_split: a mode byte, then a Welcome to split, a header and a
    // shard, or a KeyPackage to reference.
    let t = "welcome_split";
    let welcome = out.welcome.as_deref().unwrap();
    write(t, "welcome", &[&[0], welcome].concat());
    let split = split_welcome(welcome, 1).unwrap();
    let header_len = u16::try_from(split.header.len()).unwrap().to_be_bytes();
    write(
        t,
        "header-and-shard",
        &[&[1], &header_len[..], &split.header, &split.shards[0].bytes].concat(),
    );
    write(t, "key-package", &[&[2], &carol.key_package()[..]].concat());
}

#[test]
fn committed_welcome_split_seeds_are_what_their_names_say() {
    let seeds = read_all("welcome_split");
    let names: Vec<&str> = seeds.iter().map(|(n, _)| n.as_str()).collect();
    for name in ["welcome", "header-and-shard", "key-package"] {
        assert!(names.contains(&name), "welcome_split/{name} is missing");
    }
    for (name, bytes) in &seeds {
        match name.as_str() {
            "welcome" => assert_eq!(split_welcome(&bytes[1..], 3).unwrap().shards.len(), 1),
            "key-package" => {
                key_package_ref(&bytes[1..]).unwrap();
            }
            "header-and-shard" => {
                let at = usize::from(u16::from_be_bytes([bytes[1], bytes[2]]));
                let (header, shard) = bytes[3..].split_at(at);
                assert!(matches!(
                    welcome_for(header, shard, &[]),
                    Err(kaichi_groups::WelcomeError::NotForMe)
                ));
            }
            _ => {}
        }
    }
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
