//! MLS groups in the wasm package (the mls-rs engine, in memory), as a
//! page runs them (Node.js here), in the same groups as native members:
//! a native openmls sequencer adds the page, which reads and writes; the
//! page creates a group and adds a native mls-rs member, who reads it;
//! refusals come back as errors and change nothing.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use kaichi_groups::mlsrs::RsMember;
use kaichi_groups::{
    AdminPolicy, Candidate, Group, GroupEvent, MemberSigner, MemoryProvider, NewGroup, NoDevices,
    Outgoing,
};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, IpnsKeypair, KeyEpoch};
use kaichi_test_support::hex::{decode as unhex, encode as hex};
use serde_json::{Value, json};

/// The page's member, as a Node.js process taking one command a line.
struct Page {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    name: String,
}

impl Page {
    fn start(seed: u8) -> Self {
        let pkg = support::package("nodejs");
        let wallet = KeypairWallet::from_secret_seed(&[seed; 32]);
        let keys = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        let mut child = Command::new("node")
            .arg(support::root().join("kaichi-web/tests/js/groups_peer.mjs"))
            .arg(pkg.join("kaichi_web.js"))
            .arg(hex(&[seed; 32]))
            .arg(keys.wallet().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node (Node.js 20 or later) runs the package");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        let mut page = Self {
            child,
            input,
            output,
            name: String::new(),
        };
        let ready = page.read();
        page.name = ready["ready"].as_str().unwrap().to_owned();
        assert_eq!(page.name, keys.ipns().name().to_string());
        page
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    fn ask(&mut self, command: Value) -> Value {
        writeln!(self.input, "{command}").unwrap();
        self.read()
    }

    fn ok(&mut self, command: Value) -> Value {
        let answer = self.ask(command);
        assert!(answer.get("error").is_none(), "{answer}");
        answer
    }

    fn bytes(answer: &Value, key: &str) -> Vec<u8> {
        unhex(
            answer[key]
                .as_str()
                .unwrap_or_else(|| panic!("no {key} in {answer}")),
        )
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_page_joins_a_native_openmls_group_and_talks_both_ways() {
    if support::skipped() {
        return;
    }
    let mut page = Page::start(0x31);
    let provider = MemoryProvider::default();
    let bob = MemberSigner::identity(IpnsKeypair::from_seed(&[0x32; 32]));
    let mut group = Group::create(&provider, &bob, NewGroup::named("native and page")).unwrap();

    let kp = Page::bytes(&page.ok(json!({"op": "keyPackage"})), "keyPackage");
    let Outgoing::Commit(out) = group
        .add(
            &provider,
            &bob,
            &AdminPolicy,
            &NoDevices,
            &[Candidate::new(kp)],
        )
        .unwrap()
    else {
        panic!("the sequencer commits")
    };
    let joined = page.ok(json!({
        "op": "join",
        "welcome": hex(out.welcome.as_deref().unwrap()),
        "ratchetTree": hex(out.ratchet_tree.as_deref().unwrap()),
    }));
    let id = joined["group"].as_str().unwrap().to_owned();
    assert_eq!(id, group.id().to_string());
    let members = page.ok(json!({"op": "members", "group": id}));
    assert_eq!(members["epoch"], 1);
    assert_eq!(members["members"].as_array().unwrap().len(), 2);

    let hello = group.send(&provider, &bob, b"hello, page").unwrap();
    let got = page.ok(json!({"op": "receive", "message": hex(&hello)}));
    assert_eq!(got["event"]["kind"], "message");
    assert_eq!(got["event"]["text"], "hello, page");
    assert_eq!(got["event"]["from"], bob.name().to_string());

    let reply = Page::bytes(
        &page.ok(json!({"op": "send", "group": id, "text": "hello, native"})),
        "message",
    );
    match group
        .process(&provider, &AdminPolicy, &NoDevices, &reply)
        .unwrap()
    {
        GroupEvent::Message { from, text, .. } => {
            assert_eq!(from.to_string(), page.name);
            assert_eq!(text, b"hello, native");
        }
        other => panic!("{other:?}"),
    }

    // Garbage and a replay are errors in the page, and change nothing.
    let e = page.ask(json!({"op": "receive", "message": "00ff"}));
    assert!(e["error"].is_string(), "{e}");
    let e = page.ask(json!({"op": "receive", "message": hex(&hello)}));
    assert!(e["error"].is_string(), "{e}");
    let e = page.ask(json!({"op": "send", "group": "not a group id", "text": "x"}));
    assert!(e["error"].is_string(), "{e}");
    let again = group.send(&provider, &bob, b"still here").unwrap();
    let got = page.ok(json!({"op": "receive", "message": hex(&again)}));
    assert_eq!(got["event"]["text"], "still here");
}

#[test]
fn a_native_mls_rs_member_joins_the_pages_group() {
    if support::skipped() {
        return;
    }
    let mut page = Page::start(0x41);
    let carol = MemberSigner::identity(IpnsKeypair::from_seed(&[0x42; 32]));
    let carol = RsMember::new(&carol, AdminPolicy, Arc::new(NoDevices));
    let id = page.ok(json!({"op": "create", "name": "the page's"}))["group"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = page.ok(json!({
        "op": "add",
        "group": id,
        "keyPackages": [hex(&carol.key_package().unwrap())],
    }));
    assert_eq!(added["epoch"], 1);
    let mut group = carol
        .join(
            &Page::bytes(&added, "welcome"),
            Some(&Page::bytes(&added, "ratchetTree")),
        )
        .unwrap();
    assert_eq!(group.id().to_string(), id);
    let message = Page::bytes(
        &page.ok(json!({"op": "send", "group": id, "text": "welcome, Carol"})),
        "message",
    );
    match group.process(&message).unwrap() {
        GroupEvent::Message { text, .. } => assert_eq!(text, b"welcome, Carol"),
        other => panic!("{other:?}"),
    }
    // A KeyPackage whose credential does not bind to its key is refused.
    let e = page.ask(json!({"op": "add", "group": id, "keyPackages": ["00"]}));
    assert!(e["error"].is_string(), "{e}");
    let unchanged = page.ok(json!({"op": "members", "group": id}));
    assert_eq!(unchanged["epoch"], 1);
}
