//! What Kaichi's patches to mls-rs (`third_party/mls-rs`, see its
//! `KAICHI.md`) must keep as it was, through mls-rs' own API: a processed
//! commit still reports the prior epoch's state (its tree is moved in, not
//! cloned), trees shared node by node between epochs stay independent, and
//! every member computes the same tree (the tree hash, computed once per
//! node and shared by chunks between epochs, is checked at each join and
//! each commit), and the tree index, shared between epochs with each
//! epoch's changes beside it, finds and refuses what it did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mls_rs::client_builder::MlsConfig;
use mls_rs::crypto::SignatureSecretKey;
use mls_rs::group::{CommitEffect, ReceivedMessage};
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules};
use mls_rs::{CipherSuite, CipherSuiteProvider, Client, CryptoProvider, ExtensionList, MlsMessage};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;

const SUITE: CipherSuite = CipherSuite::CURVE25519_AES128;

fn client(name: &str) -> Client<impl MlsConfig> {
    let provider = RustCryptoProvider::default();
    let cs = provider
        .cipher_suite_provider(SUITE)
        .expect("the ciphersuite is supported");
    let (secret, public): (SignatureSecretKey, _) =
        cs.signature_key_generate().expect("a signature key");
    let identity = SigningIdentity::new(
        BasicCredential::new(name.as_bytes().to_vec()).into_credential(),
        public,
    );
    Client::builder()
        .crypto_provider(provider)
        .identity_provider(BasicIdentityProvider::new())
        .mls_rules(
            DefaultMlsRules::new()
                .with_commit_options(CommitOptions::new().with_ratchet_tree_extension(true)),
        )
        .signing_identity(identity, secret, SUITE)
        .build()
}

fn key_package(c: &Client<impl MlsConfig>) -> MlsMessage {
    c.generate_key_package_message(ExtensionList::new(), ExtensionList::new(), None)
        .expect("a KeyPackage")
}

/// `$a` and `$b` have the same tree and epoch authenticator.
macro_rules! assert_same_epoch {
    ($a:expr, $b:expr) => {{
        assert_eq!(
            $a.export_tree().to_bytes().unwrap(),
            $b.export_tree().to_bytes().unwrap()
        );
        assert_eq!(
            $a.epoch_authenticator().unwrap().as_bytes(),
            $b.epoch_authenticator().unwrap().as_bytes()
        );
    }};
}

#[test]
fn commits_report_the_prior_epoch_and_every_member_agrees_on_the_tree() {
    let (a, b, c) = (client("alice"), client("bob"), client("carol"));
    let mut alice = a
        .create_group(ExtensionList::new(), ExtensionList::new(), None)
        .unwrap();
    let out = alice
        .commit_builder()
        .add_member(key_package(&b))
        .unwrap()
        .add_member(key_package(&c))
        .unwrap()
        .build()
        .unwrap();
    alice.apply_pending_commit().unwrap();
    let welcome = &out.welcome_messages()[0];
    let (mut bob, _) = b.join_group(None, welcome, None).unwrap();
    let (mut carol, _) = c.join_group(None, welcome, None).unwrap();
    let carol_leaf = carol.current_member_index();

    // Alice removes Carol; Bob processes the commit.
    let remove = alice
        .commit_builder()
        .remove_member(carol_leaf)
        .unwrap()
        .build()
        .unwrap();
    alice.apply_pending_commit().unwrap();
    let epoch_before = bob.current_epoch();
    let processed = bob
        .process_incoming_message(remove.commit_message().clone())
        .unwrap();
    let ReceivedMessage::Commit(description) = processed else {
        panic!("not a commit: {processed:?}")
    };
    let CommitEffect::NewEpoch(new_epoch) = description.effect else {
        panic!("not a new epoch")
    };
    // The prior state is the epoch before, with Carol still in its tree.
    let prior = new_epoch.prior_state();
    assert_eq!(prior.context().epoch, epoch_before);
    assert!(prior.member_at_index(carol_leaf).is_some());
    assert_eq!(prior.roster().members().len(), 3);
    // The new tree no longer has her; the old one kept its nodes.
    assert!(bob.member_at_index(carol_leaf).is_none());
    assert_eq!(bob.roster().members().len(), 2);
    assert_same_epoch!(bob, alice);

    // Carol, removed, learns it and keeps her own (prior) view.
    let carol_sees = carol
        .process_incoming_message(remove.commit_message().clone())
        .unwrap();
    let ReceivedMessage::Commit(d) = carol_sees else {
        panic!("not a commit")
    };
    let CommitEffect::Removed { new_epoch, .. } = d.effect else {
        panic!("Carol was not told she was removed")
    };
    assert_eq!(new_epoch.prior_state().roster().members().len(), 3);

    // A self-update changes Alice's leaf in every copy of the tree that
    // moves on, and in none that does not: Bob's state from before is
    // unchanged by Alice's next commit until he processes it.
    let tree_before = bob.export_tree().to_bytes().unwrap();
    let update = alice.commit_builder().build().unwrap();
    alice.apply_pending_commit().unwrap();
    assert_eq!(bob.export_tree().to_bytes().unwrap(), tree_before);
    bob.process_incoming_message(update.commit_message().clone())
        .unwrap();
    let tree_after = bob.export_tree().to_bytes().unwrap();
    assert_ne!(tree_after, tree_before);
    assert_eq!(tree_after, alice.export_tree().to_bytes().unwrap());

    // A late joiner checks the whole tree's hash against the GroupInfo.
    let d = client("dave");
    let add = alice
        .commit_builder()
        .add_member(key_package(&d))
        .unwrap()
        .build()
        .unwrap();
    alice.apply_pending_commit().unwrap();
    bob.process_incoming_message(add.commit_message().clone())
        .unwrap();
    let (dave, _) = d
        .join_group(None, &add.welcome_messages()[0], None)
        .unwrap();
    assert_eq!(
        dave.epoch_authenticator().unwrap().as_bytes(),
        bob.epoch_authenticator().unwrap().as_bytes()
    );
}

/// Alice's group with Bob in it: `(alice, Bob's client, bob)`.
macro_rules! alice_and_bob {
    () => {{
        let (a, b) = (client("alice"), client("bob"));
        let mut alice = a
            .create_group(ExtensionList::new(), ExtensionList::new(), None)
            .unwrap();
        let out = alice
            .commit_builder()
            .add_member(key_package(&b))
            .unwrap()
            .build()
            .unwrap();
        alice.apply_pending_commit().unwrap();
        let (bob, _) = b
            .join_group(None, &out.welcome_messages()[0], None)
            .unwrap();
        (alice, b, bob)
    }};
}

#[test]
fn a_refused_commit_leaves_the_shared_tree_as_it_was() {
    let (mut alice, _, mut bob) = alice_and_bob!();
    let tree = bob.export_tree().to_bytes().unwrap();
    let epoch = bob.current_epoch();

    // A self-update whose bytes are damaged after signing: refused.
    let update = alice.commit_builder().build().unwrap();
    let mut bytes = update.commit_message().to_bytes().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let damaged = MlsMessage::from_bytes(&bytes).unwrap();
    assert!(bob.process_incoming_message(damaged).is_err());
    assert_eq!(bob.current_epoch(), epoch);
    assert_eq!(bob.export_tree().to_bytes().unwrap(), tree);

    // The intact commit still applies afterwards.
    alice.apply_pending_commit().unwrap();
    bob.process_incoming_message(update.commit_message().clone())
        .unwrap();
    assert_eq!(
        bob.export_tree().to_bytes().unwrap(),
        alice.export_tree().to_bytes().unwrap()
    );
}

#[test]
fn a_state_stored_without_its_tree_loads_with_that_tree_only() {
    let (mut alice, b, mut bob) = alice_and_bob!();
    let old_tree = alice.export_tree().to_bytes().unwrap();
    let update = alice.commit_builder().build().unwrap();
    alice.apply_pending_commit().unwrap();
    bob.process_incoming_message(update.commit_message().clone())
        .unwrap();
    bob.write_to_storage_without_ratchet_tree().unwrap();
    let tree = bob.export_tree().to_bytes().unwrap();
    let id = bob.group_id().to_vec();

    // With the epoch's tree: the same group (its index and tree hashes
    // rebuilt), which still follows Alice's commits.
    let mut loaded = b
        .load_group_with_ratchet_tree(&id, mls_rs::group::ExportedTree::from_bytes(&tree).unwrap())
        .unwrap();
    assert_eq!(loaded.current_epoch(), bob.current_epoch());
    assert_eq!(loaded.roster().members().len(), 2);
    let next = alice.commit_builder().build().unwrap();
    alice.apply_pending_commit().unwrap();
    loaded
        .process_incoming_message(next.commit_message().clone())
        .unwrap();
    assert_eq!(
        loaded.epoch_authenticator().unwrap().as_bytes(),
        alice.epoch_authenticator().unwrap().as_bytes()
    );

    // With another epoch's tree: refused, not loaded wrong.
    let wrong = b.load_group_with_ratchet_tree(
        &id,
        mls_rs::group::ExportedTree::from_bytes(&old_tree).unwrap(),
    );
    assert!(wrong.is_err());
}

/// The commit `$builder` builds, applied by Alice and processed by Bob.
macro_rules! commit_and_process {
    ($alice:expr, $bob:expr, $builder:expr) => {{
        let out = $builder.build().unwrap();
        $alice.apply_pending_commit().unwrap();
        $bob.process_incoming_message(out.commit_message().clone())
            .unwrap();
        out
    }};
}

#[test]
fn the_tree_index_shared_between_epochs_finds_and_refuses_what_it_did() {
    let (mut alice, b, mut bob) = alice_and_bob!();
    let id = bob.group_id().to_vec();
    // 40 rounds of: a member added, a second client with the same identity
    // refused, the member before removed in a commit that also changes
    // Alice's HPKE key. The index's changes outgrow what is kept beside the
    // shared maps several times (they are folded in), and Bob's state is
    // stored and reloaded (the index encoded and decoded) along the way.
    for round in 0..40usize {
        let name = format!("m{round}");
        let c = client(&name);
        commit_and_process!(
            alice,
            bob,
            alice.commit_builder().add_member(key_package(&c)).unwrap()
        );
        let twin = client(&name);
        let refused = alice
            .commit_builder()
            .add_member(key_package(&twin))
            .and_then(|builder| builder.build());
        assert!(
            refused.is_err(),
            "round {round}: a second {name} was let in"
        );
        let at_alice = alice.member_with_identity(name.as_bytes()).unwrap();
        let at_bob = bob.member_with_identity(name.as_bytes()).unwrap();
        assert_eq!(at_alice.index, at_bob.index);
        if round > 0 {
            let before = format!("m{}", round - 1);
            let leaf = alice.member_with_identity(before.as_bytes()).unwrap().index;
            commit_and_process!(
                alice,
                bob,
                alice.commit_builder().remove_member(leaf).unwrap()
            );
            assert!(alice.member_with_identity(before.as_bytes()).is_err());
            assert!(bob.member_with_identity(before.as_bytes()).is_err());
        }
        assert_eq!(bob.roster().members().len(), 3);
        if round % 10 == 9 {
            bob.write_to_storage().unwrap();
            bob = b.load_group(&id).unwrap();
            assert!(bob.member_with_identity(name.as_bytes()).is_ok());
            assert!(bob.member_with_identity(b"m0").is_err());
        }
        assert_same_epoch!(bob, alice);
    }
    // 70 members added in one commit, then removed in one: more changes
    // than are kept beside the shared maps, so they are folded into a copy.
    let names: Vec<String> = (0..70).map(|i| format!("bulk{i}")).collect();
    for round in 0..2 {
        let mut add = alice.commit_builder();
        for name in &names {
            add = add.add_member(key_package(&client(name))).unwrap();
        }
        commit_and_process!(alice, bob, add);
        assert_eq!(bob.roster().members().len(), 73, "round {round}");
        let leaves: Vec<u32> = names
            .iter()
            .map(|name| {
                let leaf = bob.member_with_identity(name.as_bytes()).unwrap().index;
                assert_eq!(
                    alice.member_with_identity(name.as_bytes()).unwrap().index,
                    leaf
                );
                leaf
            })
            .collect();
        let mut remove = alice.commit_builder();
        for leaf in leaves {
            remove = remove.remove_member(leaf).unwrap();
        }
        commit_and_process!(alice, bob, remove);
        for name in &names {
            assert!(alice.member_with_identity(name.as_bytes()).is_err());
            assert!(bob.member_with_identity(name.as_bytes()).is_err());
        }
    }
    // A removed identity may come back, once.
    let back = client("m3");
    commit_and_process!(
        alice,
        bob,
        alice
            .commit_builder()
            .add_member(key_package(&back))
            .unwrap()
    );
    assert!(bob.member_with_identity(b"m3").is_ok());
    let again = alice
        .commit_builder()
        .add_member(key_package(&client("m3")))
        .and_then(|builder| builder.build());
    assert!(again.is_err());
}

#[test]
fn a_late_message_is_read_with_the_prior_epochs_keys_before_and_after_a_reload() {
    let (mut alice, b, mut bob) = alice_and_bob!();
    let id = bob.group_id().to_vec();
    for reload in [false, true] {
        // Sent in this epoch, read in the next: its sender's key comes from
        // the epoch kept when Alice's self-update ended it (shared with that
        // epoch's tree, or read back from storage).
        let late = alice
            .encrypt_application_message(b"late", Vec::new())
            .unwrap();
        commit_and_process!(alice, bob, alice.commit_builder());
        if reload {
            bob.write_to_storage().unwrap();
            bob = b.load_group(&id).unwrap();
        }
        let ReceivedMessage::ApplicationMessage(m) = bob.process_incoming_message(late).unwrap()
        else {
            panic!("not an application message")
        };
        assert_eq!(m.data(), b"late");
        assert_eq!(m.sender_index, alice.current_member_index());
    }
}

/// A self-update commit of Alice's (a PublicMessage, so its update path is
/// in the clear) in a group of eight just created: its path nodes carry
/// several ciphertexts each.
fn public_commit_with_ciphertexts() -> Vec<u8> {
    let a = client("alice");
    let mut alice = a
        .create_group(ExtensionList::new(), ExtensionList::new(), None)
        .unwrap();
    let mut add = alice.commit_builder();
    for i in 0..7 {
        add = add
            .add_member(key_package(&client(&format!("member{i}"))))
            .unwrap();
    }
    add.build().unwrap();
    alice.apply_pending_commit().unwrap();
    let update = alice.commit_builder().build().unwrap();
    assert_eq!(
        update.commit_message().wire_format(),
        mls_rs::WireFormat::PublicMessage
    );
    update.commit_message().to_bytes().unwrap()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// A commit's update path ciphertexts, kept encoded, are read as the
    /// list of ciphertexts was (debug assertions in the patch decode each
    /// list both ways and fail on any difference), and whatever decodes
    /// encodes to the same bytes.
    #[test]
    fn update_path_ciphertexts_are_read_as_the_list_was(
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()),
            0..4,
        ),
        cut in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
    ) {
        static COMMIT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        let mut bytes = COMMIT.get_or_init(public_commit_with_ciphertexts).clone();
        // The update path is in the second half (after the leaf node).
        let half = bytes.len() / 2;
        for (at, byte) in edits {
            let at = half + at.index(bytes.len() - half);
            bytes[at] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(half + cut.index(bytes.len() - half));
        }
        if let Ok(message) = MlsMessage::from_bytes(&bytes) {
            proptest::prop_assert_eq!(message.to_bytes().unwrap(), bytes);
        }
    }
}

/// The `rs_message_process` fuzz target's seeds: messages of a Kaichi group
/// on the mls-rs engine (an application message, a self-update commit, an
/// add) and a PublicMessage commit whose update path carries several
/// ciphertexts per node (its path is read before any key is needed).
fn rs_message_process_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use kaichi_groups::mlsrs::RsMember;
    use kaichi_groups::{AdminPolicy, Candidate, MemberSigner, NewGroup, NoDevices, Outgoing};
    let member = |seed: u8| {
        let me = MemberSigner::identity(kaichi_identity::IpnsKeypair::from_seed(&[seed; 32]));
        RsMember::new(&me, AdminPolicy, std::sync::Arc::new(NoDevices))
    };
    let (a, b, c) = (member(1), member(2), member(3));
    let mut alice = a.create(NewGroup::named("fuzz")).unwrap();
    let Outgoing::Commit(add) = alice
        .add(&[Candidate::new(b.key_package().unwrap())])
        .unwrap()
    else {
        panic!("not a commit")
    };
    let app = alice.send(b"hello").unwrap();
    let Outgoing::Commit(update) = alice.self_update().unwrap() else {
        panic!("not a commit")
    };
    let Outgoing::Commit(add_carol) = alice
        .add(&[Candidate::new(c.key_package().unwrap())])
        .unwrap()
    else {
        panic!("not a commit")
    };
    vec![
        ("add", add.commit),
        ("application", app),
        ("self-update", update.commit),
        ("add-2", add_carol.commit),
        ("public-commit-path", public_commit_with_ciphertexts()),
    ]
}

#[test]
#[ignore = "writes fuzz/seeds; run on purpose to regenerate"]
fn write_rs_message_process_seeds() {
    for (name, bytes) in rs_message_process_seeds() {
        kaichi_test_support::seeds::write("rs_message_process", name, &bytes);
    }
}

#[test]
fn committed_rs_message_process_seeds_are_messages() {
    let seeds = kaichi_test_support::seeds::read_all("rs_message_process");
    assert_eq!(seeds.len(), 5);
    for (name, bytes) in seeds {
        let message = MlsMessage::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(message.to_bytes().unwrap(), bytes, "{name}");
    }
}
