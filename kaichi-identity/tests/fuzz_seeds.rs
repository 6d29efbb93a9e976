//! The fuzz targets' seed corpora (fuzz/seeds/<target>/), and a check that
//! the committed seeds still load: they double as stored-format fixtures, so
//! a change that stops old records or documents from verifying fails here.
//!
//! Regenerate with:
//! `cargo test -p kaichi-identity --test fuzz_seeds -- --ignored`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kaichi_test_support::seeds::{NOW_UNIX_SECS, read_all, write};
use std::time::Duration;

use kaichi_identity::document::{DeviceGrant, DeviceRequest, DocumentBuilder, verify_document};
use kaichi_identity::ipns::{RecordParams, create_record, validate_record};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, IpnsKeypair, KeyEpoch, Timestamp};
use zeroize::Zeroizing;

/// The `now` every fuzz target uses.
const NOW: Timestamp = Timestamp::from_unix_secs(NOW_UNIX_SECS);
const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);

#[test]
#[ignore = "writes fuzz/seeds; run on purpose to regenerate"]
fn write_fuzz_seeds() {
    // ipns_record_validate: records by the fuzz target's key, and the spec vectors.
    let key = IpnsKeypair::from_seed(&[1; 32]);
    for (i, v1) in [true, false].into_iter().enumerate() {
        let mut p = RecordParams::new(
            "/ipfs/bafkqaddwgevxmmraojswg33smq",
            i as u64,
            NOW.checked_add(CENTURY).unwrap(),
        );
        p.v1_compatible = v1;
        write(
            "ipns_record_validate",
            &format!("ours-{i}.ipns-record"),
            &create_record(&key, &p).unwrap(),
        );
    }
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ipns");
    for e in std::fs::read_dir(vectors).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ipns-record") {
            write(
                "ipns_record_validate",
                p.file_name().unwrap().to_str().unwrap(),
                &std::fs::read(&p).unwrap(),
            );
        }
    }

    // ipns_name_parse: every spelling.
    let name = key.name();
    write("ipns_name_parse", "k51", name.to_string().as_bytes());
    write(
        "ipns_name_parse",
        "peer-id",
        name.to_peer_id_string().as_bytes(),
    );
    write(
        "ipns_name_parse",
        "base32",
        name.to_cid()
            .to_string_of_base(cid::multibase::Base::Base32Lower)
            .unwrap()
            .as_bytes(),
    );
    write(
        "ipns_name_parse",
        "qm",
        b"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
    );
    write("ipns_name_parse", "binary", &name.to_bytes());

    // identity_document_verify: a document with a device grant, and a request.
    let (pw, dw) = (
        KeypairWallet::from_secret_seed(&[1; 32]),
        KeypairWallet::from_secret_seed(&[2; 32]),
    );
    let pk = IdentityKeys::derive(&pw, KeyEpoch::ZERO).unwrap();
    let dk = IdentityKeys::derive(&dw, KeyEpoch::ZERO).unwrap();
    let req = DeviceRequest::create(&dw, &dk, pk.ipns().name()).unwrap();
    let grant = DeviceGrant::issue(&pk, &req, Zeroizing::new([3; 32]), NOW).unwrap();
    let doc = DocumentBuilder::new(&pk, NOW, CENTURY)
        .device(grant)
        .key_package(b"\x01\x55\x12\x20kp".to_vec())
        .sign(&pw)
        .unwrap();
    write("identity_document_verify", "document-v1", &doc);
    write(
        "identity_document_verify",
        "plain-document-v1",
        &DocumentBuilder::new(&pk, NOW, CENTURY).sign(&pw).unwrap(),
    );
    write(
        "identity_document_verify",
        "device-request-v1",
        &req.to_bytes(),
    );
    // A document the device signs, which the primary let approve.
    let approver = DeviceGrant::issue(&pk, &req, Zeroizing::new([3; 32]), NOW)
        .unwrap()
        .with_approver(true);
    let authority = DocumentBuilder::new(&pk, NOW, CENTURY)
        .device(approver.clone())
        .sign(&pw)
        .unwrap();
    let later = NOW.checked_add(Duration::from_secs(1)).unwrap();
    let delegated = DocumentBuilder::new(&pk, later, CENTURY - Duration::from_secs(60))
        .device(approver)
        .sign_as_device(&dw, &authority)
        .unwrap();
    write(
        "identity_document_verify",
        "delegated-document-v1",
        &delegated,
    );

    // keypair_file_parse: solana-keygen JSON, spaced JSON, base58.
    write(
        "keypair_file_parse",
        "keygen.json",
        pw.to_keypair_json().as_bytes(),
    );
    write(
        "keypair_file_parse",
        "spaced.json",
        pw.to_keypair_json().replace(',', ", ").as_bytes(),
    );
    write("keypair_file_parse", "base58", pw.to_base58().as_bytes());
    write("keypair_file_parse", "empty.json", b"[]");
}

#[test]
fn committed_seeds_still_load() {
    let name = IpnsKeypair::from_seed(&[1; 32]).name();
    let records = read_all("ipns_record_validate");
    let ours: Vec<_> = records
        .iter()
        .filter(|(n, _)| n.starts_with("ours-"))
        .collect();
    assert_eq!(ours.len(), 2);
    for (n, bytes) in ours {
        validate_record(bytes, &name, NOW).unwrap_or_else(|e| panic!("{n}: {e}"));
    }
    for (n, bytes) in read_all("ipns_name_parse") {
        if n != "binary" {
            let text = String::from_utf8(bytes).unwrap();
            text.parse::<kaichi_identity::IpnsName>()
                .unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }
    let docs = read_all("identity_document_verify");
    let pw = KeypairWallet::from_secret_seed(&[1; 32]);
    let dk =
        IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[2; 32]), KeyEpoch::ZERO).unwrap();
    for (n, bytes) in &docs {
        if n.ends_with("document-v1") {
            let doc = verify_document(bytes, NOW).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(
                doc.public().wallet,
                kaichi_identity::wallet::WalletSigner::address(&pw)
            );
            assert_eq!(
                doc.approved_by().is_some(),
                n.starts_with("delegated"),
                "{n}"
            );
            if n == "document-v1" {
                let opened = doc.open_grant(&dk).unwrap();
                assert_eq!(opened.ipns().name(), doc.public().ipns_name());
            }
        } else {
            DeviceRequest::from_bytes(bytes).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }
    for (n, bytes) in read_all("keypair_file_parse") {
        let ok = KeypairWallet::from_keypair_json(&bytes).is_ok()
            || KeypairWallet::from_base58(std::str::from_utf8(&bytes).unwrap()).is_ok();
        assert_eq!(ok, n != "empty.json", "{n}");
    }
}
