//! Three `kaichi node` processes on 127.0.0.1 (Alice, a relay, Bob) and the
//! CLI commands against them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{kaichi, kaichi_json};

/// Starts `kaichi node --json` and returns it with its first listen address.
fn node(home: &Path, extra: &[&str]) -> (support::NodeProcess, String) {
    support::node_process(home, extra, None)
}

/// Polls `dm read` until `text` shows up.
fn wait_for(home: &Path, peer: &str, text: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = kaichi_json(home, &["dm", "read", peer]);
        if v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == text)
        {
            return v;
        }
        assert!(Instant::now() < deadline, "{text:?} never arrived: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn three_node_processes_deliver_through_a_relay() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, r) = (
        dir.path().join("alice"),
        dir.path().join("bob"),
        dir.path().join("relay"),
    );
    let (ida, idb) = support::two_contacts(dir.path());
    kaichi_json(&r, &["wallet", "new"]);
    let wa = ida["wallet"].as_str().unwrap();
    let wb = idb["wallet"].as_str().unwrap();

    // Without a node, sending says so clearly.
    let out = kaichi(&a)
        .args(["dm", "send", wb, "too early"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no kaichi node is running"));

    let (_relay, relay_addr) = node(&r, &["--relay"]);
    let (bob_node, _) = node(&b, &["--bootstrap", &relay_addr]);
    let (_alice, _) = node(&a, &["--bootstrap", &relay_addr]);

    // `dm watch` on Bob's side prints incoming messages as JSON lines.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_kaichi"))
        .arg("--home")
        .arg(&b)
        .args(["--json", "dm", "watch"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let watch_out = watch.stdout.take().unwrap();
    let watcher = std::thread::spawn(move || {
        for line in BufReader::new(watch_out).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            if v["event"] == "message" {
                return v;
            }
        }
        panic!("watch ended without a message");
    });
    std::thread::sleep(Duration::from_millis(200));

    let sent = kaichi_json(&a, &["dm", "send", wb, "hello through the relay"]);
    assert!(sent["cid"].as_str().unwrap().starts_with("bafyrei"));
    let at_bob = wait_for(&b, wa, "hello through the relay");
    assert_eq!(at_bob["messages"][0]["mine"], false);
    // Bob's node acknowledged it: Alice sees it delivered, not yet read.
    let at_alice = poll(&a, &["dm", "read", wb], |v| {
        v["messages"][0]["delivered"] == true
    });
    assert_eq!(at_alice["messages"][0]["read"], false, "{at_alice}");
    let plain = kaichi(&a).args(["dm", "read", wb]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&plain.stdout).contains("hello through the relay (delivered)"),
        "{plain:?}"
    );
    let watched = watcher.join().unwrap();
    assert_eq!(watched["text"], "hello through the relay");
    let _ = watch.kill();
    let _ = watch.wait();

    kaichi_json(&b, &["dm", "send", wa, "loud and clear"]);
    let at_alice = wait_for(&a, wb, "loud and clear");
    assert_eq!(at_alice["messages"].as_array().unwrap().len(), 2);
    // Bob learned Alice as a contact from her signed document.
    let contacts = kaichi_json(&b, &["contacts"]);
    assert_eq!(contacts[0]["wallet"], ida["wallet"]);

    // Bob's node is killed with SIGKILL: what it stored survives, and what
    // Alice sends meanwhile waits at the relay until Bob's node is back.
    drop(bob_node);
    std::fs::remove_file(b.join("node.sock")).ok();
    kaichi_json(&a, &["dm", "send", wb, "sent while you were down"]);
    std::thread::sleep(Duration::from_millis(500));
    let (_bob, _) = node(&b, &["--bootstrap", &relay_addr]);
    let after = wait_for(&b, wa, "sent while you were down");
    let texts: Vec<_> = after["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "sent while you were down",
            "loud and clear",
            "hello through the relay"
        ]
    );

    // `kaichi block get`: Alice has her entry locally; Carol, a stranger
    // with a node, gets the same bytes over Bitswap through the network.
    let cid = sent["cid"].as_str().unwrap();
    let at_alice = kaichi(&a).args(["block", "get", cid]).output().unwrap();
    assert!(at_alice.status.success(), "{at_alice:?}");
    let c = dir.path().join("carol");
    kaichi_json(&c, &["wallet", "new"]);
    let (_carol, _) = node(&c, &["--bootstrap", &relay_addr]);
    let out = dir.path().join("block");
    let got = kaichi(&c)
        .args(["block", "get", cid, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(got.status.success(), "{got:?}");
    assert_eq!(std::fs::read(&out).unwrap(), at_alice.stdout);
    // Not a CID: a clear error, exit 1.
    let bad = kaichi(&c)
        .args(["block", "get", "not-a-cid"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a CID"));

    // `id show --json` names the root Alice's IPNS record points to, and
    // `block get` fetches it.
    let id = poll(&a, &["id", "show"], |v| v["root"].is_string());
    let root = id["root"].as_str().unwrap();
    assert!(root.starts_with("bafyrei"), "{id}");
    let got = kaichi(&c).args(["block", "get", root]).output().unwrap();
    assert!(got.status.success(), "{got:?}");
    // `dm sync`: Bob already holds everything Alice's root leads to.
    let synced = kaichi_json(&b, &["dm", "sync", wa]);
    assert_eq!(synced["new_entries"], 0, "{synced}");
    assert_eq!(synced["entries"], 3, "{synced}");
    // Carol finds Alice's root, but no outbox in it is hers to read.
    // (Her node joined the DHT a moment ago: while it settles a lookup can
    // miss, so she tries again.)
    let deadline = Instant::now() + Duration::from_secs(20);
    let synced = loop {
        let out = kaichi(&c)
            .args(["--json", "dm", "sync", wa])
            .output()
            .unwrap();
        if out.status.success() {
            break serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        }
        assert!(Instant::now() < deadline, "{out:?}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(synced["entries"], 0, "{synced}");

    // `dm send --file` and `dm save`: the file arrives byte for byte.
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 241) as u8).collect();
    let file = dir.path().join("notes.pdf");
    std::fs::write(&file, &data).unwrap();
    let sent = kaichi_json(&a, &["dm", "send", wb, "--file", file.to_str().unwrap()]);
    let cid = sent["cid"].as_str().unwrap();
    poll(&b, &["dm", "read", wa], |v| v["messages"][0]["cid"] == cid);
    let out = dir.path().join("saved.pdf");
    let saved = kaichi_json(&b, &["dm", "save", cid, "--out", out.to_str().unwrap()]);
    assert_eq!(saved["name"], "notes.pdf", "{saved}");
    assert_eq!(saved["mime"], "application/pdf");
    assert_eq!(std::fs::read(&out).unwrap(), data);
    // A message without that file: a clear error, nothing written.
    let none = kaichi(&b)
        .args(["dm", "save", cid, "--index", "1", "--out"])
        .arg(dir.path().join("nothing"))
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("has no attachment 1"));
    assert!(!dir.path().join("nothing").exists());
}

/// Polls `kaichi --json <args>` until `ok` accepts the output.
fn poll(home: &Path, args: &[&str], ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = kaichi_json(home, args);
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "kaichi {args:?} never got there: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_group_chat_between_node_processes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let homes: Vec<_> = ["alice", "bob", "carol", "relay"]
        .iter()
        .map(|n| d.join(n))
        .collect();
    let (a, b, c, r) = (&homes[0], &homes[1], &homes[2], &homes[3]);
    let mut ids = Vec::new();
    for h in &homes {
        ids.push(kaichi_json(h, &["wallet", "new"]));
    }
    // Alice knows Bob and Carol from their identity documents; Carol knows
    // Alice's. Bob does not: Alice's invitation is a message request to him.
    for (home, name) in [(b, "bob.doc"), (c, "carol.doc")] {
        let path = d.join(name);
        kaichi_json(home, &["id", "document", "--out", path.to_str().unwrap()]);
        kaichi_json(a, &["contacts", "add", path.to_str().unwrap()]);
    }
    let alice_doc = d.join("alice.doc");
    kaichi_json(a, &["id", "document", "--out", alice_doc.to_str().unwrap()]);
    kaichi_json(c, &["contacts", "add", alice_doc.to_str().unwrap()]);
    let (_relay, relay_addr) = node(r, &["--relay"]);
    let _bob = node(b, &["--bootstrap", &relay_addr]);
    let _carol = node(c, &["--bootstrap", &relay_addr]);
    // Alice sequences a token-holder group too: a balance snapshot in which
    // Bob holds 50 of a token and Carol none.
    let mint = ids[3]["wallet"].as_str().unwrap();
    let snapshot = d.join("balances.json");
    std::fs::write(
        &snapshot,
        serde_json::json!({ ids[1]["wallet"].as_str().unwrap(): { mint: 50 } }).to_string(),
    )
    .unwrap();
    let _alice = node(
        a,
        &[
            "--bootstrap",
            &relay_addr,
            "--token-balances",
            snapshot.to_str().unwrap(),
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));

    kaichi_json(
        a,
        &[
            "group",
            "create",
            "holders",
            "--token-mint",
            mint,
            "--token-minimum",
            "10",
        ],
    );
    kaichi_json(
        a,
        &[
            "group",
            "invite",
            "holders",
            ids[1]["wallet"].as_str().unwrap(),
        ],
    );
    // Bob sees the request, and not among his contacts; he adds Alice
    // from her document while his node runs (as good as accepting): the
    // invitation it held is taken up.
    let alice_wallet = ids[0]["wallet"].as_str().unwrap();
    poll(b, &["requests"], |v| v[0]["wallet"] == alice_wallet);
    assert_eq!(kaichi_json(b, &["contacts"]), serde_json::json!([]));
    kaichi_json(b, &["contacts", "add", alice_doc.to_str().unwrap()]);
    assert_eq!(kaichi_json(b, &["requests"]), serde_json::json!([]));
    poll(b, &["groups"], |v| {
        v.as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "holders" && g["token_gate"]["minimum"] == 10)
    });
    let refused = kaichi(a)
        .args([
            "group",
            "invite",
            "holders",
            ids[2]["wallet"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("needs 10"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let group = kaichi_json(a, &["group", "create", "friends"]);
    let id = group["id"].as_str().unwrap().to_owned();
    for who in [&ids[1], &ids[2]] {
        let wallet = who["wallet"].as_str().unwrap();
        kaichi_json(a, &["group", "invite", "friends", wallet]);
    }
    for home in [b, c] {
        poll(home, &["groups"], |v| {
            v.as_array()
                .unwrap()
                .iter()
                .any(|g| g["id"] == id.as_str() && g["epoch"] == 2)
        });
    }
    kaichi_json(b, &["group", "send", "friends", "hello from bob"]);
    for home in [a, c] {
        poll(home, &["group", "read", "friends"], |v| {
            v.as_array()
                .unwrap()
                .iter()
                .any(|m| m["text"] == "hello from bob")
        });
    }
    // Bob refreshes his keys (a proposal Alice's node commits); Alice makes
    // him an admin (a commit).
    let bob_name = ids[1]["ipns_name"].as_str().unwrap();
    kaichi_json(b, &["group", "update", "friends"]);
    let friends_at = |epoch: u64| {
        move |v: &serde_json::Value| {
            v.as_array()
                .unwrap()
                .iter()
                .any(|g| g["name"] == "friends" && g["epoch"] == epoch)
        }
    };
    poll(c, &["groups"], friends_at(3));
    let v = kaichi_json(a, &["group", "admin", "friends", bob_name]);
    assert_eq!(v["epoch"], 4);
    poll(c, &["groups"], friends_at(4));

    // A file-based change while the node runs is refused.
    let out = kaichi(b)
        .args([
            "group",
            "send",
            "friends",
            "x",
            "--out",
            d.join("x").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("node is running"));

    // Alice removes Carol.
    let carol_name = ids[2]["ipns_name"].as_str().unwrap();
    kaichi_json(a, &["group", "remove", "friends", carol_name]);
    poll(c, &["groups"], |v| v.as_array().unwrap().is_empty());
    let members = poll(b, &["group", "members", "friends"], |v| {
        v.as_array().unwrap().len() == 2
    });
    assert!(!members.as_array().unwrap().iter().any(|m| m == carol_name));
}

/// `kaichi node --dht-mode auto`: a node becomes a DHT server once a peer
/// dialled it back (AutoNAT; private addresses allowed on both sides here,
/// all on loopback), and `dm watch` shows it.
#[test]
fn an_auto_node_becomes_a_dht_server_through_autonat() {
    let dir = tempfile::tempdir().unwrap();
    let (r, a) = (dir.path().join("relay"), dir.path().join("auto"));
    kaichi_json(&r, &["wallet", "new"]);
    kaichi_json(&a, &["wallet", "new"]);
    let (_relay, relay_addr) = node(&r, &["--relay", "--autonat-private-ips"]);
    let (_auto, _) = node(
        &a,
        &[
            "--dht-mode",
            "auto",
            "--autonat-private-ips",
            "--bootstrap",
            &relay_addr,
        ],
    );
    let mut watch = Command::new(env!("CARGO_BIN_EXE_kaichi"))
        .arg("--home")
        .arg(&a)
        .args(["--json", "dm", "watch"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            if v["event"] == "dht_mode" {
                let _ = tx.send(v);
                return;
            }
        }
    });
    let got = rx.recv_timeout(Duration::from_secs(20));
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(got.expect("no dht_mode event")["server"], true);
}

/// A tmux server of this test's own (`tmux -L`), killed on drop.
struct Tmux(String);

impl Tmux {
    fn start(command: &str) -> Tmux {
        if Command::new("tmux").arg("-V").output().is_err() {
            // CI machines may lack it: install it (as root), else fail.
            let installed = Command::new("apt-get")
                .args(["install", "-y", "-q", "tmux"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(installed, "the chat test needs tmux (apt-get install tmux)");
        }
        let tmux = Tmux(format!("kaichi-test-{}", std::process::id()));
        let ok = tmux
            .cmd()
            .args(["new-session", "-d", "-x", "110", "-y", "24", command])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux did not start");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.0]);
        c
    }

    fn screen(&self) -> String {
        let out = self.cmd().args(["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` (literally), then Enter.
    fn type_line(&self, text: &str) {
        assert!(
            self.cmd()
                .args(["send-keys", "-l", text])
                .status()
                .unwrap()
                .success()
        );
        assert!(
            self.cmd()
                .args(["send-keys", "Enter"])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits until the screen shows everything in `wanted`.
    fn wait_for(&self, wanted: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if wanted.iter().all(|w| screen.contains(w)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never showed {wanted:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

#[test]
fn a_chat_in_a_terminal_with_the_node_from_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("alice"), dir.path().join("bob"));
    let (ida, idb) = support::two_contacts(dir.path());
    let (alice_wallet, bob_wallet) = (
        ida["wallet"].as_str().unwrap().to_owned(),
        idb["wallet"].as_str().unwrap().to_owned(),
    );
    let (mut alice, alice_addr) = node(&a, &[]);
    // Bob's node dials Alice because his settings say so (no flag).
    let set = kaichi(&b)
        .args(["config", "set", "bootstrap", &alice_addr])
        .status()
        .unwrap();
    assert!(set.success());
    let (_bob, _) = node(&b, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = kaichi_json(&a, &["status"]);
        // Connected, and (identify done) in the DHT routing table.
        if !s["node"]["connected"].as_array().unwrap().is_empty()
            && s["node"]["routing_table_peers"].as_u64().unwrap() >= 1
        {
            break s;
        }
        assert!(Instant::now() < deadline, "Bob's node never connected: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status["running"], true);
    assert_eq!(status["node"]["dht_mode"], "server");
    // Bob's node told Alice's where it sees her (identify).
    let deadline = Instant::now() + Duration::from_secs(20);
    while kaichi_json(&a, &["status"])["node"]["observed_addrs"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no observed address");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(status["store_bytes"].as_u64().unwrap() > 0);
    let plain = kaichi(&a).arg("status").output().unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains("1 connected"));

    kaichi_json(&b, &["dm", "send", &alice_wallet, "hi Alice, it's Bob"]);
    let command = format!(
        "{} --home {} chat {bob_wallet}; echo EXITED $?; sleep 60",
        env!("CARGO_BIN_EXE_kaichi"),
        a.display()
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for(&["kaichi chat with", "#1", "them: hi Alice, it's Bob"]);

    tmux.type_line("hello Bob, from the chat");
    wait_for(&b, &alice_wallet, "hello Bob, from the chat");
    tmux.wait_for(&["#2", "you: hello Bob, from the chat (delivered)"]);
    // New messages appear as they arrive.
    kaichi_json(&b, &["dm", "send", &alice_wallet, "are you there?"]);
    tmux.wait_for(&["#3", "them: are you there?"]);
    tmux.type_line("/reply 3 yes, here");
    tmux.type_line("/react 3 ok");
    tmux.type_line("/edit 2 hello Bob (edited)");
    tmux.type_line("/edit 3 not mine");
    tmux.wait_for(&[
        "you: ↳#3 yes, here",
        "them: are you there? ok1",
        "you: hello Bob (edited) (edited)",
        "#3 is not yours",
    ]);
    let read = wait_for(&b, &alice_wallet, "yes, here");
    let messages = read["messages"].as_array().unwrap();
    let reply = messages.iter().find(|m| m["text"] == "yes, here").unwrap();
    let asked = messages
        .iter()
        .find(|m| m["text"] == "are you there?")
        .unwrap();
    assert_eq!(reply["reply_to"], asked["cid"]);
    wait_for(&b, &alice_wallet, "hello Bob (edited)");
    // The chat told Bob's side it read his messages.
    let deadline = Instant::now() + Duration::from_secs(20);
    while kaichi_json(&b, &["dm", "read", &alice_wallet])["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mine"] == true && m["read"] == false)
    {
        assert!(
            Instant::now() < deadline,
            "Bob's messages never showed as read"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Leaving gives the terminal back: the shell's next line is on the
    // normal screen, the chat's is gone.
    tmux.type_line("/quit");
    let after = tmux.wait_for(&["EXITED 0"]);
    assert!(!after.contains("kaichi chat with"), "{after}");
    drop(tmux);

    // A group chat: live group messages both ways.
    let group = kaichi_json(&a, &["group", "create", "friends"]);
    let id = group["id"].as_str().unwrap().to_owned();
    kaichi_json(&a, &["group", "invite", "friends", &bob_wallet]);
    poll(&b, &["groups"], |v| {
        v.as_array().unwrap().iter().any(|g| g["id"] == id.as_str())
    });
    let command = format!(
        "{} --home {} chat friends; echo EXITED $?; sleep 60",
        env!("CARGO_BIN_EXE_kaichi"),
        a.display()
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for(&["kaichi chat in group friends"]);
    kaichi_json(&b, &["group", "send", &id, "hello friends"]);
    let bob_tail: String = idb["ipns_name"]
        .as_str()
        .unwrap()
        .chars()
        .rev()
        .take(8)
        .collect();
    let bob_tail: String = bob_tail.chars().rev().collect();
    tmux.wait_for(&[&format!("…{bob_tail}: hello friends")]);
    tmux.type_line("hi Bob, in the group");
    tmux.wait_for(&["you: hi Bob, in the group"]);
    poll(&b, &["group", "read", &id], |v| {
        v.as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "hi Bob, in the group")
    });
    tmux.type_line("/react 1 ok");
    tmux.wait_for(&["are for direct messages"]);
    tmux.type_line("/quit");
    tmux.wait_for(&["EXITED 0"]);
    drop(tmux);

    // On a terminal, what takes a while shows a progress bar.
    let file = dir.path().join("photo.bin");
    std::fs::write(&file, vec![7u8; 12 * 1024 * 1024]).unwrap();
    let send = format!(
        "{} --home {} dm send {bob_wallet} --file {}; sleep 60",
        env!("CARGO_BIN_EXE_kaichi"),
        a.display(),
        file.display()
    );
    let tmux = Tmux::start(&send);
    tmux.wait_for(&["sending [", "MiB"]);
    tmux.wait_for(&["sent bafy"]);
    drop(tmux);

    // SIGTERM stops the node cleanly; its log holds none of its secrets.
    assert!(alice.terminate().success());
    assert!(!a.join("node.sock").exists());
    let log = std::fs::read_to_string(a.join("logs").join("node.log")).unwrap();
    assert!(
        log.contains("kaichi node starting") && log.contains("stopping"),
        "{log}"
    );
    support::assert_no_secrets(&log, &support::secrets_of(&a));
}
