//! The file forms of `kaichi group` apply the same policy as nodes: a
//! token-holder group's gate refuses an invitee who holds too little, an
//! invitee whose wallet is unknown, and any add when no balance source is
//! given; a holder gets in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{kaichi, kaichi_json, two_contacts};

const MINT: &str = "So11111111111111111111111111111111111111112";

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_token_gate_refuses_in_the_file_form_too() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bob) = two_contacts(dir.path());
    let (a, b, c) = (
        dir.path().join("alice"),
        dir.path().join("bob"),
        dir.path().join("carol"),
    );
    kaichi_json(&c, &["wallet", "new"]);
    kaichi_json(
        &a,
        &[
            "group",
            "create",
            "holders",
            "--token-mint",
            MINT,
            "--token-minimum",
            "10",
        ],
    );
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    kaichi_json(&b, &["group", "keypackage", "--out", &path("bob.kp")]);
    kaichi_json(&c, &["group", "keypackage", "--out", &path("carol.kp")]);
    let bob_wallet = bob["wallet"].as_str().unwrap();
    let snapshot = |amount: u64, file: &str| {
        std::fs::write(
            dir.path().join(file),
            format!(r#"{{"{bob_wallet}": {{"{MINT}": {amount}}}}}"#),
        )
        .unwrap();
        path(file)
    };
    let invite = |kp: &str, balances: Option<&str>| {
        let mut cmd = kaichi(&a);
        cmd.args([
            "group",
            "invite",
            "holders",
            "--keypackage",
            &path(kp),
            "--welcome-out",
            &path("welcome"),
            "--tree-out",
            &path("tree"),
        ]);
        if let Some(b) = balances {
            cmd.args(["--token-balances", b]);
        }
        cmd.output().unwrap()
    };

    let poor = invite("bob.kp", Some(&snapshot(3, "poor.json")));
    assert!(!poor.status.success());
    assert!(
        stderr_of(&poor).contains("holds 3") && stderr_of(&poor).contains("needs 10"),
        "{}",
        stderr_of(&poor)
    );
    let unconfigured = invite("bob.kp", None);
    assert!(!unconfigured.status.success());
    assert!(
        stderr_of(&unconfigured).contains("no balance source"),
        "{}",
        stderr_of(&unconfigured)
    );
    // Carol is not Alice's contact: her wallet cannot be checked.
    let stranger = invite("carol.kp", Some(&snapshot(100, "rich.json")));
    assert!(!stranger.status.success());
    assert!(
        stderr_of(&stranger).contains("wallet is unknown"),
        "{}",
        stderr_of(&stranger)
    );
    // Refusals changed nothing: the group is still at epoch 0 with one member.
    let groups = kaichi_json(&a, &["groups"]);
    assert_eq!(groups[0]["epoch"], 0, "{groups}");
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), 1);

    let holder = invite("bob.kp", Some(&snapshot(10, "holder.json")));
    assert!(holder.status.success(), "{}", stderr_of(&holder));
    let joined = kaichi_json(
        &b,
        &[
            "group",
            "join",
            "--welcome",
            &path("welcome"),
            "--tree",
            &path("tree"),
        ],
    );
    assert_eq!(joined["name"], "holders");
    assert_eq!(joined["members"].as_array().unwrap().len(), 2);
}

/// `kaichi group create --engine`: mls-rs by default, openmls on request,
/// an unknown engine refused; `groups --json` shows each group's engine,
/// also after the profile is opened again.
#[test]
fn groups_are_created_in_the_engine_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("alice");
    kaichi_json(&a, &["wallet", "new"]);
    let new = kaichi_json(&a, &["group", "create", "fast"]);
    assert_eq!(new["engine"], "mls-rs");
    let old = kaichi_json(&a, &["group", "create", "classic", "--engine", "openmls"]);
    assert_eq!(old["engine"], "openmls");
    let bad = kaichi(&a)
        .args(["group", "create", "odd", "--engine", "mls"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        stderr_of(&bad).contains("unknown MLS engine"),
        "{}",
        stderr_of(&bad)
    );
    let listed = kaichi_json(&a, &["groups"]);
    let engine_of = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .map(|g| g["engine"].clone())
    };
    assert_eq!(engine_of("fast"), Some("mls-rs".into()));
    assert_eq!(engine_of("classic"), Some("openmls".into()));
    assert_eq!(engine_of("odd"), None);
    // Both send (their state came back from the database).
    for g in ["fast", "classic"] {
        let out = dir.path().join(format!("{g}.msg"));
        kaichi_json(
            &a,
            &["group", "send", g, "hi", "--out", out.to_str().unwrap()],
        );
        assert!(std::fs::metadata(&out).unwrap().len() > 0);
    }
}
