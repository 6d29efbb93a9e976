//! The MLS interop test vectors (github.com/mlswg/mls-implementations, as
//! published inside the `openmls` 0.5.0 crate on crates.io: downloaded by
//! this test, checked against the registry's SHA-256, cached under the
//! target directory) run through the parts of kaichi-groups that touch them:
//!
//! - `messages.json`: every `MLSMessage` goes through [`message_info`] (the
//!   clear header the group logs order by) and the header is checked against
//!   a by-hand RFC 9420 parse; Welcomes and KeyPackages go through
//!   [`Group::join`] and [`parse_key_package`], which refuse them with typed
//!   errors (no matching KeyPackage; a credential that is not an IPNS name).
//! - `passive-client-*.json` (ciphersuite 0x0001): a passive member joins
//!   and follows every epoch with its state in Kaichi's SQLite
//!   [`GroupDatabase`], reloaded from the database before every message;
//!   the epoch authenticators must match the vectors'. The same vectors
//!   run through mls-rs (the second engine) with its state in Kaichi's
//!   `RsStore`, reloaded before every message; mls-rs takes the clock as a
//!   parameter, so that run needs no faketime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kaichi_test_support::hex::{decode as unhex, encode as hex};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use kaichi_groups::openmls::prelude::*;
use kaichi_groups::openmls::schedule::{ExternalPsk, PreSharedKeyId, Psk};
use kaichi_groups::{
    GroupDatabase, JoinError, KeyPackageError, MemoryProvider, MessageInfoError, MessageKind,
    NoDevices, message_info, parse_key_package,
};
use openmls_traits::OpenMlsProvider;
use openmls_traits::storage::{CURRENT_VERSION, Entity, Key, StorageProvider as _, traits};
use openmls_traits::types::HpkePrivateKey;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use tls_codec::Deserialize as _;

const CRATE_URL: &str = "https://static.crates.io/crates/openmls/openmls-0.5.0.crate";
/// The `cksum` crates.io's index lists for openmls 0.5.0.
const CRATE_SHA256: &str = "95d4a03899704c17e7b280676a3301216faccf9b19eb860968f84a492aef944b";

/// The directory holding the vectors, downloaded once per target directory.
static VECTORS: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mls-test-vectors-openmls-0.5.0");
    if dir.join("test_vectors/messages.json").exists() {
        return dir;
    }
    // Per process: test runners may run several of these processes at once.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let archive = tmp.join(format!("openmls-0.5.0-{}.crate", std::process::id()));
    let status = Command::new("curl")
        .args(["-sSfL", "--retry", "3", "-o"])
        .arg(&archive)
        .arg(CRATE_URL)
        .status()
        .expect("curl runs");
    assert!(status.success(), "downloading {CRATE_URL} failed");
    let bytes = std::fs::read(&archive).unwrap();
    assert_eq!(
        hex(&sha2::Sha256::digest(&bytes)),
        CRATE_SHA256,
        "the crate is not the one crates.io lists"
    );
    let staging = tmp.join(format!("openmls-0.5.0-{}.partial", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&staging)
        .args(["--strip-components=1", "openmls-0.5.0/test_vectors"])
        .status()
        .expect("tar runs");
    assert!(status.success(), "unpacking the crate failed");
    let _ = std::fs::remove_file(&archive);
    if std::fs::rename(&staging, &dir).is_err() {
        // Another process got there first.
        let _ = std::fs::remove_dir_all(&staging);
        assert!(dir.join("test_vectors/messages.json").exists());
    }
    dir
});

fn read<T: for<'de> Deserialize<'de>>(file: &str) -> T {
    let path = VECTORS.join("test_vectors").join(file);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

mod hex_serde {
    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: String = serde::Deserialize::deserialize(d)?;
        Ok(super::unhex(&s))
    }
}

#[derive(Deserialize)]
struct Messages {
    #[serde(with = "hex_serde")]
    mls_welcome: Vec<u8>,
    #[serde(with = "hex_serde")]
    mls_group_info: Vec<u8>,
    #[serde(with = "hex_serde")]
    mls_key_package: Vec<u8>,
    #[serde(with = "hex_serde")]
    public_message_application: Vec<u8>,
    #[serde(with = "hex_serde")]
    public_message_proposal: Vec<u8>,
    #[serde(with = "hex_serde")]
    public_message_commit: Vec<u8>,
    #[serde(with = "hex_serde")]
    private_message: Vec<u8>,
}

/// RFC 9420 §2.1.2 variable-length integer; returns (value, bytes read).
fn varint(b: &[u8]) -> (usize, usize) {
    let len = 1usize << (b[0] >> 6);
    let mut v = usize::from(b[0] & 0x3f);
    for byte in &b[1..len] {
        v = (v << 8) | usize::from(*byte);
    }
    (v, len)
}

/// The clear header of a PublicMessage or PrivateMessage, parsed by hand:
/// version(2) wire_format(2) group_id<V> epoch(8); then, for a
/// PrivateMessage, authenticated_data<V> and content_type(1); for a
/// PublicMessage, sender and authenticated_data precede content_type.
fn header(m: &[u8]) -> (Vec<u8>, u64) {
    let (len, n) = varint(&m[4..]);
    let group = m[4 + n..4 + n + len].to_vec();
    let at = 4 + n + len;
    let epoch = u64::from_be_bytes(m[at..at + 8].try_into().unwrap());
    (group, epoch)
}

#[test]
fn messages_vectors_through_the_wire_parser() {
    let vectors: Vec<Messages> = read("messages.json");
    assert!(vectors.len() >= 100, "{} vectors", vectors.len());
    let p = MemoryProvider::default();
    let (mut headers, mut keypackages) = (0, 0);
    for v in &vectors {
        for (bytes, kind) in [
            (&v.public_message_application, MessageKind::Application),
            (&v.public_message_proposal, MessageKind::Proposal),
            (&v.public_message_commit, MessageKind::Commit),
            (&v.private_message, MessageKind::Application),
        ] {
            let (group, epoch) = header(bytes);
            match message_info(bytes) {
                // Kaichi's group ids are 32 bytes; the vectors' are not.
                Err(MessageInfoError::GroupId) => assert_ne!(group.len(), 32),
                Ok(info) => {
                    assert_eq!(info.group.as_bytes().as_slice(), group.as_slice());
                    assert_eq!(info.epoch, epoch);
                    // A PrivateMessage hides its content type; only its
                    // header says which (application here).
                    if bytes[3] == 1 {
                        assert_eq!(info.kind, kind);
                    }
                }
                Err(e) => panic!("{e} for a valid group message"),
            }
            headers += 1;
        }
        for bytes in [&v.mls_welcome, &v.mls_group_info, &v.mls_key_package] {
            assert_eq!(message_info(bytes), Err(MessageInfoError::NotAGroupMessage));
        }
        // A valid Welcome for a KeyPackage this member does not hold.
        assert!(matches!(
            kaichi_groups::Group::join(&p, &v.mls_welcome, None, &NoDevices),
            Err(JoinError::Mls(_))
        ));
        // A KeyPackage of another suite, expired (these date from 2023),
        // or whose credential is not an IPNS name: refused, typed.
        let suite = u16::from_be_bytes([v.mls_key_package[6], v.mls_key_package[7]]);
        match parse_key_package(&p, &v.mls_key_package, &NoDevices) {
            Err(KeyPackageError::Credential(_)) if suite == 1 => {}
            Err(KeyPackageError::Invalid(e)) if suite != 1 || e.detail().contains("Lifetime") => {}
            Err(KeyPackageError::WrongCiphersuite(s)) if s == suite && suite != 1 => {}
            other => panic!("suite {suite}: {other:?}"),
        }
        keypackages += 1;
    }
    assert_eq!(headers, vectors.len() * 4);
    assert_eq!(keypackages, vectors.len());
}

#[derive(Deserialize)]
struct PassiveClient {
    cipher_suite: u16,
    external_psks: Vec<VectorPsk>,
    #[serde(with = "hex_serde")]
    key_package: Vec<u8>,
    #[serde(with = "hex_serde")]
    encryption_priv: Vec<u8>,
    #[serde(with = "hex_serde")]
    init_priv: Vec<u8>,
    #[serde(with = "hex_serde")]
    signature_priv: Vec<u8>,
    #[serde(with = "hex_serde")]
    welcome: Vec<u8>,
    ratchet_tree: Option<String>,
    #[serde(with = "hex_serde")]
    initial_epoch_authenticator: Vec<u8>,
    epochs: Vec<Epoch>,
}

#[derive(Deserialize)]
struct VectorPsk {
    #[serde(with = "hex_serde")]
    psk_id: Vec<u8>,
    #[serde(with = "hex_serde")]
    psk: Vec<u8>,
}

#[derive(Deserialize)]
struct Epoch {
    proposals: Vec<String>,
    #[serde(with = "hex_serde")]
    commit: Vec<u8>,
    #[serde(with = "hex_serde")]
    epoch_authenticator: Vec<u8>,
}

// The vectors hand over a KeyPackage's private keys; openmls keeps its
// bundle type's constructor private, so these mirror its stored form
// (`KeyPackageBundle`, `EncryptionKeyPair`) to put them in the database.
#[derive(Serialize, Deserialize)]
struct PrivateKey {
    key: HpkePrivateKey,
}
#[derive(Serialize, Deserialize)]
struct PublicKey {
    key: HpkePublicKey,
}
#[derive(Serialize, Deserialize)]
struct Bundle {
    key_package: KeyPackage,
    private_init_key: HpkePrivateKey,
    private_encryption_key: PrivateKey,
}
#[derive(Serialize, Deserialize)]
struct KeyPair {
    public_key: PublicKey,
    private_key: PrivateKey,
}
impl Entity<CURRENT_VERSION> for Bundle {}
impl traits::KeyPackage<CURRENT_VERSION> for Bundle {}
impl Entity<CURRENT_VERSION> for KeyPair {}
impl traits::HpkeKeyPair<CURRENT_VERSION> for KeyPair {}
impl Key<CURRENT_VERSION> for PublicKey {}
impl traits::EncryptionKey<CURRENT_VERSION> for PublicKey {}

fn join_config() -> MlsGroupJoinConfig {
    // As the vectors were made: handshakes in the clear or encrypted.
    MlsGroupJoinConfig::builder()
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .number_of_resumption_psks(16)
        .build()
}

/// Runs one passive-client vector with the state in `db`; reloads the group
/// from the database before every message.
fn passive_client(v: &PassiveClient, db: &GroupDatabase) -> Result<usize, String> {
    let p = db.provider();
    let MlsMessageBodyIn::KeyPackage(kp) = MlsMessageIn::tls_deserialize_exact(&v.key_package)
        .unwrap()
        .extract()
    else {
        panic!("not a KeyPackage")
    };
    // The vectors' KeyPackages expired in 2024, so openmls' validation
    // refuses them; they were valid when the Welcome was made, and the
    // Welcome only needs the stored private keys. (Same fields, so the
    // stored form converts.)
    let kp: KeyPackage = serde_json::from_value(serde_json::to_value(&kp).unwrap()).unwrap();
    let hash_ref = kp.hash_ref(p.crypto()).unwrap();
    let encryption = PrivateKey {
        key: HpkePrivateKey::from(v.encryption_priv.clone()),
    };
    // openmls' `EncryptionKey` is stored as `{"key": <bytes>}`.
    let public: PublicKey =
        serde_json::from_value(serde_json::to_value(kp.leaf_node().encryption_key()).unwrap())
            .unwrap();
    p.storage()
        .write_encryption_key_pair(
            &public,
            &KeyPair {
                public_key: PublicKey {
                    key: public.key.clone(),
                },
                private_key: PrivateKey {
                    key: HpkePrivateKey::from(v.encryption_priv.clone()),
                },
            },
        )
        .unwrap();
    p.storage()
        .write_key_package(
            &hash_ref,
            &Bundle {
                key_package: kp,
                private_init_key: HpkePrivateKey::from(v.init_priv.clone()),
                private_encryption_key: encryption,
            },
        )
        .unwrap();
    let suite = Ciphersuite::try_from(v.cipher_suite).unwrap();
    for psk in &v.external_psks {
        PreSharedKeyId::new(
            suite,
            p.rand(),
            Psk::External(ExternalPsk::new(psk.psk_id.clone())),
        )
        .unwrap()
        .store(&p, &psk.psk)
        .unwrap();
    }

    let MlsMessageBodyIn::Welcome(welcome) = MlsMessageIn::tls_deserialize_exact(&v.welcome)
        .unwrap()
        .extract()
    else {
        panic!("not a Welcome")
    };
    let tree = v
        .ratchet_tree
        .as_deref()
        .map(|t| RatchetTreeIn::tls_deserialize_exact(unhex(t)).unwrap());
    let group = StagedWelcome::new_from_welcome(&p, &join_config(), welcome, tree)
        .map_err(|e| format!("welcome: {e}"))?
        .into_group(&p)
        .map_err(|e| format!("welcome: {e}"))?;
    assert_eq!(
        group.epoch_authenticator().as_slice(),
        v.initial_epoch_authenticator.as_slice()
    );
    let id = group.group_id().clone();
    drop(group);
    for (i, epoch) in v.epochs.iter().enumerate() {
        let messages = epoch
            .proposals
            .iter()
            .map(|h| unhex(h))
            .chain([epoch.commit.clone()]);
        for bytes in messages {
            // A fresh load each time: the database holds everything.
            let mut group = MlsGroup::load(p.storage(), &id).unwrap().unwrap();
            let message = MlsMessageIn::tls_deserialize_exact(&bytes)
                .unwrap()
                .try_into_protocol_message()
                .unwrap();
            let processed = group
                .process_message(&p, message)
                .map_err(|e| format!("epoch {i}: {e}"))?;
            match processed.into_content() {
                ProcessedMessageContent::ProposalMessage(q) => {
                    group.store_pending_proposal(p.storage(), *q).unwrap()
                }
                ProcessedMessageContent::StagedCommitMessage(c) => group
                    .merge_staged_commit(&p, *c)
                    .map_err(|e| format!("epoch {i}: {e}"))?,
                other => panic!("{other:?}"),
            }
        }
        let group = MlsGroup::load(p.storage(), &id).unwrap().unwrap();
        assert_eq!(
            group.epoch_authenticator().as_slice(),
            epoch.epoch_authenticator.as_slice(),
            "epoch {i}"
        );
    }
    Ok(v.epochs.len())
}

/// When the vectors were made (their KeyPackages' leaf lifetimes end in
/// early March 2024, and openmls checks them against the system clock).
const VECTOR_CLOCK: &str = "2024-03-01 12:00:00";
/// Set in the child process that runs under the vectors' clock.
const CLOCK_ENV: &str = "KAICHI_MLS_VECTOR_CLOCK";

#[test]
#[ignore = "needs libfaketime (`faketime`): the vectors' KeyPackages expired in 2024; .ci/run installs it and runs this"]
fn passive_client_vectors_with_state_in_the_group_database() {
    const NAME: &str = "passive_client_vectors_with_state_in_the_group_database";
    if std::env::var_os(CLOCK_ENV).is_none() {
        LazyLock::force(&VECTORS);
        let status = Command::new("faketime")
            .arg(VECTOR_CLOCK)
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--ignored", "--nocapture"])
            .env(CLOCK_ENV, "1")
            .status()
            .expect("faketime runs (apt-get install faketime)");
        assert!(status.success(), "the vectors failed under their clock");
        return;
    }
    let year_2024 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_067_200);
    assert!(
        std::time::SystemTime::now() < year_2024 + std::time::Duration::from_secs(366 * 86_400),
        "not running under the vectors' clock"
    );
    let mut total = 0;
    for file in [
        "passive-client-welcome.json",
        "passive-client-handling-commit.json",
        "passive-client-random.json",
    ] {
        let vectors: Vec<PassiveClient> = read(file);
        let ours: Vec<&PassiveClient> = vectors
            .iter()
            .filter(|v| v.cipher_suite == kaichi_groups::CIPHERSUITE as u16)
            .collect();
        assert!(!ours.is_empty(), "{file} has no vector for 0x0001");
        let mut epochs = 0;
        for (i, v) in ours.iter().enumerate() {
            let db = GroupDatabase::open_in_memory().unwrap();
            match passive_client(v, &db) {
                Ok(n) => epochs += n,
                Err(e) => panic!("{file} #{i}: {e}"),
            }
        }
        println!("{file}: {} vectors, {epochs} epochs", ours.len());
        total += ours.len();
    }
    assert!(total >= 20, "{total} vectors");
}

#[test]
fn an_expired_key_package_in_a_welcome_is_refused_today() {
    // The same vectors under today's clock: openmls refuses the Welcome
    // (its leaves' KeyPackage lifetimes are over), typed, nothing stored.
    let vectors: Vec<PassiveClient> = read("passive-client-welcome.json");
    let v = vectors
        .iter()
        .find(|v| v.cipher_suite == kaichi_groups::CIPHERSUITE as u16)
        .unwrap();
    let db = GroupDatabase::open_in_memory().unwrap();
    let err = passive_client(v, &db).unwrap_err();
    assert!(err.contains("Lifetime"), "{err}");
}

/// The vectors' clock as mls-rs takes it (2024-03-01 12:00 UTC).
const VECTOR_TIME_SECS: u64 = 1_709_294_400;

/// Runs one passive-client vector through mls-rs, its group state and the
/// KeyPackage's private keys in an `RsStore`; the group is loaded from the
/// store before every message.
fn passive_client_mls_rs(v: &PassiveClient) -> Result<usize, String> {
    use kaichi_groups::mlsrs::RsStore;
    use mls_rs::crypto::SignatureSecretKey;
    use mls_rs::group::ExportedTree;
    use mls_rs::identity::basic::BasicIdentityProvider;
    use mls_rs::mls_rs_codec::MlsEncode as _;
    use mls_rs::psk::{ExternalPskId, PreSharedKey};
    use mls_rs::time::MlsTime;
    use mls_rs::{CipherSuite, Client, CryptoProvider as _, MlsMessage};
    use mls_rs_core::crypto::HpkeSecretKey;
    use mls_rs_core::key_package::{KeyPackageData, KeyPackageStorage as _};
    use mls_rs_crypto_rustcrypto::RustCryptoProvider;

    let suite = RustCryptoProvider::default()
        .cipher_suite_provider(CipherSuite::CURVE25519_AES128)
        .unwrap();
    let kp = MlsMessage::from_bytes(&v.key_package)
        .unwrap()
        .into_key_package()
        .unwrap();
    let reference = kp.to_reference(&suite).unwrap();
    let identity = kp.signing_identity().clone();
    let mut store = RsStore::default();
    store
        .insert(
            reference.to_vec(),
            KeyPackageData::new(
                kp.mls_encode_to_vec().unwrap(),
                HpkeSecretKey::from(v.init_priv.clone()),
                HpkeSecretKey::from(v.encryption_priv.clone()),
                u64::MAX,
            ),
        )
        .unwrap();
    let secret = [
        v.signature_priv.as_slice(),
        identity.signature_key.as_bytes(),
    ]
    .concat();
    let mut builder = Client::builder()
        .crypto_provider(RustCryptoProvider::default())
        .identity_provider(BasicIdentityProvider::new())
        .key_package_repo(store.clone())
        .group_state_storage(store.clone())
        .signing_identity(
            identity,
            SignatureSecretKey::new(secret),
            CipherSuite::CURVE25519_AES128,
        );
    for psk in &v.external_psks {
        builder = builder.psk(
            ExternalPskId::new(psk.psk_id.clone()),
            PreSharedKey::new(psk.psk.clone()),
        );
    }
    let client = builder.build();
    let now = MlsTime::from(VECTOR_TIME_SECS);
    let tree = v.ratchet_tree.as_deref().map(unhex);
    let tree = tree
        .as_deref()
        .map(|t| ExportedTree::from_bytes(t).unwrap());
    let (mut group, _) = client
        .join_group(
            tree,
            &MlsMessage::from_bytes(&v.welcome).unwrap(),
            Some(now),
        )
        .map_err(|e| format!("welcome: {e}"))?;
    assert_eq!(
        group.epoch_authenticator().unwrap().as_bytes(),
        v.initial_epoch_authenticator.as_slice()
    );
    group.write_to_storage().unwrap();
    let id = group.group_id().to_vec();
    drop(group);
    for (i, epoch) in v.epochs.iter().enumerate() {
        let messages = epoch
            .proposals
            .iter()
            .map(|h| unhex(h))
            .chain([epoch.commit.clone()]);
        for bytes in messages {
            // A fresh load each time: the store holds everything.
            let mut group = client.load_group(&id).unwrap();
            group
                .process_incoming_message_with_time(MlsMessage::from_bytes(&bytes).unwrap(), now)
                .map_err(|e| format!("epoch {i}: {e}"))?;
            group.write_to_storage().unwrap();
        }
        let group = client.load_group(&id).unwrap();
        assert_eq!(
            group.epoch_authenticator().unwrap().as_bytes(),
            epoch.epoch_authenticator.as_slice(),
            "epoch {i}"
        );
    }
    // The store journaled every write, as the session saves it.
    assert!(!store.take_journal().is_empty());
    Ok(v.epochs.len())
}

#[test]
fn passive_client_vectors_through_mls_rs_with_state_in_the_store() {
    let mut total = 0;
    for file in [
        "passive-client-welcome.json",
        "passive-client-handling-commit.json",
        "passive-client-random.json",
    ] {
        let vectors: Vec<PassiveClient> = read(file);
        let ours: Vec<&PassiveClient> = vectors
            .iter()
            .filter(|v| v.cipher_suite == kaichi_groups::CIPHERSUITE as u16)
            .collect();
        let mut epochs = 0;
        for (i, v) in ours.iter().enumerate() {
            match passive_client_mls_rs(v) {
                Ok(n) => epochs += n,
                Err(e) => panic!("{file} #{i}: {e}"),
            }
        }
        println!(
            "{file}: {} vectors, {epochs} epochs through mls-rs",
            ours.len()
        );
        total += ours.len();
    }
    assert!(total >= 20, "{total} vectors");
}
