//! Policies: token-holder admission, metadata bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use common::Client;
use kaichi_groups::policy::BalanceError;
use kaichi_groups::{
    AddError, AdminPolicy, BalanceSource, Candidate, Group, GroupMetadata, MetadataPolicy,
    NewGroup, NoBalances, NoDevices, Outgoing, ProcessError, TokenHolderPolicy,
};
use kaichi_identity::WalletAddress;

struct Snapshot(HashMap<(WalletAddress, WalletAddress), u64>);

impl BalanceSource for Snapshot {
    fn balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, BalanceError> {
        self.0
            .get(&(*wallet, *mint))
            .copied()
            .ok_or(BalanceError::Unknown {
                wallet: *wallet,
                mint: *mint,
            })
    }
}

fn wallet(seed: u8) -> WalletAddress {
    kaichi_test_support::identity::keys(seed).1.wallet()
}

#[test]
fn token_holders_are_admitted_and_others_refused() {
    let mint = wallet(200);
    let (rich, poor, unknown) = (wallet(2), wallet(3), wallet(4));
    let policy = TokenHolderPolicy {
        mint,
        minimum: 1_000,
        balances: Snapshot(HashMap::from([((rich, mint), 5_000), ((poor, mint), 999)])),
        inner: AdminPolicy,
    };
    let mut alice = Client::new(1);
    alice.create("holders");
    let g = alice.group.as_mut().unwrap();
    let add = |g: &mut kaichi_groups::Group, c: Candidate| {
        g.add(&alice.provider, &alice.me, &policy, &NoDevices, &[c])
    };
    let kp = |s| Client::new(s).key_package();
    assert!(matches!(
        add(g, Candidate::new(kp(3)).with_wallet(poor)),
        Err(AddError::Policy(_))
    ));
    assert!(matches!(
        add(g, Candidate::new(kp(4)).with_wallet(unknown)),
        Err(AddError::Policy(_))
    ));
    assert_eq!(g.epoch(), 0);
    assert!(matches!(
        add(g, Candidate::new(kp(2)).with_wallet(rich)),
        Ok(Outgoing::Commit(_))
    ));
    assert_eq!(g.member_names().len(), 2);
}

#[test]
fn a_token_gate_in_the_metadata_binds_every_member() {
    let mint = wallet(200);
    let (bob_w, carol_w, poor) = (wallet(2), wallet(3), wallet(9));
    let balances = Snapshot(HashMap::from([
        ((bob_w, mint), 1_000),
        ((carol_w, mint), 1_000),
        ((poor, mint), 1),
    ]));
    let policy = MetadataPolicy::new(&balances);
    let (mut alice, mut bob, carol) = (Client::new(1), Client::new(2), Client::new(3));
    alice.group = Some(
        Group::create(
            &alice.provider,
            &alice.me,
            NewGroup::named("holders").token_gated(mint, 100),
        )
        .unwrap(),
    );
    let g = alice.group.as_mut().unwrap();
    let refused = g.add(
        &alice.provider,
        &alice.me,
        &policy,
        &NoDevices,
        &[Candidate::new(Client::new(9).key_package()).with_wallet(poor)],
    );
    assert!(matches!(refused, Err(AddError::Policy(_))), "{refused:?}");
    // No balance source: refused too.
    let none = g.add(
        &alice.provider,
        &alice.me,
        &MetadataPolicy::new(NoBalances),
        &NoDevices,
        &[Candidate::new(bob.key_package()).with_wallet(bob_w)],
    );
    assert!(matches!(none, Err(AddError::Policy(_))), "{none:?}");
    let Outgoing::Commit(out) = g
        .add(
            &alice.provider,
            &alice.me,
            &policy,
            &NoDevices,
            &[Candidate::new(bob.key_package()).with_wallet(bob_w)],
        )
        .unwrap()
    else {
        panic!()
    };
    bob.join(&out);
    let gate = bob.group().metadata().token_gate.unwrap();
    assert_eq!((gate.mint, gate.minimum), (mint, 100));

    // Bob becomes an admin, but in a token-holder group only the sequencer
    // adds: his own node refuses, and so does everyone else when he goes
    // around it.
    let mut m = alice.group().metadata().clone();
    m.admins.push(bob.name());
    let Outgoing::Commit(c) = alice
        .group
        .as_mut()
        .unwrap()
        .set_metadata(&alice.provider, &alice.me, &policy, m)
        .unwrap()
    else {
        panic!()
    };
    bob.process(&c.commit).unwrap();
    let own = bob.group.as_mut().unwrap().add(
        &bob.provider,
        &bob.me,
        &policy,
        &NoDevices,
        &[Candidate::new(carol.key_package()).with_wallet(carol_w)],
    );
    assert!(
        matches!(
            &own,
            Err(AddError::Policy(
                kaichi_groups::policy::Denied::OnlySequencerAdds(_)
            ))
        ),
        "{own:?}"
    );
    let kp = kaichi_groups::parse_key_package(&bob.provider, &carol.key_package(), &NoDevices)
        .unwrap()
        .0;
    let (around, _) = bob
        .group
        .as_mut()
        .unwrap()
        .as_mls_mut()
        .propose_add_member(&bob.provider, &bob.me, &kp)
        .unwrap();
    let around = tls_codec::Serialize::tls_serialize_detached(&around).unwrap();
    let before = alice.group().epoch();
    let seen = alice
        .group
        .as_mut()
        .unwrap()
        .process(&alice.provider, &policy, &NoDevices, &around);
    assert!(matches!(seen, Err(ProcessError::Policy(_))), "{seen:?}");
    assert_eq!(alice.group().epoch(), before);
}

#[test]
fn metadata_round_trips_and_is_bounded() {
    let name = |s| kaichi_identity::IpnsKeypair::from_seed(&[s; 32]).name();
    let m = GroupMetadata {
        name: "ギルド".into(),
        description: "token holders".into(),
        admins: vec![name(1), name(2)],
        sequencer: Some(name(1)),
        token_gate: Some(kaichi_groups::TokenGate {
            mint: wallet(200),
            minimum: 7,
        }),
    };
    assert_eq!(GroupMetadata::decode(&m.encode()).unwrap(), m);
    let ungated = GroupMetadata {
        token_gate: None,
        ..m.clone()
    };
    assert_eq!(GroupMetadata::decode(&ungated.encode()).unwrap(), ungated);
    let mut short_mint = ungated.encode();
    short_mint.extend_from_slice(b"\x2a\x03abc"); // a 3-byte mint
    assert!(GroupMetadata::decode(&short_mint).is_err());
    let long = GroupMetadata {
        name: "x".repeat(129),
        ..m.clone()
    };
    assert!(long.validate().is_err());
    assert!(GroupMetadata::decode(&long.encode()).is_err());
    assert!(GroupMetadata::decode(b"\x0a\xff").is_err());
    let mut bad = m.encode();
    bad.extend_from_slice(b"\x22\x03abc"); // sequencer "abc"
    assert!(GroupMetadata::decode(&bad).is_err());
}

#[test]
fn a_last_resort_key_package_validates_and_serves_twice() {
    let bob = Client::new(2);
    let kp = kaichi_groups::key_package(&bob.provider, &bob.me, true).unwrap();
    let (parsed, name) = kaichi_groups::parse_key_package(&bob.provider, &kp, &NoDevices).unwrap();
    assert_eq!(name, bob.name());
    assert!(parsed.last_resort());
    // Two groups admit Bob from the same KeyPackage.
    let mut bob = bob;
    for (seed, group) in [(1u8, "first"), (3, "second")] {
        let mut owner = Client::new(seed);
        owner.create(group);
        let c = owner.group.as_mut().unwrap();
        let Outgoing::Commit(out) = c
            .add(
                &owner.provider,
                &owner.me,
                &AdminPolicy,
                &NoDevices,
                &[Candidate::new(kp.clone())],
            )
            .unwrap()
        else {
            panic!()
        };
        bob.join(&out);
        assert_eq!(bob.group.as_mut().unwrap().metadata().name, group);
    }
}

proptest::proptest! {
    /// Any metadata within bounds survives encoding; decoding arbitrary
    /// bytes never panics.
    #[test]
    fn metadata_encoding_round_trips(
        name in "[a-zA-Z0-9 ]{0,128}",
        description in "\\PC{0,200}",
        admins in proptest::collection::vec(1u8..=255, 0..8),
        sequencer in 1u8..=255,
        gate in proptest::option::of((proptest::array::uniform32(0u8..), 0u64..)),
        junk in proptest::collection::vec(0u8.., 0..300),
    ) {
        let key = |s: u8| kaichi_identity::IpnsKeypair::from_seed(&[s; 32]).name();
        let m = GroupMetadata {
            name,
            description,
            admins: admins.into_iter().map(key).collect(),
            sequencer: Some(key(sequencer)),
            token_gate: gate.map(|(mint, minimum)| kaichi_groups::TokenGate {
                mint: WalletAddress::from_bytes(mint),
                minimum,
            }),
        };
        proptest::prop_assert_eq!(GroupMetadata::decode(&m.encode()).unwrap(), m);
        let _ = GroupMetadata::decode(&junk);
    }
}
