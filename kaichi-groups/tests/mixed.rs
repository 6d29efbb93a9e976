//! Mixed groups: members on openmls ([`Group`]) and members on mls-rs
//! ([`RsGroup`]) in one group exchange Welcomes, commits, proposals and
//! messages (RFC 9420 on the wire), agree on every epoch's authenticator and
//! membership, and apply the same Kaichi rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::Client;
use kaichi_groups::mlsrs::{RsGroup, RsMember, SharedDevices};
use kaichi_groups::{
    AdminPolicy, Candidate, Group, GroupEvent, MemberSigner, NewGroup, NoDevices, Outgoing,
    ProcessError,
};
use kaichi_identity::IpnsKeypair;
use openmls::prelude::LeafNodeParameters;

fn devices() -> SharedDevices {
    Arc::new(NoDevices)
}

/// A member on mls-rs.
struct RsClient {
    me: MemberSigner,
    engine: RsMember<AdminPolicy>,
    group: Option<RsGroup<AdminPolicy>>,
}

impl RsClient {
    fn new(seed: u8) -> Self {
        let me = MemberSigner::identity(IpnsKeypair::from_seed(&[seed; 32]));
        let engine = RsMember::new(&me, AdminPolicy, devices());
        Self {
            me,
            engine,
            group: None,
        }
    }

    fn group(&mut self) -> &mut RsGroup<AdminPolicy> {
        self.group.as_mut().expect("in a group")
    }

    fn join(&mut self, out: &kaichi_groups::CommitOutput) {
        self.group = Some(
            self.engine
                .join(out.welcome.as_deref().unwrap(), out.ratchet_tree.as_deref())
                .unwrap(),
        );
    }

    fn read(&mut self, bytes: &[u8]) -> String {
        match self.group().process(bytes).unwrap() {
            GroupEvent::Message { text, .. } => String::from_utf8(text).unwrap(),
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

fn auth(c: &Client) -> Vec<u8> {
    c.group.as_ref().unwrap().epoch_authenticator()
}

fn rs_auth(c: &RsClient) -> Vec<u8> {
    c.group.as_ref().unwrap().epoch_authenticator().unwrap()
}

fn commit(out: Outgoing) -> kaichi_groups::CommitOutput {
    match out {
        Outgoing::Commit(c) => c,
        other => panic!("expected a commit, got {other:?}"),
    }
}

#[test]
fn an_openmls_sequencer_runs_a_group_with_mls_rs_members() {
    let mut alice = Client::new(1);
    alice.create("mixed");
    let mut bob = RsClient::new(2);
    let kp = bob.engine.key_package().unwrap();
    let (p, me) = (&alice.provider, &alice.me);
    let out = commit(
        alice
            .group
            .as_mut()
            .unwrap()
            .add(p, me, &AdminPolicy, &NoDevices, &[Candidate::new(kp)])
            .unwrap(),
    );
    bob.join(&out);
    assert_eq!(bob.group().epoch(), 1);
    assert_eq!(bob.group().metadata(), alice.group().metadata());
    assert_eq!(bob.group().member_names(), alice.group().member_names());
    assert_eq!(rs_auth(&bob), auth(&alice));

    let m = alice.send("from openmls");
    assert_eq!(bob.read(&m), "from openmls");
    let m = bob.group().send(b"from mls-rs").unwrap();
    assert_eq!(alice.read(&m), "from mls-rs");

    // Carol (openmls) joins: Bob applies Alice's commit.
    let mut carol = Client::new(3);
    let out = alice.add(&[&carol]);
    let event = bob.group().process(&out.commit).unwrap();
    assert!(
        matches!(&event, GroupEvent::Commit { epoch: 2, added, .. } if added == &[carol.name()]),
        "{event:?}"
    );
    carol.join(&out);
    assert_eq!(rs_auth(&bob), auth(&alice));
    assert_eq!(auth(&carol), auth(&alice));

    // Bob (not the sequencer) proposes an update; Alice commits it; all agree.
    let Outgoing::Proposals(proposals) = bob.group().self_update().unwrap() else {
        panic!("a member who is not the sequencer proposes")
    };
    for p in &proposals {
        assert!(matches!(
            alice.process(p).unwrap(),
            GroupEvent::Proposal { .. }
        ));
        assert!(matches!(
            carol.process(p).unwrap(),
            GroupEvent::Proposal { .. }
        ));
    }
    let (p, me) = (&alice.provider, &alice.me);
    let out = alice
        .group
        .as_mut()
        .unwrap()
        .commit_pending(p, me, &AdminPolicy)
        .unwrap();
    bob.group().process(&out.commit).unwrap();
    carol.process(&out.commit).unwrap();
    assert_eq!(rs_auth(&bob), auth(&alice));
    assert_eq!(auth(&carol), auth(&alice));
    let m = bob.group().send(b"after my update").unwrap();
    assert_eq!(carol.read(&m), "after my update");

    // A commit from Carol, who is not the sequencer, is refused by the
    // mls-rs member as by openmls ones; nothing changes.
    let bundle = carol
        .group
        .as_mut()
        .unwrap()
        .as_mls_mut()
        .self_update(&carol.provider, &carol.me, LeafNodeParameters::default())
        .unwrap();
    let rogue = {
        use tls_codec::Serialize as _;
        bundle.commit().tls_serialize_detached().unwrap()
    };
    let epoch = bob.group().epoch();
    let err = bob.group().process(&rogue).unwrap_err();
    assert!(matches!(err, ProcessError::Policy(_)), "{err:?}");
    assert_eq!(bob.group().epoch(), epoch);
    assert!(matches!(
        alice.process(&rogue),
        Err(ProcessError::Policy(_))
    ));

    // Alice removes Bob: Carol applies it; Bob sees himself removed.
    let (p, me) = (&alice.provider, &alice.me);
    let bob_name = bob.me.name();
    let out = commit(
        alice
            .group
            .as_mut()
            .unwrap()
            .remove(p, me, &AdminPolicy, &[bob_name])
            .unwrap(),
    );
    assert!(matches!(
        bob.group().process(&out.commit).unwrap(),
        GroupEvent::RemovedSelf { .. }
    ));
    carol.process(&out.commit).unwrap();
    assert_eq!(auth(&carol), auth(&alice));
}

#[test]
fn an_mls_rs_sequencer_runs_a_group_with_openmls_members() {
    let mut dave = RsClient::new(4);
    dave.group = Some(
        dave.engine
            .create(NewGroup::named("made by mls-rs"))
            .unwrap(),
    );
    let dave_name = dave.me.name();
    assert_eq!(dave.group().metadata().sequencer, Some(dave_name));

    let mut erin = Client::new(5);
    let mut frank = Client::new(6);
    let kps = [erin.key_package(), frank.key_package()];
    let out = commit(dave.group().add(&kps.map(Candidate::new)).unwrap());
    erin.join(&out);
    frank.join(&out);
    assert_eq!(erin.group().metadata().name, "made by mls-rs");
    assert_eq!(erin.group().metadata(), dave.group().metadata());
    assert_eq!(auth(&erin), rs_auth(&dave));
    assert_eq!(auth(&frank), rs_auth(&dave));

    let m = dave.group().send(b"hello from mls-rs").unwrap();
    assert_eq!(erin.read(&m), "hello from mls-rs");
    assert_eq!(frank.read(&m), "hello from mls-rs");
    let m = erin.send("hello from openmls");
    assert_eq!(dave.read(&m), "hello from openmls");

    // Erin proposes removing herself? No: Frank proposes an update, the
    // mls-rs sequencer commits it, everyone follows.
    let (p, me) = (&frank.provider, &frank.me);
    let Outgoing::Proposals(proposals) = frank.group.as_mut().unwrap().self_update(p, me).unwrap()
    else {
        panic!("Frank is not the sequencer")
    };
    for p in &proposals {
        assert!(matches!(
            dave.group().process(p).unwrap(),
            GroupEvent::Proposal { .. }
        ));
        erin.process(p).unwrap();
    }
    let out = dave.group().commit_pending().unwrap();
    erin.process(&out.commit).unwrap();
    frank.process(&out.commit).unwrap();
    assert_eq!(auth(&erin), rs_auth(&dave));
    assert_eq!(auth(&frank), rs_auth(&dave));

    // The mls-rs sequencer removes Frank; Erin applies it.
    let out = commit(dave.group().remove(&[frank.name()]).unwrap());
    let event = erin.process(&out.commit).unwrap();
    assert!(
        matches!(&event, GroupEvent::Commit { removed, .. } if removed == &[frank.name()]),
        "{event:?}"
    );
    assert!(matches!(
        frank.process(&out.commit).unwrap(),
        GroupEvent::RemovedSelf { .. }
    ));
    assert_eq!(auth(&erin), rs_auth(&dave));
    assert_eq!(dave.group().member_names(), erin.group().member_names());
}

#[test]
fn mls_rs_refuses_a_welcome_whose_member_credential_does_not_bind() {
    // An openmls group whose creator's leaf names someone else's identity.
    let liar = Client::new(7);
    let victim = IpnsKeypair::from_seed(&[8; 32]).name();
    let credential = openmls::prelude::CredentialWithKey {
        credential: openmls::prelude::BasicCredential::new(victim.to_string().into_bytes()).into(),
        signature_key: liar.me.public_key().to_vec().into(),
    };
    let mut group = openmls::prelude::MlsGroup::builder()
        .with_group_id(openmls::prelude::GroupId::from_slice(&[3; 32]))
        .ciphersuite(kaichi_groups::CIPHERSUITE)
        .with_wire_format_policy(openmls::prelude::PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .build(&liar.provider, &liar.me, credential)
        .unwrap();
    let bob = RsClient::new(9);
    let kp = bob.engine.key_package().unwrap();
    let kp = {
        use tls_codec::Deserialize as _;
        let openmls::prelude::MlsMessageBodyIn::KeyPackage(kp) =
            openmls::prelude::MlsMessageIn::tls_deserialize_exact(&kp)
                .unwrap()
                .extract()
        else {
            panic!()
        };
        use openmls_traits::OpenMlsProvider as _;
        kp.validate(
            liar.provider.crypto(),
            openmls::prelude::ProtocolVersion::Mls10,
        )
        .unwrap()
    };
    let (_, welcome, _) = group.add_members(&liar.provider, &liar.me, &[kp]).unwrap();
    group.merge_pending_commit(&liar.provider).unwrap();
    use tls_codec::Serialize as _;
    let welcome = welcome.tls_serialize_detached().unwrap();
    let tree = group
        .export_ratchet_tree()
        .tls_serialize_detached()
        .unwrap();
    let err = bob.engine.join(&welcome, Some(&tree)).unwrap_err();
    assert!(
        matches!(err, kaichi_groups::JoinError::Credential { .. }),
        "{err:?}"
    );
    let _ = Group::load(&liar.provider, &kaichi_groups::GroupId::from_bytes([3; 32]));
}
