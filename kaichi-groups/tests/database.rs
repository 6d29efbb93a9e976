//! The group database: registry, messages, and all-or-nothing operations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_groups::storage::{DatabaseError, StoredGroupMessage};
use kaichi_groups::{Group, GroupDatabase, GroupId, MemberSigner, NewGroup};
use kaichi_identity::IpnsKeypair;

#[test]
fn registry_and_messages() {
    let db = GroupDatabase::open_in_memory().unwrap();
    let (a, b) = (GroupId::from_bytes([1; 32]), GroupId::from_bytes([2; 32]));
    db.record_group(&b, "beta").unwrap();
    db.record_group(&a, "alpha").unwrap();
    db.record_group(&a, "alpha renamed").unwrap();
    let names: Vec<_> = db.groups().unwrap().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["alpha renamed", "beta"]);
    for i in 0..5u64 {
        let m = StoredGroupMessage {
            epoch: i,
            sender: "s".into(),
            body: vec![i as u8],
            at_ms: i,
        };
        db.save_message(&a, &m).unwrap();
    }
    let last: Vec<_> = db
        .messages(&a, 2)
        .unwrap()
        .into_iter()
        .map(|m| m.body[0])
        .collect();
    assert_eq!(last, [3, 4]);
    assert!(db.messages(&b, 10).unwrap().is_empty());
    db.forget_group(&a).unwrap();
    assert_eq!(db.groups().unwrap().len(), 1);
    assert!(db.messages(&a, 10).unwrap().is_empty());
}

#[derive(Debug)]
struct Failed;

impl From<DatabaseError> for Failed {
    fn from(_: DatabaseError) -> Self {
        Failed
    }
}

#[test]
fn a_failed_operation_writes_nothing() {
    let dir = tempfile_dir();
    let path = dir.join("g.db");
    let me = MemberSigner::identity(IpnsKeypair::from_seed(&[1; 32]));
    let db = GroupDatabase::open(&path).unwrap();
    // Created, then the operation fails: the group is not stored.
    let id = std::cell::Cell::new(None);
    let r: Result<(), Failed> = db.transaction(|p| {
        let g = Group::create(p, &me, NewGroup::named("doomed")).map_err(|_| Failed)?;
        id.set(Some(g.id()));
        Err(Failed)
    });
    assert!(r.is_err());
    let id = id.get().unwrap();
    assert!(Group::load(&db.provider(), &id).unwrap().is_none());
    // Committed: stored, and still there after reopening the file.
    let id = db
        .transaction(|p| {
            Group::create(p, &me, NewGroup::named("kept"))
                .map(|g| g.id())
                .map_err(|_| Failed)
        })
        .unwrap();
    drop(db);
    let db = GroupDatabase::open(&path).unwrap();
    assert_eq!(
        Group::load(&db.provider(), &id)
            .unwrap()
            .unwrap()
            .metadata()
            .name,
        "kept"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kaichi-groups-db-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
