//! Interoperability with independent implementations installed from the
//! package registries: js-ipns and @libp2p/peer-id (npm), solders (PyPI).
//!
//! The first run installs them (`npm ci` in interop/js, `pip install` into
//! the target directory). Set KAICHI_SKIP_INTEROP=1 to skip on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use kaichi_identity::IpnsKeypair;
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_test_support::hex::encode as hex;
use serde_json::json;
use support::{interop_skipped, kaichi, node, python, run_with_stdin};

fn random_seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s).unwrap();
    s
}

/// Wallet addresses equal what the Solana SDK (solders) computes for the
/// same keypair file, base58 secret and seed phrase.
#[test]
fn wallet_addresses_match_solders() {
    if interop_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let mut ours = Vec::new();

    for i in 0..4 {
        let w = KeypairWallet::from_secret_seed(&random_seed());
        let file = dir.path().join(format!("k{i}.json"));
        std::fs::write(&file, w.to_keypair_json().as_bytes()).unwrap();
        let out = kaichi(&dir.path().join(format!("kp{i}")))
            .args(["--json", "wallet", "import", "--keypair"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ours.push(v["wallet"].as_str().unwrap().to_owned());
        cases.push(json!({"kind": "keypair_json", "input": w.to_keypair_json().as_str()}));

        let mut c = kaichi(&dir.path().join(format!("b58{i}")));
        c.args(["--json", "wallet", "import", "--base58"]);
        let out = run_with_stdin(c, &format!("{}\n", w.to_base58().as_str()));
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ours.push(v["wallet"].as_str().unwrap().to_owned());
        cases.push(json!({"kind": "base58", "input": w.to_base58().as_str()}));
    }

    let phrases = [
        (
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
            "",
        ),
        (
            "legal winner thank year wave sausage worth useful legal winner thank yellow",
            "TREZOR",
        ),
        (
            "letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
            "correct horse",
        ),
        (
            "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
            "ünïcödé",
        ),
        (
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
            "",
        ),
    ];
    for (i, (phrase, pass)) in phrases.iter().enumerate() {
        for (path, kind) in [
            (None, "seed_phrase"),
            (Some("m/44'/501'/1'/0'"), "seed_phrase"),
            (Some("solana-keygen"), "seed_phrase_solana_keygen"),
        ] {
            let mut c = kaichi(&dir.path().join(format!(
                "p{i}-{}",
                path.unwrap_or("default").replace('/', "_")
            )));
            c.args(["--json", "wallet", "import", "--seed-phrase"]);
            if !pass.is_empty() {
                c.arg("--passphrase");
            }
            if let Some(p) = path {
                c.args(["--derivation-path", p]);
            }
            let out = run_with_stdin(c, &format!("{phrase}\n{pass}\n"));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            ours.push(v["wallet"].as_str().unwrap().to_owned());
            cases.push(json!({
                "kind": kind, "input": phrase, "passphrase": pass,
                "path": path.unwrap_or("m/44'/501'/0'/0'"),
            }));
        }
    }

    let theirs: Vec<String> =
        serde_json::from_value(python("solana_wallets.py", &json!(cases))).unwrap();
    assert_eq!(ours, theirs);
    // Phantom's well-known address for the all-"abandon" phrase.
    assert!(theirs.contains(&"HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk".to_owned()));
}

/// IPNS names (PeerId, base36 and base32 CIDs) equal js-libp2p's for the same key.
#[test]
fn ipns_names_match_js_libp2p() {
    if interop_skipped() {
        return;
    }
    for _ in 0..5 {
        let seed = random_seed();
        let name = IpnsKeypair::from_seed(&seed).name();
        let (ok, v) = node(&["peer-id", &hex(&seed)]);
        assert!(ok);
        assert_eq!(v["peer_id"], name.to_peer_id_string());
        assert_eq!(v["base36"], name.to_string());
        let b32: kaichi_identity::IpnsName = v["base32"].as_str().unwrap().parse().unwrap();
        assert_eq!(b32, name);
        // And js-libp2p parses our k51 form back to the same PeerId.
        let (ok, parsed) = node(&["parse-name", &name.to_string()]);
        assert!(ok);
        assert_eq!(parsed["peer_id"], name.to_peer_id_string());
    }
}

/// Records `kaichi ipns create` writes validate in js-ipns, V1+V2 and V2-only,
/// and js-ipns rejects a tampered one.
#[test]
fn our_records_validate_in_js_ipns() {
    if interop_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let out = kaichi(&home)
        .args(["--json", "wallet", "new"])
        .output()
        .unwrap();
    let id: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = id["ipns_name"].as_str().unwrap();
    for (i, extra) in [vec![], vec!["--v2-only"]].into_iter().enumerate() {
        let rec = dir.path().join(format!("r{i}.ipns"));
        let out = kaichi(&home)
            .args([
                "ipns",
                "create",
                "--value",
                "/ipfs/bafkqaddwgevxmmraojswg33smq",
                "--seq",
                "42",
                "--ttl",
                "90s",
                "--out",
            ])
            .arg(&rec)
            .args(&extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (ok, v) = node(&["validate", name, rec.to_str().unwrap()]);
        assert!(ok, "js-ipns rejected our record: {v}");
        assert_eq!(v["value"], "/ipfs/bafkqaddwgevxmmraojswg33smq");
        assert_eq!(v["sequence"], "42");
        assert_eq!(v["ttl"], "90000000000");

        let mut bytes = std::fs::read(&rec).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 1;
        let bad = dir.path().join(format!("bad{i}.ipns"));
        std::fs::write(&bad, &bytes).unwrap();
        let (ok, _) = node(&["validate", name, bad.to_str().unwrap()]);
        assert!(!ok, "js-ipns accepted a tampered record");
    }
}

/// Records js-ipns creates validate in kaichi, for the right name only.
#[test]
fn js_ipns_records_validate_in_ours() {
    if interop_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    assert!(
        kaichi(&home)
            .args(["wallet", "new"])
            .output()
            .unwrap()
            .status
            .success()
    );
    for (i, mode) in ["v1v2", "v2"].into_iter().enumerate() {
        let seed = random_seed();
        let rec = dir.path().join(format!("js{i}.ipns"));
        let (ok, v) = node(&[
            "create",
            &hex(&seed),
            "/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi",
            "7",
            "3600000",
            rec.to_str().unwrap(),
            mode,
        ]);
        assert!(ok, "{v}");
        let name = v["name"].as_str().unwrap();
        assert_eq!(name, IpnsKeypair::from_seed(&seed).name().to_string());
        let out = kaichi(&home)
            .args(["ipns", "verify", "--json", "--name", name])
            .arg(&rec)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ours["value"], "/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi");
        assert_eq!(ours["sequence"], 7);
        assert_eq!(ours["v1_compatible"], mode == "v1v2");
        // The profile's own name (not the signer's) must not validate it.
        let out = kaichi(&home)
            .args(["ipns", "verify"])
            .arg(&rec)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
    }
    let _ = KeypairWallet::from_secret_seed(&[1; 32]).address();
}

/// CAR files `kaichi log export` writes are read by @ipld/car, every block's
/// CID recomputed with multiformats, every entry decoded and re-encoded byte
/// for byte by @ipld/dag-cbor and the whole log reached by walking its parent
/// links from the heads; the CAR @ipld/car writes back from them imports and
/// verifies here.
#[test]
fn our_car_files_read_in_ipld_car_and_back() {
    if interop_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("alice"), dir.path().join("bob"));
    let (_, idb) = support::two_contacts(dir.path());
    let bob_wallet = idb["wallet"].as_str().unwrap().to_owned();
    for i in 0..5 {
        support::kaichi_json(&a, &["log", "append", &bob_wallet, &format!("message {i}")]);
    }
    let car = dir.path().join("a.car");
    let exported = support::kaichi_json(
        &a,
        &["log", "export", &bob_wallet, "--out", car.to_str().unwrap()],
    );
    let (ok, v) = support::node_script("car.mjs", &["verify", car.to_str().unwrap()]);
    assert!(ok, "@ipld/car rejected our CAR: {v}");
    assert_eq!(v["blocks"], 5);
    assert_eq!(v["version"], 1);
    assert_eq!(v["codecs"], json!([0x71]));
    assert_eq!(v["reachable"], 5, "every entry is linked from the heads");
    assert_eq!(v["roots"], exported["roots"]);

    let js_car = dir.path().join("js.car");
    let (ok, _) = support::node_script(
        "car.mjs",
        &["rewrite", car.to_str().unwrap(), js_car.to_str().unwrap()],
    );
    assert!(ok);
    assert_eq!(
        support::kaichi_json(&b, &["log", "verify", js_car.to_str().unwrap()])["valid"],
        true
    );
    assert_eq!(
        support::kaichi_json(&b, &["log", "import", js_car.to_str().unwrap()])["new_entries"],
        5
    );

    // And @ipld/car notices a corrupted block.
    let mut bad = std::fs::read(&car).unwrap();
    let n = bad.len();
    bad[n - 2] ^= 1;
    std::fs::write(&car, &bad).unwrap();
    let (ok, _) = support::node_script("car.mjs", &["verify", car.to_str().unwrap()]);
    assert!(!ok);
}
