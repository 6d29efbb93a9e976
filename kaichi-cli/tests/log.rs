//! `kaichi contacts`, `kaichi id document` and `kaichi log`, driven as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{kaichi, kaichi_json, two_contacts};

fn s(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap().to_owned()
}

#[test]
fn a_conversation_travels_as_car_files_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("alice"), dir.path().join("bob"));
    let (ida, idb) = two_contacts(dir.path());
    let contacts = kaichi_json(&a, &["contacts"]);
    assert_eq!(contacts[0]["wallet"], idb["wallet"]);
    assert_eq!(contacts[0]["ipns_name"], idb["ipns_name"]);

    // Alice writes by Bob's wallet address, Bob by Alice's IPNS name.
    kaichi_json(&a, &["log", "append", &s(&idb, "wallet"), "hello bob"]);
    kaichi_json(
        &a,
        &["log", "append", &s(&idb, "ipns_name"), "are you there?"],
    );
    let car_a = dir.path().join("a.car");
    let exported = kaichi_json(
        &a,
        &[
            "log",
            "export",
            &s(&idb, "wallet"),
            "--out",
            car_a.to_str().unwrap(),
        ],
    );
    assert_eq!(exported["blocks"], 2);
    let imported = kaichi_json(&b, &["log", "import", car_a.to_str().unwrap()]);
    assert_eq!(imported["new_entries"], 2);
    // Importing again changes nothing.
    assert_eq!(
        kaichi_json(&b, &["log", "import", car_a.to_str().unwrap()])["new_entries"],
        0
    );

    kaichi_json(&b, &["log", "append", &s(&ida, "ipns_name"), "yes!"]);
    let car_b = dir.path().join("b.car");
    kaichi_json(
        &b,
        &[
            "log",
            "export",
            &s(&ida, "wallet"),
            "--out",
            car_b.to_str().unwrap(),
        ],
    );
    assert_eq!(
        kaichi_json(&a, &["log", "import", car_b.to_str().unwrap()])["new_entries"],
        1
    );

    let va = kaichi_json(&a, &["log", "show", &s(&idb, "wallet")]);
    let vb = kaichi_json(&b, &["log", "show", &s(&ida, "wallet")]);
    let texts = |v: &serde_json::Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| s(m, "text"))
            .collect()
    };
    assert_eq!(texts(&va), ["yes!", "are you there?", "hello bob"]);
    assert_eq!(texts(&va), texts(&vb));
    assert_eq!(va["messages"][0]["mine"], false);
    assert_eq!(vb["messages"][0]["mine"], true);
    assert_eq!(va["messages"][0]["author"], idb["ipns_name"]);

    // Paging with --before.
    let first = kaichi_json(&a, &["log", "show", &s(&idb, "wallet"), "--limit", "2"]);
    let next = s(&first, "next");
    let rest = kaichi_json(
        &a,
        &[
            "log",
            "show",
            &s(&idb, "wallet"),
            "--limit",
            "2",
            "--before",
            &next,
        ],
    );
    assert_eq!(texts(&rest), ["hello bob"]);
    assert!(rest["next"].is_null());

    let v = kaichi_json(&a, &["log", "verify", car_b.to_str().unwrap()]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["blocks"], 3);
}

#[test]
fn bad_car_files_are_named_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("alice"), dir.path().join("bob"));
    let (_, idb) = two_contacts(dir.path());
    for t in ["one", "two", "three"] {
        kaichi_json(&a, &["log", "append", &s(&idb, "wallet"), t]);
    }
    let car = dir.path().join("a.car");
    kaichi_json(
        &a,
        &[
            "log",
            "export",
            &s(&idb, "wallet"),
            "--out",
            car.to_str().unwrap(),
        ],
    );
    let good = std::fs::read(&car).unwrap();

    // A flipped byte inside the last block: the CID no longer matches.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 10] ^= 1;
    let bad_path = dir.path().join("bad.car");
    std::fs::write(&bad_path, &bad).unwrap();
    let out = kaichi(&a)
        .args(["--json", "log", "verify"])
        .arg(&bad_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["bad_block"].as_str().unwrap().starts_with("bafyrei"));
    let out = kaichi(&b)
        .args(["log", "import"])
        .arg(&bad_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(kaichi_json(&b, &["contacts"])[0]["entries"], 0);

    // Truncated file.
    std::fs::write(&bad_path, &good[..good.len() / 2]).unwrap();
    let out = kaichi(&a)
        .args(["log", "verify"])
        .arg(&bad_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    // A stranger's conversation is refused as a whole.
    let carol = dir.path().join("carol");
    kaichi_json(&carol, &["wallet", "new"]);
    let out = kaichi(&carol)
        .args(["log", "import"])
        .arg(&car)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not with one of your contacts"));

    // Unknown contacts and bad documents get clear errors.
    let out = kaichi(&a)
        .args(["log", "append", "k51nope", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    std::fs::write(dir.path().join("junk.doc"), b"junk").unwrap();
    let out = kaichi(&a)
        .args(["contacts", "add"])
        .arg(dir.path().join("junk.doc"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid identity document"));
}
