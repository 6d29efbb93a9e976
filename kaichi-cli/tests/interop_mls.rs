//! MLS interoperability with ts-mls (npm), an independent RFC 9420
//! implementation: KeyPackages, Welcomes, ratchet trees, commits and
//! application messages cross both ways through `kaichi group` files.
//!
//! The first run installs ts-mls (`npm ci` in interop/mls). Set
//! KAICHI_SKIP_INTEROP=1 to skip on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use kaichi_test_support::hex::{decode as unhex, encode as hex};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use kaichi_identity::IpnsKeypair;
use serde_json::{Value, json};
use support::{interop_skipped, kaichi, kaichi_json, npm_project};

/// A ts-mls member in a Node process.
struct TsPeer {
    child: Child,
    out: BufReader<ChildStdout>,
    seed: [u8; 32],
}

impl TsPeer {
    fn start(seed: [u8; 32]) -> Self {
        let dir = npm_project("interop/mls");
        let mut child = Command::new("node")
            .arg("peer.mjs")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node is needed for the interop tests");
        let out = BufReader::new(child.stdout.take().unwrap());
        Self { child, out, seed }
    }

    fn key(&self) -> IpnsKeypair {
        IpnsKeypair::from_seed(&self.seed)
    }

    /// Its identity, as Kaichi credentials require: the name's key signs.
    fn identity(&self) -> Value {
        let k = self.key();
        json!({"seed": hex(&self.seed), "pub": hex(&k.public().to_bytes()), "name": k.name().to_string()})
    }

    fn call(&mut self, mut command: Value) -> Value {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        let reply: Value = serde_json::from_str(&line).unwrap();
        command.as_object_mut().unwrap().retain(|k, _| k == "cmd");
        assert_eq!(reply["ok"], true, "ts-mls {command}: {}", reply["error"]);
        reply
    }
}

impl Drop for TsPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(dir: &Path, name: &str, hex_bytes: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, unhex(hex_bytes.as_str().unwrap())).unwrap();
    path.to_str().unwrap().to_owned()
}

fn read_hex(path: &Path) -> String {
    hex(&std::fs::read(path).unwrap())
}

fn new_profile(dir: &Path, name: &str) -> std::path::PathBuf {
    let home = dir.join(name);
    assert!(
        kaichi(&home)
            .args(["wallet", "new"])
            .output()
            .unwrap()
            .status
            .success()
    );
    home
}

fn random_seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s).unwrap();
    s
}

/// `alice` (kaichi) adds a new profile `bob` with a commit that ts-mls
/// applies (reaching `epoch`); bob joins; a message from ts-mls reaches
/// both. Returns bob's home.
fn kaichi_adds_bob(
    d: &Path,
    alice: &Path,
    id: &str,
    ts: &mut TsPeer,
    epoch: u64,
    text: &str,
) -> std::path::PathBuf {
    let bob = new_profile(d, "bob");
    let bob_kp = d.join("bob.kp");
    kaichi_json(
        &bob,
        &["group", "keypackage", "--out", bob_kp.to_str().unwrap()],
    );
    let (w, t, commit) = (d.join("bob.w"), d.join("bob.t"), d.join("bob.c"));
    kaichi_json(
        alice,
        &[
            "group",
            "invite",
            id,
            "--keypackage",
            bob_kp.to_str().unwrap(),
            "--welcome-out",
            w.to_str().unwrap(),
            "--tree-out",
            t.to_str().unwrap(),
            "--commit-out",
            commit.to_str().unwrap(),
        ],
    );
    let applied = ts.call(json!({"cmd": "process", "msg": read_hex(&commit)}));
    assert_eq!(applied["epoch"], epoch);
    kaichi_json(
        &bob,
        &[
            "group",
            "join",
            "--welcome",
            w.to_str().unwrap(),
            "--tree",
            t.to_str().unwrap(),
        ],
    );
    let sent = ts.call(json!({"cmd": "send", "text": text}));
    let m = write(d, "bob.m", &sent["msg"]);
    for home in [alice, bob.as_path()] {
        let event = kaichi_json(home, &["group", "decrypt", id, &m]);
        assert_eq!(event["text"], text);
    }
    bob
}

#[test]
fn ts_mls_joins_a_kaichi_group_and_both_talk() {
    if interop_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let alice = new_profile(d, "alice");
    let group = kaichi_json(&alice, &["group", "create", "interop"]);
    let id = group["id"].as_str().unwrap().to_owned();

    // ts-mls's KeyPackage, added by kaichi; ts-mls joins from our Welcome and tree.
    let mut ts = TsPeer::start(random_seed());
    let mut c = ts.identity();
    c["cmd"] = json!("keypackage");
    let kp = ts.call(c);
    let kp_file = write(d, "ts.kp", &kp["kp"]);
    let (welcome, tree) = (d.join("w"), d.join("t"));
    kaichi_json(
        &alice,
        &[
            "group",
            "invite",
            &id,
            "--keypackage",
            &kp_file,
            "--welcome-out",
            welcome.to_str().unwrap(),
            "--tree-out",
            tree.to_str().unwrap(),
        ],
    );
    let joined =
        ts.call(json!({"cmd": "join", "welcome": read_hex(&welcome), "tree": read_hex(&tree)}));
    assert_eq!(joined["epoch"], 1);

    // kaichi -> ts-mls.
    let m1 = d.join("m1");
    kaichi_json(
        &alice,
        &[
            "group",
            "send",
            &id,
            "hello from kaichi",
            "--out",
            m1.to_str().unwrap(),
        ],
    );
    let got = ts.call(json!({"cmd": "process", "msg": read_hex(&m1)}));
    assert_eq!(got["text"], "hello from kaichi");

    // ts-mls -> kaichi.
    let sent = ts.call(json!({"cmd": "send", "text": "hello from ts-mls"}));
    let m2 = write(d, "m2", &sent["msg"]);
    let event = kaichi_json(&alice, &["group", "decrypt", &id, &m2]);
    assert_eq!(event["kind"], "message");
    assert_eq!(event["text"], "hello from ts-mls");
    assert_eq!(event["from"], ts.key().name().to_string());

    // A kaichi commit (adding bob) that ts-mls applies; all three talk at epoch 2.
    kaichi_adds_bob(d, &alice, &id, &mut ts, 2, "three of us");
}

#[test]
fn kaichi_joins_a_ts_mls_group_and_both_talk() {
    if interop_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let alice = new_profile(d, "alice");

    // ts-mls creates the group, with Kaichi metadata naming it the sequencer.
    let mut ts = TsPeer::start(random_seed());
    let metadata = kaichi_groups::GroupMetadata {
        name: "made by ts-mls".into(),
        description: String::new(),
        admins: vec![ts.key().name()],
        sequencer: Some(ts.key().name()),
        token_gate: None,
    };
    let group_id = random_seed();
    let mut c = ts.identity();
    c["cmd"] = json!("create");
    c["group_id"] = json!(hex(&group_id));
    c["metadata"] = json!(hex(&metadata.encode()));
    ts.call(c);

    let kp = d.join("alice.kp");
    kaichi_json(
        &alice,
        &["group", "keypackage", "--out", kp.to_str().unwrap()],
    );
    let added = ts.call(json!({"cmd": "add", "kp": read_hex(&kp)}));
    let welcome = write(d, "w", &added["welcome"]);
    let tree = write(d, "t", &added["tree"]);
    let joined = kaichi_json(
        &alice,
        &["group", "join", "--welcome", &welcome, "--tree", &tree],
    );
    assert_eq!(joined["id"], hex(&group_id));
    assert_eq!(joined["name"], "made by ts-mls");
    assert_eq!(joined["epoch"], 1);
    assert_eq!(joined["members"].as_array().unwrap().len(), 2);

    let sent = ts.call(json!({"cmd": "send", "text": "welcome, kaichi"}));
    let m1 = write(d, "m1", &sent["msg"]);
    let event = kaichi_json(&alice, &["group", "decrypt", &hex(&group_id), &m1]);
    assert_eq!(event["text"], "welcome, kaichi");

    let m2 = d.join("m2");
    kaichi_json(
        &alice,
        &[
            "group",
            "send",
            "made by ts-mls",
            "thanks, ts-mls",
            "--out",
            m2.to_str().unwrap(),
        ],
    );
    let got = ts.call(json!({"cmd": "process", "msg": read_hex(&m2)}));
    assert_eq!(got["text"], "thanks, ts-mls");
}

/// A plain RFC 9420 group: ts-mls as it comes (default capabilities, no
/// Kaichi metadata) creates it and adds Kaichi, which joins with the
/// documented defaults (no sequencer, name from the id), talks, and commits
/// an add as any member may; a member whose credential does not bind to its
/// key is still refused.
#[test]
fn kaichi_joins_a_plain_rfc_9420_group_with_default_metadata() {
    if interop_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let alice = new_profile(d, "alice");

    let mut ts = TsPeer::start(random_seed());
    let group_id = random_seed();
    let mut c = ts.identity();
    c["cmd"] = json!("create");
    c["plain"] = json!(true);
    c["group_id"] = json!(hex(&group_id));
    ts.call(c);

    let kp = d.join("alice.kp");
    kaichi_json(
        &alice,
        &["group", "keypackage", "--out", kp.to_str().unwrap()],
    );
    let added = ts.call(json!({"cmd": "add", "kp": read_hex(&kp)}));
    let welcome = write(d, "w", &added["welcome"]);
    let tree = write(d, "t", &added["tree"]);
    let joined = kaichi_json(
        &alice,
        &["group", "join", "--welcome", &welcome, "--tree", &tree],
    );
    let id = hex(&group_id);
    assert_eq!(joined["id"], id);
    assert_eq!(joined["name"], format!("group {}", &id[..8]));
    assert_eq!(joined["epoch"], 1);
    let listed = kaichi_json(&alice, &["groups"]);
    assert_eq!(listed[0]["sequencer"], Value::Null);

    let sent = ts.call(json!({"cmd": "send", "text": "plain hello"}));
    let m1 = write(d, "m1", &sent["msg"]);
    let event = kaichi_json(&alice, &["group", "decrypt", &id, &m1]);
    assert_eq!(event["text"], "plain hello");

    // Kaichi, not the creator, commits an add: ts-mls applies it, Bob joins.
    kaichi_adds_bob(d, &alice, &id, &mut ts, 2, "three, plainly");

    // ts-mls adds a member whose credential names an identity whose key
    // does not sign its leaf: Kaichi refuses that commit, and stays at
    // epoch 2.
    let other = random_seed();
    let liar = IpnsKeypair::from_seed(&random_seed()).name().to_string();
    let other_pub = IpnsKeypair::from_seed(&other).public().to_bytes();
    let bad = ts.call(json!({"cmd": "keypackage", "seed": hex(&other),
        "pub": hex(&other_pub), "name": liar, "plain": true}));
    let added = ts.call(json!({"cmd": "add", "kp": bad["kp"]}));
    let c3 = write(d, "c3", &added["commit"]);
    let out = kaichi(&alice)
        .args(["group", "decrypt", &id, &c3])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a commit adding an unbound credential applied"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("credential") || err.contains("key"), "{err}");
    eprintln!("refused: {err}");
    let listed = kaichi_json(&alice, &["groups"]);
    assert_eq!(listed[0]["epoch"], 2);
}
