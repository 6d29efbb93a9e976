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
fn demo_runs_and_its_trace_log_holds_none_of_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("demo");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kaichi"))
        .args(["--json", "-vvv", "demo", "--keep"])
        .arg(&kept)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // The most detailed log there is, libp2p's included.
    assert!(log.contains("TRACE") && log.contains("libp2p"), "{log}");
    let mut profiles = 0;
    for profile in std::fs::read_dir(&kept).unwrap() {
        let secrets = support::secrets_of(&profile.unwrap().path());
        support::assert_no_secrets(&log, &secrets);
        profiles += 1;
    }
    // Alice, Bob, Carol, Alice's phone and the relay.
    assert_eq!(profiles, 5);
    // The check finds a secret that is there, in any of its forms.
    let secrets = support::secrets_of(&kept.join("alice"));
    let dm: &[u8] = &secrets[4].1;
    let hex: String = dm.iter().map(|b| format!("{b:02X}")).collect();
    for planted in [
        format!("key={hex} "),
        format!("seed {:?}", &secrets[1].1),
        bs58::encode(&secrets[3].1).into_string(),
    ] {
        let log = format!("{log}{planted}");
        let found = std::panic::catch_unwind(|| support::assert_no_secrets(&log, &secrets));
        assert!(found.is_err(), "{planted} went unnoticed");
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["alice"]["ipns_name"].as_str().unwrap().starts_with("k51"));
    assert_ne!(v["alice"]["wallet"], v["bob"]["wallet"]);
    // The group chat ran: invitations, a message and a removal were timed.
    for k in ["invite", "message", "removal"] {
        assert!(v["group_timings_us"][k].as_u64().unwrap() > 0, "{k}");
    }
}

#[test]
fn config_set_checks_values_show_lists_them_and_the_node_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let set = |k: &str, v: &str| kaichi(home).args(["config", "set", k, v]).output().unwrap();
    let addr = "/ip4/127.0.0.1/tcp/4999/p2p/12D3KooWBKcp8NiNzHwCnr242561v5hpbMjVAd7HXB2m4rU4Dmf2";
    assert!(set("bootstrap", addr).status.success());
    assert!(set("relay-publisher-rate", "50/100").status.success());
    let file = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(file.contains(addr) && file.contains("50/100"), "{file}");
    // Bad values and unknown keys are refused with the reason; the file stays.
    for (k, v, says) in [
        ("bootstrap", "nowhere", "not a multiaddr"),
        ("relay-inbox-rate", "0/1", "a rate of 0"),
        ("retention", "7 weeks", "duration"),
        ("colour", "blue", "the settings are"),
    ] {
        let out = set(k, v);
        assert!(!out.status.success(), "{k} {v}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{k}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(home.join("config.toml")).unwrap(),
        file
    );
    let shown = kaichi_json(home, &["config", "show"]);
    assert_eq!(shown["file"]["bootstrap"][0], addr);
    // The built-in peers are dialled besides the configured one...
    assert!(shown["bootstrap_dialled"].as_array().unwrap().len() > 1);
    let got = kaichi(home)
        .args(["config", "get", "bootstrap"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), addr);
    // ...unless turned off.
    assert!(set("no-default-bootstrap", "true").status.success());
    let shown = kaichi_json(home, &["config", "show"]);
    assert_eq!(shown["bootstrap_dialled"], serde_json::json!([addr]));
    // `edit` takes a valid edit and refuses a broken one.
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\necho \"$EDIT_LINE\" >> \"$1\"\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let edit = |line: &str| {
        kaichi(home)
            .args(["config", "edit"])
            .env("VISUAL", &editor)
            .env("EDIT_LINE", line)
            .output()
            .unwrap()
    };
    assert!(edit("solana-rate = 5").status.success());
    assert_eq!(
        kaichi_json(home, &["config", "show"])["file"]["solana-rate"],
        5
    );
    let before = std::fs::read_to_string(home.join("config.toml")).unwrap();
    let out = edit("dht-mode = \"sometimes\"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unchanged"));
    assert_eq!(
        std::fs::read_to_string(home.join("config.toml")).unwrap(),
        before
    );
    // Unset a list's value, then a key.
    assert!(
        kaichi(home)
            .args(["config", "unset", "bootstrap", addr])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        kaichi(home)
            .args(["config", "unset", "solana-rate"])
            .status()
            .unwrap()
            .success()
    );
    let shown = kaichi_json(home, &["config", "show"]);
    assert!(shown["file"].get("bootstrap").is_none() && shown["file"].get("solana-rate").is_none());
    // The node reads the file: a bad value put there by hand stops it
    // with the file named, before anything starts.
    kaichi_json(home, &["wallet", "new"]);
    std::fs::write(home.join("config.toml"), "relay-held-bytes = \"lots\"\n").unwrap();
    let out = kaichi(home)
        .args(["node", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.toml"));
    // A KAICHI_* variable overrides the file, and a flag the variable: the
    // value that wins is the one checked (0 is refused).
    std::fs::write(home.join("config.toml"), "relay-held-bytes = 1024\n").unwrap();
    let node = |env: Option<&str>, flag: Option<&str>| {
        let mut c = kaichi(home);
        c.args(["node", "--listen", "/ip4/127.0.0.1/tcp/0"]);
        if let Some(v) = env {
            c.env("KAICHI_RELAY_HELD_BYTES", v);
        }
        if let Some(v) = flag {
            c.args(["--relay-held-bytes", v]);
        }
        c.output().unwrap()
    };
    let out = node(Some("0"), None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 holds nothing"));
    let out = node(Some("1024"), Some("0"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 holds nothing"));
}

#[test]
fn completions_man_pages_and_status_without_a_node() {
    let dir = tempfile::tempdir().unwrap();
    let out = kaichi(dir.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && script.contains("_kaichi"));
    for command in ["chat", "status", "config", "requests"] {
        assert!(script.contains(command), "{command}");
    }
    let out = kaichi(dir.path())
        .args(["completions", "zsh"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("#compdef kaichi"));
    let out = kaichi(dir.path()).arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains(".TH kaichi") && page.contains("chat"),
        "{page}"
    );
    let pages = dir.path().join("man");
    assert!(
        kaichi(dir.path())
            .args(["man", "--out"])
            .arg(&pages)
            .status()
            .unwrap()
            .success()
    );
    assert!(pages.join("kaichi-chat.1").exists() && pages.join("kaichi-config-set.1").exists());

    let home = dir.path().join("home");
    let id = kaichi_json(&home, &["wallet", "new"]);
    let status = kaichi_json(&home, &["status"]);
    assert_eq!(status["running"], false);
    assert!(status["node"].is_null());
    assert_eq!(status["ipns_name"], id["ipns_name"]);
    let out = kaichi(&home).arg("status").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not running (start it with `kaichi node`)")
    );
    // The chat says plainly that it needs the node.
    let out = kaichi(&home).args(["chat", "someone"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no kaichi node is running"));
}
