//! One identity on two `kaichi node` processes (laptop and phone, linked
//! with `kaichi device request` / `approve` / `join`) and a contact's node,
//! all through a relay: the contact's message reaches both devices, what
//! the phone writes reaches the contact and shows on the laptop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::kaichi_json;

fn str_of(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

/// Polls `dm read PEER` on `home` until `text` shows up.
fn wait_for(home: &Path, peer: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = support::kaichi(home)
            .args(["--json", "dm", "read", peer])
            .output()
            .unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            if v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["text"] == text)
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} never reached {}: {}",
            home.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn a_laptop_and_a_phone_node_share_one_identity_with_a_contact() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let (laptop, phone, dave, relay) = (p("laptop"), p("phone"), p("dave"), p("relay"));
    let id = kaichi_json(&laptop, &["wallet", "new"]);
    let name = str_of(&id, "ipns_name");
    let dave_wallet = str_of(&kaichi_json(&dave, &["wallet", "new"]), "wallet");
    kaichi_json(&phone, &["wallet", "new"]);
    kaichi_json(&relay, &["wallet", "new"]);

    // Linking, offline.
    let req = p("phone.request");
    kaichi_json(
        &phone,
        &[
            "device",
            "request",
            "--identity",
            &name,
            "--out",
            req.to_str().unwrap(),
        ],
    );
    let link = p("phone.link");
    kaichi_json(
        &laptop,
        &[
            "device",
            "approve",
            req.to_str().unwrap(),
            "--out",
            link.to_str().unwrap(),
        ],
    );
    kaichi_json(&phone, &["device", "join", link.to_str().unwrap()]);

    // Dave and the laptop exchange documents (the laptop's lists the phone).
    let (laptop_doc, dave_doc) = (p("laptop.doc"), p("dave.doc"));
    kaichi_json(
        &laptop,
        &["id", "document", "--out", laptop_doc.to_str().unwrap()],
    );
    kaichi_json(
        &dave,
        &["id", "document", "--out", dave_doc.to_str().unwrap()],
    );
    kaichi_json(&dave, &["contacts", "add", laptop_doc.to_str().unwrap()]);
    kaichi_json(&laptop, &["contacts", "add", dave_doc.to_str().unwrap()]);

    let (_relay, relay_addr) = support::node_process(&relay, &["--relay"], None);
    let bootstrap = ["--bootstrap", relay_addr.as_str()];
    let (_laptop_node, _) = support::node_process(&laptop, &bootstrap, None);
    let (_phone_node, _) = support::node_process(&phone, &bootstrap, None);
    let (_dave_node, _) = support::node_process(&dave, &bootstrap, None);
    // Each device is its own peer, for the one identity.
    let on_phone = kaichi_json(&phone, &["id", "show"]);
    assert_eq!(str_of(&on_phone, "ipns_name"), name);
    assert!(on_phone["device_wallet"].is_string());
    std::thread::sleep(Duration::from_millis(1500));

    kaichi_json(&dave, &["dm", "send", &name, "hello, both of you"]);
    wait_for(&laptop, &dave_wallet, "hello, both of you");
    wait_for(&phone, &dave_wallet, "hello, both of you");

    kaichi_json(&phone, &["dm", "send", &dave_wallet, "typed on the phone"]);
    wait_for(&dave, &name, "typed on the phone");
    wait_for(&laptop, &dave_wallet, "typed on the phone");

    kaichi_json(
        &laptop,
        &["dm", "send", &dave_wallet, "typed on the laptop"],
    );
    wait_for(&dave, &name, "typed on the laptop");
    wait_for(&phone, &dave_wallet, "typed on the laptop");
}
