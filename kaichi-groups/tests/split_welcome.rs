//! Split Welcomes: a Welcome for many new members split into a header and
//! shards; each invitee finds its shard from its own KeyPackage's reference
//! and joins from a Welcome naming it alone, whichever engine made the
//! Welcome and whichever made its KeyPackage. Malformed parts are refused
//! with typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kaichi_groups::welcome::{
    DEFAULT_SHARD_SECRETS, key_package_ref, shard_for, split_welcome, welcome_for, welcome_secrets,
};
use kaichi_groups::{
    AdminPolicy, Candidate, GroupDatabase, GroupEngine, GroupSession, KeyPackageRef, MemberSigner,
    NewGroup, SessionOutput, WelcomeError,
};
use kaichi_identity::IpnsKeypair;
use proptest::prelude::*;

type Session = GroupSession<AdminPolicy>;

fn open(dir: &Path, seed: u8, engine: GroupEngine) -> Session {
    let mut s = GroupSession::open(
        GroupDatabase::open(&dir.join(format!("{seed}.db"))).unwrap(),
        MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32])),
        AdminPolicy,
    )
    .unwrap();
    s.set_engine(engine);
    s
}

fn welcome(s: &mut Session) -> (Vec<u8>, Vec<u8>) {
    std::iter::from_fn(|| s.poll_output())
        .find_map(|o| match o {
            SessionOutput::Welcome {
                welcome,
                ratchet_tree,
                ..
            } => Some((welcome, ratchet_tree)),
            _ => None,
        })
        .expect("a Welcome")
}

/// A group made by `engine` adds twelve members (KeyPackages from both
/// engines) in one commit; each joins from its own shard of the Welcome.
fn every_invitee_joins_from_its_shard(engine: GroupEngine, seed: u8) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = open(d, seed, engine);
    let id = alice.create(NewGroup::named("split")).unwrap();
    let mut members: Vec<(Session, Vec<u8>)> = (1..=12u8)
        .map(|i| {
            let engine = if i % 2 == 0 {
                GroupEngine::OpenMls
            } else {
                GroupEngine::MlsRs
            };
            let s = open(d, seed + i, engine);
            let kp = s.published_key_package().unwrap();
            (s, kp)
        })
        .collect();
    let candidates: Vec<Candidate> = members
        .iter()
        .map(|(_, kp)| Candidate::new(kp.clone()))
        .collect();
    alice.add(id, &candidates).unwrap();
    let (w, tree) = welcome(&mut alice);
    assert_eq!(welcome_secrets(&w).unwrap(), 12);

    let split = split_welcome(&w, 5).unwrap();
    assert_eq!(split.shards.len(), 3, "12 secrets, 5 to a shard");
    let firsts: Vec<KeyPackageRef> = split.shards.iter().map(|s| s.first).collect();
    assert!(firsts.windows(2).all(|f| f[0] < f[1]));
    assert!(split.header.len() < w.len());

    let auth = alice.group(&id).unwrap().epoch_authenticator();
    for (s, kp) in &mut members {
        let mine = [key_package_ref(kp).unwrap()];
        let at = shard_for(&firsts, &mine);
        assert_eq!(at.len(), 1);
        let shard = &split.shards[at[0]].bytes;
        let own = welcome_for(&split.header, shard, &mine).unwrap();
        assert_eq!(welcome_secrets(&own).unwrap(), 1);
        // Another shard has no entry for this member.
        let other = &split.shards[(at[0] + 1) % split.shards.len()].bytes;
        assert_eq!(
            welcome_for(&split.header, other, &mine),
            Err(WelcomeError::NotForMe)
        );
        assert_eq!(s.join(&own, Some(&tree), Some(id)).unwrap(), id);
        assert_eq!(s.group(&id).unwrap().epoch_authenticator(), auth);
    }
}

#[test]
fn invitees_join_from_shards_of_an_mls_rs_welcome() {
    every_invitee_joins_from_its_shard(GroupEngine::MlsRs, 100);
}

#[test]
fn invitees_join_from_shards_of_an_openmls_welcome() {
    every_invitee_joins_from_its_shard(GroupEngine::OpenMls, 150);
}

#[test]
fn malformed_parts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut alice = open(d, 200, GroupEngine::MlsRs);
    let bob = open(d, 201, GroupEngine::MlsRs);
    let carol = open(d, 202, GroupEngine::MlsRs);
    let id = alice.create(NewGroup::named("refusals")).unwrap();
    let kps = [
        bob.published_key_package().unwrap(),
        carol.published_key_package().unwrap(),
    ];
    alice
        .add(
            id,
            &kps.iter().cloned().map(Candidate::new).collect::<Vec<_>>(),
        )
        .unwrap();
    let (w, _) = welcome(&mut alice);
    let split = split_welcome(&w, DEFAULT_SHARD_SECRETS).unwrap();
    let shard = &split.shards[0].bytes;
    let mine = [key_package_ref(&kps[0]).unwrap()];

    // The whole Welcome is not a header: it still carries secrets.
    assert!(matches!(
        welcome_for(&w, shard, &mine),
        Err(WelcomeError::Malformed(_))
    ));
    // A shard in the wrong order.
    let unsorted = secrets_vector(&[[9; 32], [8; 32]]);
    let nine = [KeyPackageRef::from_slice(&[9; 32]).unwrap()];
    assert!(matches!(
        welcome_for(&split.header, &unsorted, &nine),
        Err(WelcomeError::Malformed(_))
    ));
    let sorted = secrets_vector(&[[8; 32], [9; 32]]);
    assert!(welcome_for(&split.header, &sorted, &nine).is_ok());
    // Truncations, garbage, an empty shard.
    for cut in [0, 3, 10, shard.len() - 1] {
        assert!(welcome_for(&split.header, &shard[..cut], &mine).is_err());
        assert!(
            welcome_for(
                &split.header[..cut.min(split.header.len() - 1)],
                shard,
                &mine
            )
            .is_err()
        );
    }
    assert!(matches!(
        welcome_for(&split.header, &[0], &mine),
        Err(WelcomeError::Malformed(_))
    ));
    // A KeyPackage is not a Welcome, and a Welcome has no KeyPackageRef.
    assert!(matches!(
        split_welcome(&kps[0], 4),
        Err(WelcomeError::WrongMessage { .. })
    ));
    assert!(matches!(
        key_package_ref(&w),
        Err(WelcomeError::WrongMessage { .. })
    ));
    assert!(key_package_ref(&[0, 1]).is_err());
    // Another cipher suite.
    let mut other_suite = split.header.clone();
    other_suite[5] = 3;
    assert_eq!(
        welcome_for(&other_suite, shard, &mine),
        Err(WelcomeError::WrongCiphersuite(3))
    );
}

/// A TLS vector (RFC 9420 variable-length prefix) of made-up secrets.
fn secrets_vector(refs: &[[u8; 32]]) -> Vec<u8> {
    fn opaque(out: &mut Vec<u8>, bytes: &[u8]) {
        assert!(bytes.len() < 64);
        out.push(u8::try_from(bytes.len()).unwrap());
        out.extend_from_slice(bytes);
    }
    let mut secrets = Vec::new();
    for r in refs {
        opaque(&mut secrets, r);
        opaque(&mut secrets, &[r[0]; 32]);
        opaque(&mut secrets, &[r[1]; 48]);
    }
    let n = u32::try_from(secrets.len()).unwrap();
    let mut v = if n < 64 {
        vec![u8::try_from(n).unwrap()]
    } else if n < 16384 {
        (0x4000 | u16::try_from(n).unwrap()).to_be_bytes().to_vec()
    } else {
        (0x8000_0000 | n).to_be_bytes().to_vec()
    };
    v.extend_from_slice(&secrets);
    v
}

/// A Welcome `MLSMessage` of made-up secrets for `refs`.
fn synthetic_welcome(refs: &[[u8; 32]]) -> Vec<u8> {
    let mut w = vec![0, 1, 0, 3, 0, 1];
    w.extend_from_slice(&secrets_vector(refs));
    let info = b"the encrypted GroupInfo";
    w.push(u8::try_from(info.len()).unwrap());
    w.extend_from_slice(info);
    w
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any set of members, any shard size: each member's shard holds its
    /// entry, and the Welcome rebuilt for it holds that entry alone.
    #[test]
    fn every_member_finds_its_entry(
        refs in proptest::collection::btree_set(any::<[u8; 32]>(), 1..200),
        per_shard in 1usize..40,
    ) {
        let refs: Vec<[u8; 32]> = refs.into_iter().collect();
        let w = synthetic_welcome(&refs);
        let split = split_welcome(&w, per_shard).unwrap();
        prop_assert_eq!(split.shards.len(), refs.len().div_ceil(per_shard));
        let firsts: Vec<KeyPackageRef> = split.shards.iter().map(|s| s.first).collect();
        for r in &refs {
            let mine = [KeyPackageRef::from_slice(r).unwrap()];
            let at = shard_for(&firsts, &mine);
            prop_assert_eq!(at.len(), 1);
            let own = welcome_for(&split.header, &split.shards[at[0]].bytes, &mine).unwrap();
            prop_assert_eq!(welcome_secrets(&own).unwrap(), 1);
            prop_assert_eq!(&own, &synthetic_welcome(&[*r]));
        }
    }

    /// Any bytes as header or shard: an error or a Welcome, never a panic.
    #[test]
    fn any_bytes_are_handled(header in proptest::collection::vec(any::<u8>(), 0..300),
                             shard in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mine = [KeyPackageRef::from_slice(&[7; 32]).unwrap()];
        let _ = welcome_for(&header, &shard, &mine);
        let _ = split_welcome(&header, 3);
        let _ = key_package_ref(&shard);
    }
}
