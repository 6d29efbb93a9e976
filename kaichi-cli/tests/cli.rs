//! The `kaichi` binary, driven as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{json, kaichi, kaichi_json, run_with_stdin};

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// Phantom's address for PHRASE on m/44'/501'/0'/0' (also checked against solders in interop.rs).
const PHRASE_ADDRESS: &str = "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk";

#[test]
fn wallet_new_writes_a_private_solana_keygen_file_and_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let file = dir.path().join("id.json");
    let out = json({
        let mut c = kaichi(&home);
        c.args(["--json", "wallet", "new", "--outfile"]).arg(&file);
        c
    });
    let text = std::fs::read_to_string(&file).unwrap();
    let bytes: Vec<u8> = serde_json::from_str(&text).unwrap();
    assert_eq!(bytes.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for p in [&file, &home.join("wallet.json")] {
            let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
    let shown = json({
        let mut c = kaichi(&home);
        c.args(["id", "show", "--json"]);
        c
    });
    for key in ["wallet", "ipns_name", "peer_id", "dm_public_key", "epoch"] {
        assert_eq!(shown[key], out[key], "{key}");
    }
    assert!(shown["ipns_name"].as_str().unwrap().starts_with("k51"));
    assert!(shown["peer_id"].as_str().unwrap().starts_with("12D3KooW"));
    assert_eq!(shown["epoch"], 0);

    // A second `wallet new` refuses to replace the wallet.
    let again = kaichi(&home).args(["wallet", "new"]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let after = json({
        let mut c = kaichi(&home);
        c.args(["id", "show", "--json"]);
        c
    });
    assert_eq!(after, shown);
}

#[test]
fn import_from_keypair_file_base58_and_seed_phrase() {
    let dir = tempfile::tempdir().unwrap();
    // Keypair file written by `wallet new`, imported into a second profile.
    let file = dir.path().join("k.json");
    let a = json({
        let mut c = kaichi(&dir.path().join("a"));
        c.args(["--json", "wallet", "new", "--outfile"]).arg(&file);
        c
    });
    let b = json({
        let mut c = kaichi(&dir.path().join("b"));
        c.args(["--json", "wallet", "import", "--keypair"])
            .arg(&file);
        c
    });
    assert_eq!(a, b);

    // Seed phrase on stdin, Phantom's default path.
    let mut c = kaichi(&dir.path().join("c"));
    c.args(["--json", "wallet", "import", "--seed-phrase"]);
    let out = run_with_stdin(c, &format!("{PHRASE}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["wallet"], PHRASE_ADDRESS);

    // A passphrase changes the wallet.
    let mut c = kaichi(&dir.path().join("d"));
    c.args([
        "--json",
        "wallet",
        "import",
        "--seed-phrase",
        "--passphrase",
    ]);
    let out = run_with_stdin(c, &format!("{PHRASE}\nTREZOR\n"));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(v["wallet"], PHRASE_ADDRESS);
}

#[test]
fn bad_secrets_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let original = json({
        let mut c = kaichi(&home);
        c.args(["--json", "wallet", "new"]);
        c
    });
    let cases: [(&[&str], &str, &str); 4] = [
        (&["--seed-phrase"], "abandon abandon abandon\n", "3 words"),
        (
            &["--seed-phrase"],
            &format!("{}\n", PHRASE.replace("about", "abandon")),
            "checksum",
        ),
        (&["--base58"], "not-base58-0OIl\n", "base58"),
        (&["--base58"], "3yZe7d\n", "64 bytes"),
    ];
    for (args, stdin, expect) in cases {
        let mut c = kaichi(&home);
        c.args(["wallet", "import", "--force"]).args(args);
        let out = run_with_stdin(c, stdin);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(
            !err.contains("abandon"),
            "the phrase must not be echoed: {err}"
        );
    }
    // Truncated and oversized keypair files.
    let trunc = dir.path().join("t.json");
    std::fs::write(&trunc, "[1,2,3").unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 100_000]).unwrap();
    for f in [&trunc, &big] {
        let out = kaichi(&home)
            .args(["wallet", "import", "--force", "--keypair"])
            .arg(f)
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
    let after = json({
        let mut c = kaichi(&home);
        c.args(["id", "show", "--json"]);
        c
    });
    assert_eq!(after["wallet"], original["wallet"]);
}

#[test]
fn secrets_are_not_accepted_as_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = kaichi(dir.path())
        .args(["wallet", "import", "--seed-phrase", PHRASE])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.path().join("wallet.json").exists());
}

#[test]
fn ipns_create_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let id = json({
        let mut c = kaichi(&home);
        c.args(["--json", "wallet", "new"]);
        c
    });
    let rec = dir.path().join("r.ipns");
    let created = json({
        let mut c = kaichi(&home);
        c.args([
            "--json",
            "ipns",
            "create",
            "--value",
            "/ipfs/bafkqaddwgevxmmraojswg33smq",
            "--ttl",
            "1m",
            "--lifetime",
            "2h",
            "--out",
        ])
        .arg(&rec);
        c
    });
    assert_eq!(created["sequence"], 0);
    // Verify with the profile's own name and with an explicit name.
    for extra in [vec![], vec!["--name", id["ipns_name"].as_str().unwrap()]] {
        let v = json({
            let mut c = kaichi(&home);
            c.args(["ipns", "verify", "--json"]).arg(&rec).args(&extra);
            c
        });
        assert_eq!(v["valid"], true);
        assert_eq!(v["value"], "/ipfs/bafkqaddwgevxmmraojswg33smq");
        assert_eq!(v["ttl_ns"], 60_000_000_000u64);
    }
    // The next record gets the next sequence number.
    let second = json({
        let mut c = kaichi(&home);
        c.args([
            "--json",
            "ipns",
            "create",
            "--value",
            "/ipfs/bafkqaddwgevxmmraojswg33smq",
            "--out",
        ])
        .arg(dir.path().join("r2.ipns"));
        c
    });
    assert_eq!(second["sequence"], 1);

    // A tampered record fails with exit 1 and a reason.
    let mut bytes = std::fs::read(&rec).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x40;
    let bad = dir.path().join("bad.ipns");
    std::fs::write(&bad, &bytes).unwrap();
    let out = kaichi(&home)
        .args(["ipns", "verify"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid record"));

    // Another identity's name does not validate it.
    let other = json({
        let mut c = kaichi(&dir.path().join("other"));
        c.args(["--json", "wallet", "new"]);
        c
    });
    let out = kaichi(&home)
        .args([
            "ipns",
            "verify",
            "--json",
            "--name",
            other["ipns_name"].as_str().unwrap(),
        ])
        .arg(&rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);

    // Bad values are refused before anything is written.
    let out = kaichi(&home)
        .args(["ipns", "create", "--value", "/ipfs/not-a-cid", "--out"])
        .arg(dir.path().join("x.ipns"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!dir.path().join("x.ipns").exists());
}

#[test]
fn commands_without_a_profile_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = kaichi(dir.path()).args(["id", "show"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kaichi wallet new"));
}

#[test]
fn relay_limits_that_refuse_everything_or_do_not_parse_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    kaichi_json(dir.path(), &["wallet", "new"]);
    for (flag, value, says) in [
        ("--relay-publisher-rate", "0/10", "a rate of 0"),
        ("--relay-inbox-rate", "fast", "PER_SECOND/BURST"),
        ("--relay-publisher-rate", "5/x", "not a whole number"),
    ] {
        let out = kaichi(dir.path())
            .args([
                "node",
                "--relay",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                flag,
                value,
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value} was taken");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.contains(says), "{err}");
    }
}

#[test]
fn kaichi_home_env_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kaichi"))
        .env("KAICHI_HOME", dir.path())
        .args(["--json", "wallet", "new"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("wallet.json").exists());
}

#[test]
fn demo_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kaichi"))
        .args(["--json", "demo"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["alice"]["ipns_name"].as_str().unwrap().starts_with("k51"));
    assert_ne!(v["alice"]["wallet"], v["bob"]["wallet"]);
    // The group chat ran: invitations, a message and a removal were timed.
    for k in ["invite", "message", "removal"] {
        assert!(v["group_timings_us"][k].as_u64().unwrap() > 0, "{k}");
    }
}
