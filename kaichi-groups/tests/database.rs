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

#[test]
fn the_group_log_orders_messages_for_applying() {
    use kaichi_groups::{
        AdminPolicy, Candidate, MemoryProvider, NoDevices, Outgoing, key_package, message_info,
    };
    let (ap, bp) = (MemoryProvider::default(), MemoryProvider::default());
    let alice = MemberSigner::identity(IpnsKeypair::from_seed(&[1; 32]));
    let bob = MemberSigner::identity(IpnsKeypair::from_seed(&[2; 32]));
    let mut g = Group::create(&ap, &alice, NewGroup::named("log")).unwrap();
    let kp = key_package(&bp, &bob, false).unwrap();
    let Outgoing::Commit(add) = g
        .add(&ap, &alice, &AdminPolicy, &NoDevices, &[Candidate::new(kp)])
        .unwrap()
    else {
        panic!()
    };
    let m1 = g.send(&ap, &alice, b"one").unwrap();
    let Outgoing::Commit(upd) = g.self_update(&ap, &alice).unwrap() else {
        panic!()
    };
    let m2 = g.send(&ap, &alice, b"two").unwrap();
    let db = GroupDatabase::open_in_memory().unwrap();
    // Delivered out of order, with a duplicate.
    for bytes in [&m2, &upd.commit, &m1, &add.commit, &m1] {
        let info = message_info(bytes).unwrap();
        assert_eq!(info.group, g.id());
        db.log_message(&info, bytes, false).unwrap();
    }
    let order = db.pending_messages(&g.id(), u64::MAX).unwrap();
    assert_eq!(
        order,
        vec![
            add.commit.clone(),
            m1.clone(),
            upd.commit.clone(),
            m2.clone()
        ]
    );
    // Only what applies up to epoch 1.
    assert_eq!(
        db.pending_messages(&g.id(), 0).unwrap(),
        vec![add.commit.clone()]
    );
    db.message_done(&add.commit).unwrap();
    assert_eq!(
        db.pending_messages(&g.id(), 1).unwrap(),
        vec![m1.clone(), upd.commit.clone()]
    );
    assert_eq!(
        db.log_since(&g.id(), 2, usize::MAX).unwrap(),
        vec![m2.clone()]
    );
    assert_eq!(db.log_since(&g.id(), 0, 1).unwrap().len(), 0);
    assert!(message_info(b"junk").is_err());
}
