//! Seed corpus for the control-socket fuzz target
//! (fuzz/seeds/control_request_parse/), and a check that every committed
//! seed still parses to the request it was written from.
//!
//! Regenerate with:
//! `cargo test -p kaichi-cli --test fuzz_seeds -- --ignored`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_cli::control_protocol::Request;
use kaichi_test_support::seeds::{read_all, write};

const TARGET: &str = "control_request_parse";

/// One request of each kind, as `kaichi` sends them.
fn requests() -> Vec<(&'static str, Request)> {
    let wallet = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T".to_owned();
    let group = "friends".to_owned();
    let entry = "bafyreiaymeo7fof6yya6mdtozerofthrdxe42d5mrcyzxgl2qbw7444w2q".to_owned();
    vec![
        ("addrs", Request::Addrs),
        (
            "send",
            Request::Send {
                to: wallet.clone(),
                text: "hello ✉".into(),
            },
        ),
        (
            "read",
            Request::Read {
                peer: wallet.clone(),
                limit: 50,
            },
        ),
        ("watch", Request::Watch),
        (
            "group_create",
            Request::GroupCreate {
                name: group.clone(),
                description: "a token group".into(),
                token_mint: Some(wallet.clone()),
                token_minimum: 10,
                engine: Some("mls-rs".into()),
            },
        ),
        (
            "group_invite",
            Request::GroupInvite {
                group: group.clone(),
                member: wallet.clone(),
            },
        ),
        (
            "group_send",
            Request::GroupSend {
                group: group.clone(),
                text: "hi all".into(),
            },
        ),
        (
            "group_remove",
            Request::GroupRemove {
                group: group.clone(),
                member: wallet.clone(),
            },
        ),
        (
            "group_update",
            Request::GroupUpdate {
                group: group.clone(),
            },
        ),
        (
            "group_admin",
            Request::GroupAdmin {
                group: group.clone(),
                member: wallet.clone(),
                admin: true,
            },
        ),
        (
            "group_leave",
            Request::GroupLeave {
                group: group.clone(),
            },
        ),
        ("root", Request::Root),
        (
            "send_file",
            Request::SendFile {
                to: wallet.clone(),
                path: "/tmp/photo.jpg".into(),
                text: "a photo".into(),
            },
        ),
        (
            "save_file",
            Request::SaveFile {
                message: "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".into(),
                index: 0,
                out: "/tmp/saved.jpg".into(),
            },
        ),
        (
            "dm_sync",
            Request::DmSync {
                peer: wallet.clone(),
            },
        ),
        (
            "block_get",
            Request::BlockGet {
                cid: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".into(),
            },
        ),
        ("status", Request::Status),
        (
            "reply",
            Request::Reply {
                to: wallet.clone(),
                target: entry.clone(),
                text: "yes".into(),
            },
        ),
        (
            "edit",
            Request::Edit {
                to: wallet.clone(),
                target: entry.clone(),
                text: "fixed".into(),
            },
        ),
        (
            "delete",
            Request::Delete {
                to: wallet.clone(),
                target: entry.clone(),
            },
        ),
        (
            "react",
            Request::React {
                to: wallet.clone(),
                target: entry.clone(),
                reaction: "👍".into(),
                remove: false,
            },
        ),
        (
            "mark_read",
            Request::MarkRead {
                peer: wallet.clone(),
                up_to: entry,
            },
        ),
        ("group_read", Request::GroupRead { group, limit: 100 }),
    ]
}

#[test]
#[ignore = "writes fuzz/seeds; run on purpose to regenerate"]
fn write_seeds() {
    for (name, request) in requests() {
        write(TARGET, name, request.to_line().as_bytes());
    }
}

#[test]
fn committed_seeds_parse_to_their_requests() {
    let seeds = read_all(TARGET);
    let expected = requests();
    assert_eq!(seeds.len(), expected.len());
    for (name, request) in expected {
        let (_, bytes) = seeds.iter().find(|(n, _)| n == name).expect(name);
        assert_eq!(Request::parse(bytes).unwrap(), request, "{name}");
    }
}
