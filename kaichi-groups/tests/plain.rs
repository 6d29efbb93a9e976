//! Plain RFC 9420 groups: a group another MLS client created without Kaichi
//! metadata (here openmls driven directly, as a foreign client would) is
//! joined with the documented defaults; any member may add and remove;
//! credential rules still apply; group ids must be 32 bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Client;
use kaichi_groups::{
    AdminPolicy, Candidate, Group, GroupEvent, GroupMetadata, JoinError, NoDevices, Outgoing,
};
use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, GroupId, KeyPackageIn, LeafNodeIndex,
    MlsGroup, MlsGroupCreateConfig, MlsMessageBodyIn, MlsMessageIn,
    PURE_CIPHERTEXT_WIRE_FORMAT_POLICY, ProcessedMessageContent, ProtocolMessage, ProtocolVersion,
};
use openmls_traits::OpenMlsProvider as _;
use tls_codec::{Deserialize as _, Serialize as _};

/// A foreign member: openmls with no Kaichi code around it.
struct Foreign {
    client: Client,
    group: MlsGroup,
}

impl Foreign {
    /// Creates a plain group (no group context extensions) with id `id`.
    fn create(seed: u8, id: &[u8]) -> Self {
        let client = Client::new(seed);
        let credential = CredentialWithKey {
            credential: BasicCredential::new(client.name().to_string().into_bytes()).into(),
            signature_key: client.me.public_key().to_vec().into(),
        };
        let config = MlsGroupCreateConfig::builder()
            .ciphersuite(Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
            .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .build();
        let group = MlsGroup::new_with_group_id(
            &client.provider,
            &client.me,
            &config,
            GroupId::from_slice(id),
            credential,
        )
        .unwrap();
        Self { client, group }
    }

    /// Adds the owner of `kp`; returns (commit, Welcome, ratchet tree).
    fn add(&mut self, kp: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let MlsMessageBodyIn::KeyPackage(kp) =
            MlsMessageIn::tls_deserialize_exact(kp).unwrap().extract()
        else {
            panic!("not a KeyPackage")
        };
        let kp = KeyPackageIn::validate(kp, self.client.provider.crypto(), ProtocolVersion::Mls10)
            .unwrap();
        let (commit, welcome, _) = self
            .group
            .add_members(&self.client.provider, &self.client.me, &[kp])
            .unwrap();
        self.group
            .merge_pending_commit(&self.client.provider)
            .unwrap();
        (
            commit.tls_serialize_detached().unwrap(),
            welcome.tls_serialize_detached().unwrap(),
            self.group
                .export_ratchet_tree()
                .tls_serialize_detached()
                .unwrap(),
        )
    }

    /// Removes the member at `leaf`; returns the commit.
    fn remove(&mut self, leaf: u32) -> Vec<u8> {
        let (commit, _, _) = self
            .group
            .remove_members(
                &self.client.provider,
                &self.client.me,
                &[LeafNodeIndex::new(leaf)],
            )
            .unwrap();
        self.group
            .merge_pending_commit(&self.client.provider)
            .unwrap();
        commit.tls_serialize_detached().unwrap()
    }

    /// Applies a commit from someone else.
    fn apply(&mut self, commit: &[u8]) {
        let message: ProtocolMessage = MlsMessageIn::tls_deserialize_exact(commit)
            .unwrap()
            .try_into_protocol_message()
            .unwrap();
        let processed = self
            .group
            .process_message(&self.client.provider, message)
            .unwrap();
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            panic!("not a commit")
        };
        self.group
            .merge_staged_commit(&self.client.provider, *staged)
            .unwrap();
    }
}

fn commit_of(out: Outgoing) -> kaichi_groups::CommitOutput {
    match out {
        Outgoing::Commit(c) => c,
        _ => panic!("a member of a plain group commits directly"),
    }
}

#[test]
fn a_plain_group_is_joined_with_defaults_and_any_member_adds_and_removes() {
    let id = [7u8; 32];
    let mut carol = Foreign::create(3, &id);
    let mut alice = Client::new(1);
    let (_, welcome, tree) = carol.add(&alice.key_package());
    alice.group = Some(Group::join(&alice.provider, &welcome, Some(&tree), &NoDevices).unwrap());
    let group = alice.group.as_ref().unwrap();
    let expected = GroupMetadata::plain(&kaichi_groups::GroupId::from_bytes(id));
    assert_eq!(group.metadata(), &expected);
    assert_eq!(expected.name, "group 07070707");
    assert!(group.metadata().is_plain() && group.metadata().sequencer.is_none());
    assert!(!group.is_sequencer(&alice.me) && group.commits_directly(&alice.me));

    // Alice (not the creator, no admin) adds Bob with a commit of her own.
    let mut bob = Client::new(2);
    let kp = bob.key_package();
    let out = alice
        .group
        .as_mut()
        .unwrap()
        .add(
            &alice.provider,
            &alice.me,
            &AdminPolicy,
            &NoDevices,
            &[Candidate::new(kp)],
        )
        .unwrap();
    let out = commit_of(out);
    carol.apply(&out.commit);
    bob.join(&out);
    assert_eq!(carol.group.epoch().as_u64(), 2);
    assert_eq!(bob.group().epoch(), 2);
    assert_eq!(bob.group().metadata(), &expected);

    // Carol removes Bob (leaf 2): Alice, no admin rule in the way, applies it.
    let removal = carol.remove(2);
    let event = alice
        .group
        .as_mut()
        .unwrap()
        .process(&alice.provider, &AdminPolicy, &NoDevices, &removal)
        .unwrap();
    assert!(
        matches!(event, GroupEvent::Commit { epoch: 3, .. }),
        "{event:?}"
    );
    assert_eq!(alice.group().member_names().len(), 2);
    assert!(!alice.group().is_member(&bob.name()));
}

#[test]
fn a_welcome_to_a_group_whose_id_is_not_32_bytes_is_refused() {
    let mut carol = Foreign::create(3, &[9u8; 16]);
    let alice = Client::new(1);
    let (_, welcome, tree) = carol.add(&alice.key_package());
    let err = Group::join(&alice.provider, &welcome, Some(&tree), &NoDevices).unwrap_err();
    assert!(matches!(err, JoinError::GroupIdLength(16)), "{err:?}");
}

#[test]
fn a_plain_group_whose_member_credential_does_not_bind_is_refused() {
    // Carol's leaf names Dave's identity but is signed with Carol's key.
    let id = [5u8; 32];
    let mut carol = Foreign::create(3, &id);
    let dave = Client::new(4);
    let alice = Client::new(1);
    // Rebuild Carol's group with a lying credential.
    let credential = CredentialWithKey {
        credential: BasicCredential::new(dave.name().to_string().into_bytes()).into(),
        signature_key: carol.client.me.public_key().to_vec().into(),
    };
    carol.group = MlsGroup::new_with_group_id(
        &carol.client.provider,
        &carol.client.me,
        &MlsGroupCreateConfig::builder()
            .ciphersuite(Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)
            .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .build(),
        GroupId::from_slice(&[6u8; 32]),
        credential,
    )
    .unwrap();
    let (_, welcome, tree) = carol.add(&alice.key_package());
    let err = Group::join(&alice.provider, &welcome, Some(&tree), &NoDevices).unwrap_err();
    assert!(
        matches!(err, JoinError::Credential { leaf: 0, .. }),
        "{err:?}"
    );
}
