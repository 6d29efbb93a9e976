//! Linking devices from the CLI, offline: `device request` on the new
//! device (its own wallet), `device approve` on the primary, `device join`
//! on the new device, with pasted lines and with files; `devices`,
//! `id show` on both; and the refusals: a device approving, a request
//! replayed or sent to another identity, a link opened by another wallet,
//! a revocation without `--yes`. Then one identity on two `kaichi node`
//! processes (laptop and phone) and a contact's node, through a relay, and
//! the phone revoked while the laptop's node runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{kaichi, kaichi_json};

fn fails(home: &Path, args: &[&str]) -> String {
    let out = kaichi(home).args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn str_of(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

#[test]
fn a_phone_links_to_a_laptop_identity_with_pasted_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (laptop, phone) = (dir.path().join("laptop"), dir.path().join("phone"));
    let id = kaichi_json(&laptop, &["wallet", "new"]);
    let name = str_of(&id, "ipns_name");
    let phone_wallet = str_of(&kaichi_json(&phone, &["wallet", "new"]), "wallet");

    let req = kaichi_json(&phone, &["device", "request", "--identity", &name]);
    assert_eq!(str_of(&req, "device_wallet"), phone_wallet);
    let line = str_of(&req, "request");
    assert!(line.starts_with("kaichi-device-request:"));

    let approved = kaichi_json(&laptop, &["device", "approve", &line]);
    assert_eq!(approved["devices"], 1);
    let link = str_of(&approved, "link");
    assert!(link.starts_with("kaichi-device-link:"));

    let joined = kaichi_json(&phone, &["device", "join", &link]);
    assert_eq!(str_of(&joined, "ipns_name"), name);
    assert_eq!(str_of(&joined, "device_wallet"), phone_wallet);

    // Both report the one identity; the phone also its own wallet.
    let on_phone = kaichi_json(&phone, &["id", "show"]);
    assert_eq!(str_of(&on_phone, "ipns_name"), name);
    assert_eq!(str_of(&on_phone, "wallet"), str_of(&id, "wallet"));
    assert_eq!(str_of(&on_phone, "device_wallet"), phone_wallet);
    assert_eq!(on_phone["dm_public_key"], id["dm_public_key"]);
    let on_laptop = kaichi_json(&laptop, &["id", "show"]);
    assert!(on_laptop.get("device_wallet").is_none());

    for home in [&laptop, &phone] {
        let list = kaichi_json(home, &["devices"]);
        assert_eq!(str_of(&list, "identity"), name);
        let devices = list["devices"].as_array().unwrap();
        assert_eq!(devices.len(), 2, "{list}");
        assert_eq!(devices[0]["role"], "primary");
        assert_eq!(str_of(&devices[1], "wallet"), phone_wallet);
        assert!(devices[1]["added"].is_string());
    }

    // The same request again adds nothing.
    let e = fails(&laptop, &["device", "approve", &line]);
    assert!(e.contains("already a device"), "{e}");
    // A device does not approve others.
    let tablet = dir.path().join("tablet");
    kaichi_json(&tablet, &["wallet", "new"]);
    let tablet_req = str_of(
        &kaichi_json(&tablet, &["device", "request", "--identity", &name]),
        "request",
    );
    let e = fails(&phone, &["device", "approve", &tablet_req]);
    assert!(e.contains("only the identity's primary wallet"), "{e}");
    // Nor does the primary's link let another wallet in.
    let e = fails(&tablet, &["device", "join", &link]);
    assert!(e.contains("no grant"), "{e}");
}

#[test]
fn files_carry_the_request_and_the_link_and_requests_stay_with_their_identity() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let (laptop, phone, other) = (p("laptop"), p("phone"), p("other"));
    let name = str_of(&kaichi_json(&laptop, &["wallet", "new"]), "ipns_name");
    kaichi_json(&phone, &["wallet", "new"]);
    kaichi_json(&other, &["wallet", "new"]);
    let req = p("phone.request");
    let req_s = req.to_str().unwrap();
    kaichi_json(
        &phone,
        &["device", "request", "--identity", &name, "--out", req_s],
    );
    // Another identity refuses a request made for this one.
    let e = fails(&other, &["device", "approve", req_s]);
    assert!(e.contains("asks to join"), "{e}");
    let link = p("phone.link");
    let link_s = link.to_str().unwrap();
    kaichi_json(&laptop, &["device", "approve", req_s, "--out", link_s]);
    let joined = kaichi_json(&phone, &["device", "join", link_s]);
    assert_eq!(str_of(&joined, "ipns_name"), name);
    // A damaged link is refused and changes nothing.
    let mut text = std::fs::read_to_string(&link).unwrap();
    text.truncate(text.len() - 10);
    let bad = p("bad.link");
    std::fs::write(&bad, text).unwrap();
    assert!(!fails(&phone, &["device", "join", bad.to_str().unwrap()]).is_empty());
    assert_eq!(
        str_of(&kaichi_json(&phone, &["id", "show"]), "ipns_name"),
        name
    );
    // The document the primary writes lists the device.
    let doc = p("laptop.doc");
    kaichi_json(&laptop, &["id", "document", "--out", doc.to_str().unwrap()]);
    let renewed = kaichi_json(&phone, &["device", "join", doc.to_str().unwrap()]);
    assert_eq!(str_of(&renewed, "ipns_name"), name);
}

/// The laptop lets the phone approve; the phone approves a tablet and a
/// watch on its own (its wallet signs); the tablet joins from the phone's
/// link. A device without the right cannot approve; the phone cannot hand
/// the right on, nor revoke the laptop's approvers, but revokes the watch.
#[test]
fn a_device_the_primary_lets_approve_links_and_revokes_others() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let (laptop, phone, tablet, watch) = (p("laptop"), p("phone"), p("tablet"), p("watch"));
    let name = str_of(&kaichi_json(&laptop, &["wallet", "new"]), "ipns_name");
    let request = |home: &Path| {
        kaichi_json(home, &["wallet", "new"]);
        str_of(
            &kaichi_json(home, &["device", "request", "--identity", &name]),
            "request",
        )
    };
    let phone_req = request(&phone);
    let link = str_of(
        &kaichi_json(&laptop, &["device", "approve", &phone_req, "--approver"]),
        "link",
    );
    kaichi_json(&phone, &["device", "join", &link]);

    let tablet_req = request(&tablet);
    let e = fails(&phone, &["device", "approve", &tablet_req, "--approver"]);
    assert!(e.contains("lets a device approve"), "{e}");
    let approved = kaichi_json(&phone, &["device", "approve", &tablet_req]);
    assert_eq!(approved["devices"], 2);
    let joined = kaichi_json(&tablet, &["device", "join", &str_of(&approved, "link")]);
    assert_eq!(str_of(&joined, "ipns_name"), name);
    let tablet_wallet = str_of(&joined, "device_wallet");

    // The tablet may not approve: the laptop did not let it.
    let watch_req = request(&watch);
    let e = fails(&tablet, &["device", "approve", &watch_req]);
    assert!(e.contains("only the identity's primary wallet"), "{e}");
    let watch_link = str_of(
        &kaichi_json(&phone, &["device", "approve", &watch_req]),
        "link",
    );
    let watch_wallet = str_of(
        &kaichi_json(&watch, &["device", "join", &watch_link]),
        "device_wallet",
    );

    let list = kaichi_json(&phone, &["devices"]);
    let devices = list["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 4, "{list}");
    let by_wallet = |w: &str| {
        devices
            .iter()
            .find(|d| d["wallet"] == w)
            .unwrap_or_else(|| panic!("{w} not in {list}"))
    };
    assert_eq!(by_wallet(&tablet_wallet)["approver"], false);
    assert_eq!(devices[1]["approver"], true, "the phone: {list}");

    // The phone revokes the watch; it cannot revoke itself (an approver).
    let phone_wallet = str_of(&devices[1], "wallet");
    let e = fails(&phone, &["device", "revoke", &phone_wallet, "--yes"]);
    assert!(
        e.contains("only the identity's primary wallet revokes it"),
        "{e}"
    );
    kaichi_json(&phone, &["device", "revoke", &watch_wallet, "--yes"]);
    let list = kaichi_json(&phone, &["devices"]);
    assert_eq!(list["devices"].as_array().unwrap().len(), 3, "{list}");
    assert!(
        !list["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["wallet"] == watch_wallet.as_str()),
        "{list}"
    );
}

#[test]
fn revoking_a_device_says_what_it_does_and_with_a_new_epoch_rotates_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let (laptop, phone, tablet) = (p("laptop"), p("phone"), p("tablet"));
    let id = kaichi_json(&laptop, &["wallet", "new"]);
    let name = str_of(&id, "ipns_name");
    let link = |device: &Path| {
        let w = str_of(&kaichi_json(device, &["wallet", "new"]), "wallet");
        let line = str_of(
            &kaichi_json(device, &["device", "request", "--identity", &name]),
            "request",
        );
        let link = str_of(&kaichi_json(&laptop, &["device", "approve", &line]), "link");
        kaichi_json(device, &["device", "join", &link]);
        w
    };
    let phone_wallet = link(&phone);
    let tablet_wallet = link(&tablet);
    let count = || {
        kaichi_json(&laptop, &["devices"])["devices"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(), 3);

    // Without --yes: the consequences, and nothing changes.
    let out = kaichi(&laptop)
        .args(["device", "revoke", &phone_wallet])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("still holds") && said.contains("--yes"),
        "{said}"
    );
    assert_eq!(count(), 3);
    // A device cannot revoke.
    let e = fails(&phone, &["device", "revoke", &tablet_wallet, "--yes"]);
    assert!(e.contains("only the identity's primary wallet"), "{e}");

    // Revoked from the document, same keys: the phone is gone from it and
    // can no longer open the identity from a fresh document.
    let done = kaichi_json(&laptop, &["device", "revoke", &phone_wallet, "--yes"]);
    assert_eq!(done["done"], true);
    assert_eq!(str_of(&done, "new_identity"), name);
    assert_eq!(count(), 2);
    let doc = p("fresh.doc");
    kaichi_json(&laptop, &["id", "document", "--out", doc.to_str().unwrap()]);
    let e = fails(&phone, &["device", "join", doc.to_str().unwrap()]);
    assert!(e.contains("no grant"), "{e}");
    assert_eq!(
        str_of(
            &kaichi_json(&tablet, &["device", "join", doc.to_str().unwrap()]),
            "ipns_name"
        ),
        name
    );

    // With a new epoch: new keys and name, no devices left.
    let out = kaichi(&laptop)
        .args(["device", "revoke", &tablet_wallet, "--new-epoch"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("new IPNS name"));
    let done = kaichi_json(
        &laptop,
        &["device", "revoke", &tablet_wallet, "--new-epoch", "--yes"],
    );
    let new_name = str_of(&done, "new_identity");
    assert_ne!(new_name, name);
    let now = kaichi_json(&laptop, &["id", "show"]);
    assert_eq!(str_of(&now, "ipns_name"), new_name);
    assert_eq!(now["epoch"], 1);
    assert_eq!(count(), 1);
}

// One identity on two node processes.

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
    // The laptop's node heard from the phone: `devices` says when.
    let listed = kaichi_json(&laptop, &["devices"]);
    let phone_row = listed["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["role"] == "device")
        .cloned()
        .unwrap();
    assert!(phone_row["last_seen"].is_string(), "{listed}");

    kaichi_json(
        &laptop,
        &["dm", "send", &dave_wallet, "typed on the laptop"],
    );
    wait_for(&dave, &name, "typed on the laptop");
    wait_for(&phone, &dave_wallet, "typed on the laptop");

    // The laptop revokes the phone while its node runs: the node takes the
    // new document and publishes it at once (no restart); the phone learns
    // it from the laptop's next message and stops writing as the identity.
    let phone_wallet = str_of(&on_phone, "device_wallet");
    let revoked = kaichi_json(&laptop, &["device", "revoke", &phone_wallet, "--yes"]);
    assert_eq!(
        str_of(&revoked, "node"),
        "the running node published the new document"
    );
    let devices = kaichi_json(&laptop, &["devices"]);
    assert!(
        !devices.to_string().contains(&phone_wallet),
        "still listed: {devices}"
    );
    kaichi_json(&laptop, &["dm", "send", &dave_wallet, "phone revoked"]);
    wait_for(&dave, &name, "phone revoked");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = kaichi(&phone)
            .args(["dm", "send", &dave_wallet, "after the revocation"])
            .output()
            .unwrap();
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(said.contains("may not write for this identity"), "{said}");
            break;
        }
        assert!(Instant::now() < deadline, "the revoked phone still writes");
        std::thread::sleep(Duration::from_millis(300));
    }
}
