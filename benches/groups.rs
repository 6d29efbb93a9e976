//! MLS group operations through kaichi-groups' two engines (openmls and
//! mls-rs) beside raw openmls and raw mls-rs, in one run, on the same
//! machine, same ciphersuite (0x0001), same configuration (the Kaichi
//! metadata extension, no ratchet tree in the Welcome, handshake messages
//! encrypted), in-memory storage.
//!
//! For each group size N: bulk-create (one commit adding N-1 members),
//! join from the Welcome, self-update (create and merge), process+merge of
//! that commit at another member, Welcome and tree sizes, application
//! message encryption (openmls: with five past epochs kept, and with none)
//! and decryption. Medians over `KAICHI_BENCH_REPEAT` runs (default 5; 1 for
//! N >= 10,000); an mls-rs join (raw or through kaichi-groups) is the median
//! of five joins of the same Welcome in each run.
//!
//! `cargo bench -p kaichi-benches --bench groups` (N = 10, 100, 1,000);
//! `KAICHI_BENCH_GROUP_SIZES=10000 cargo bench -p kaichi-benches --bench groups` for more;
//! openmls runs up to `KAICHI_BENCH_OPENMLS_MAX` (default 20,000: at
//! 100,000 it would take about an hour), mls-rs at every size. From 10,000
//! members on, one member's peak RSS is measured in a process of its own,
//! joining from the tree read whole and from the tree streamed in chunks
//! (`KAICHI_BENCH_MEMBER_ONLY=1` runs only that).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use kaichi_groups::mlsrs::RsMember;
use kaichi_groups::{
    AdminPolicy, CIPHERSUITE, Candidate, Group, MemberSigner, MemoryProvider, NewGroup, NoDevices,
    Outgoing, key_package,
};
use kaichi_identity::IpnsKeypair;
use openmls::prelude::*;
use openmls::treesync::LeafNodeParameters;
use tls_codec::{Deserialize as _, Serialize as _};

fn signer(i: u32) -> MemberSigner {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    seed[31] = 0xAA;
    MemberSigner::identity(IpnsKeypair::from_seed(&seed))
}

#[derive(Default, Clone, Copy)]
struct Figures {
    create: Duration,
    join: Duration,
    update: Duration,
    process: Duration,
    welcome: usize,
    tree: usize,
    app: Duration,
    /// The same with no past epochs kept (openmls only).
    app0: Duration,
    /// Decrypting one at the joined member.
    dec: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The application message both sides encrypt.
const MESSAGE: &[u8] = b"hello, group: a short chat message";

/// Application messages timed per figure, after `WARM_MESSAGES` untimed
/// ones: a message takes tens of microseconds, so a median of 21 moved by
/// ±25 % between runs of one build.
const TIMED_MESSAGES: usize = 201;
/// Application messages sent before the timed ones.
const WARM_MESSAGES: usize = 20;

/// The median time of `TIMED_MESSAGES` application messages.
fn time_messages(mut send: impl FnMut()) -> Duration {
    for _ in 0..WARM_MESSAGES {
        send();
    }
    let mut times = Vec::with_capacity(TIMED_MESSAGES);
    for _ in 0..TIMED_MESSAGES {
        let t = Instant::now();
        send();
        times.push(t.elapsed());
    }
    median(times)
}

/// Joins timed per engine: a join leaves the joiner's KeyPackage in place,
/// so the same Welcome can be joined again. The first join of a process
/// pays for fresh pages and a cold allocator (whichever engine runs first
/// pays most), so the median of five is the figure.
const JOIN_RUNS: usize = 5;

/// The median time of `JOIN_RUNS` runs of `join`, and its last result.
fn time_joins<T>(mut join: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..JOIN_RUNS {
        // The previous group is dropped outside the timed part.
        drop(last.take());
        let t = Instant::now();
        last = Some(join());
        times.push(t.elapsed());
    }
    (median(times), last.expect("JOIN_RUNS > 0"))
}

/// As kaichi-groups configures its groups.
const PAST_EPOCHS: usize = 5;

type Member = (MemoryProvider, MemberSigner, Vec<u8>);

/// KeyPackages of members 1..n-1, shared by every run (nobody joins with them).
fn key_packages(n: u32) -> Vec<Member> {
    (1..n.saturating_sub(1))
        .map(|i| {
            let p = MemoryProvider::default();
            let s = signer(i);
            let kp = key_package(&p, &s, false).unwrap();
            (p, s, kp)
        })
        .collect()
}

/// The member who joins from the Welcome: fresh in each run (joining
/// consumes its KeyPackage's private keys).
fn joiner(n: u32) -> Member {
    let p = MemoryProvider::default();
    let s = signer(n - 1);
    let kp = key_package(&p, &s, false).unwrap();
    (p, s, kp)
}

fn kaichi(n: u32, members: &[Member]) -> Figures {
    let joiner = joiner(n);
    let (p, me) = (MemoryProvider::default(), signer(0));
    let mut g = Group::create(&p, &me, NewGroup::named("bench")).unwrap();
    let candidates: Vec<Candidate> = members
        .iter()
        .chain([&joiner])
        .map(|m| Candidate::new(m.2.clone()))
        .collect();
    let t = Instant::now();
    let Outgoing::Commit(out) = g
        .add(&p, &me, &AdminPolicy, &NoDevices, &candidates)
        .unwrap()
    else {
        panic!()
    };
    let create = t.elapsed();
    let welcome = out.welcome.unwrap();
    let tree = out.ratchet_tree.unwrap();
    let jp = &joiner.0;
    let t = Instant::now();
    let mut joined = Group::join(jp, &welcome, Some(&tree), &NoDevices).unwrap();
    let join = t.elapsed();
    let t = Instant::now();
    let Outgoing::Commit(upd) = g.self_update(&p, &me).unwrap() else {
        panic!()
    };
    let update = t.elapsed();
    let t = Instant::now();
    joined
        .process(jp, &AdminPolicy, &NoDevices, &upd.commit)
        .unwrap();
    let process = t.elapsed();
    let app = time_messages(|| {
        let _ = g.send(&p, &me, MESSAGE).unwrap();
    });
    g.set_past_epochs(&p, 0).unwrap();
    let app0 = time_messages(|| {
        let _ = g.send(&p, &me, MESSAGE).unwrap();
    });
    let dec = time_messages(|| {
        let m = g.send(&p, &me, MESSAGE).unwrap();
        let _ = joined.process(jp, &AdminPolicy, &NoDevices, &m).unwrap();
    })
    .saturating_sub(app0);
    Figures {
        create,
        join,
        update,
        process,
        welcome: welcome.len(),
        tree: tree.len(),
        app,
        app0,
        dec,
    }
}

fn raw(n: u32, members: &[Member]) -> Figures {
    let joiner = joiner(n);
    let (p, me) = (MemoryProvider::default(), signer(0));
    let credential = CredentialWithKey {
        credential: BasicCredential::new(me.name().to_string().into_bytes()).into(),
        signature_key: me.public_key().to_vec().into(),
    };
    // The configuration kaichi-groups uses, so the comparison is of the
    // wrapper alone: the metadata extension (and the capability for it),
    // five past epochs kept for late application messages.
    let metadata = kaichi_groups::GroupMetadata {
        name: "bench".into(),
        description: String::new(),
        admins: vec![me.name()],
        sequencer: Some(me.name()),
        token_gate: None,
    };
    let ext = ExtensionType::Unknown(kaichi_groups::metadata::METADATA_EXTENSION);
    let extensions = Extensions::from_vec(vec![
        Extension::Unknown(
            kaichi_groups::metadata::METADATA_EXTENSION,
            UnknownExtension(metadata.encode()),
        ),
        Extension::RequiredCapabilities(RequiredCapabilitiesExtension::new(&[ext], &[], &[])),
    ])
    .unwrap();
    let mut g = MlsGroup::builder()
        .ciphersuite(CIPHERSUITE)
        .with_capabilities(Capabilities::new(
            None,
            Some(&[CIPHERSUITE]),
            Some(&[ext]),
            None,
            Some(&[CredentialType::Basic]),
        ))
        .use_ratchet_tree_extension(false)
        .max_past_epochs(PAST_EPOCHS)
        .with_group_context_extensions(extensions)
        .build(&p, &me, credential)
        .unwrap();
    // The KeyPackages are parsed and validated inside the timed add for
    // kaichi-groups; time the same here.
    let t = Instant::now();
    let kps2: Vec<KeyPackage> = members
        .iter()
        .chain([&joiner])
        .map(|m| {
            let MlsMessageBodyIn::KeyPackage(kp) =
                MlsMessageIn::tls_deserialize_exact(m.2.as_slice())
                    .unwrap()
                    .extract()
            else {
                panic!()
            };
            kp.validate(p.crypto(), ProtocolVersion::Mls10).unwrap()
        })
        .collect();
    let (_, welcome, _) = g.add_members(&p, &me, &kps2).unwrap();
    g.merge_pending_commit(&p).unwrap();
    let welcome = welcome.tls_serialize_detached().unwrap();
    let tree = g.export_ratchet_tree().tls_serialize_detached().unwrap();
    let create = t.elapsed();
    let jp = &joiner.0;
    let config = MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(false)
        .max_past_epochs(PAST_EPOCHS)
        .build();
    let t = Instant::now();
    let MlsMessageBodyIn::Welcome(w) = MlsMessageIn::tls_deserialize_exact(welcome.as_slice())
        .unwrap()
        .extract()
    else {
        panic!()
    };
    let tree_in = RatchetTreeIn::tls_deserialize_exact(tree.as_slice()).unwrap();
    let mut joined = StagedWelcome::new_from_welcome(jp, &config, w, Some(tree_in))
        .unwrap()
        .into_group(jp)
        .unwrap();
    let join = t.elapsed();
    let t = Instant::now();
    let (commit, _, _) = g
        .self_update(&p, &me, LeafNodeParameters::default())
        .unwrap()
        .into_contents();
    g.merge_pending_commit(&p).unwrap();
    let commit = commit.tls_serialize_detached().unwrap();
    let update = t.elapsed();
    let t = Instant::now();
    let msg = MlsMessageIn::tls_deserialize_exact(commit.as_slice())
        .unwrap()
        .try_into_protocol_message()
        .unwrap();
    let processed = joined.process_message(jp, msg).unwrap();
    let ProcessedMessageContent::StagedCommitMessage(sc) = processed.into_content() else {
        panic!()
    };
    joined.merge_staged_commit(jp, *sc).unwrap();
    let process = t.elapsed();
    let app = time_messages(|| {
        let out = g.create_message(&p, &me, MESSAGE).unwrap();
        let _ = out.tls_serialize_detached().unwrap();
    });
    let none_kept = MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(false)
        .max_past_epochs(0)
        .build();
    g.set_configuration(p.storage(), &none_kept).unwrap();
    let app0 = time_messages(|| {
        let out = g.create_message(&p, &me, MESSAGE).unwrap();
        let _ = out.tls_serialize_detached().unwrap();
    });
    let dec = time_messages(|| {
        let out = g.create_message(&p, &me, MESSAGE).unwrap();
        let bytes = out.tls_serialize_detached().unwrap();
        let msg = MlsMessageIn::tls_deserialize_exact(bytes.as_slice())
            .unwrap()
            .try_into_protocol_message()
            .unwrap();
        let _ = joined.process_message(jp, msg).unwrap();
    })
    .saturating_sub(app0);
    Figures {
        create,
        join,
        update,
        process,
        welcome: welcome.len(),
        tree: tree.len(),
        app,
        app0,
        dec,
    }
}

/// mls-rs: KeyPackages of members 1..n-1 (from Kaichi engines; the same
/// bytes serve the raw run: one wire format).
fn rs_key_packages(n: u32) -> Vec<Vec<u8>> {
    (1..n.saturating_sub(1))
        .map(|i| rs_member(i).key_package().unwrap())
        .collect()
}

fn rs_member(i: u32) -> RsMember<AdminPolicy> {
    RsMember::new(&signer(i), AdminPolicy, std::sync::Arc::new(NoDevices))
}

/// The creator (member 0) and its group, with `kps` and `joiner` as the
/// candidates of the bulk add (not yet committed).
fn creator_with(
    kps: &[Vec<u8>],
    joiner: &[u8],
) -> (
    RsMember<AdminPolicy>,
    kaichi_groups::mlsrs::RsGroup<AdminPolicy>,
    Vec<Candidate>,
) {
    let me = rs_member(0);
    let g = me.create(NewGroup::named("bench")).unwrap();
    let candidates = kps
        .iter()
        .map(Vec::as_slice)
        .chain([joiner])
        .map(|kp| Candidate::new(kp.to_vec()))
        .collect();
    (me, g, candidates)
}

fn kaichi_rs(n: u32, kps: &[Vec<u8>]) -> Figures {
    let joiner = rs_member(n - 1);
    let jkp = joiner.key_package().unwrap();
    let (_me, mut g, candidates) = creator_with(kps, &jkp);
    let t = Instant::now();
    let Outgoing::Commit(out) = g.add(&candidates).unwrap() else {
        panic!()
    };
    let create = t.elapsed();
    let (welcome, tree) = (out.welcome.unwrap(), out.ratchet_tree.unwrap());
    let (join, mut joined) = time_joins(|| joiner.join(&welcome, Some(&tree)).unwrap());
    split_welcome_figures(n, &welcome, &jkp, |own| {
        drop(joiner.join(own, Some(&tree)).unwrap());
    });
    let t = Instant::now();
    let Outgoing::Commit(upd) = g.self_update().unwrap() else {
        panic!()
    };
    let update = t.elapsed();
    let t = Instant::now();
    joined.process(&upd.commit).unwrap();
    let process = t.elapsed();
    let app = time_messages(|| {
        let _ = g.send(MESSAGE).unwrap();
    });
    let dec = time_messages(|| {
        let m = g.send(MESSAGE).unwrap();
        let _ = joined.process(&m).unwrap();
    })
    .saturating_sub(app);
    Figures {
        create,
        join,
        update,
        process,
        welcome: welcome.len(),
        tree: tree.len(),
        app,
        app0: app,
        dec,
    }
}

/// The Welcome as a node sends it to many members (split: header, shards,
/// index; `kaichi_groups::welcome`): the time to split it, what one invitee
/// fetches (index, header, its shard) against the whole Welcome, and the
/// time to rebuild its own Welcome and join from it.
fn split_welcome_figures(n: u32, welcome: &[u8], kp: &[u8], join: impl FnOnce(&[u8])) {
    use kaichi_groups::welcome::{
        DEFAULT_SHARD_SECRETS, key_package_ref, shard_for, split_welcome, welcome_for,
    };
    let t = Instant::now();
    let parts = split_welcome(welcome, DEFAULT_SHARD_SECRETS).unwrap();
    let split = t.elapsed();
    let cid = |b: &[u8]| kaichi_privatelog::BlockCid::of(b).to_cid();
    let index = kaichi_transport::welcome_index::WelcomeIndex::new(
        cid(&parts.header),
        parts
            .shards
            .iter()
            .map(|s| (s.first, cid(&s.bytes)))
            .collect(),
    )
    .unwrap()
    .encode();
    let mine = [key_package_ref(kp).unwrap()];
    let firsts: Vec<_> = parts.shards.iter().map(|s| s.first).collect();
    let shard = &parts.shards[shard_for(&firsts, &mine)[0]].bytes;
    let t = Instant::now();
    let own = welcome_for(&parts.header, shard, &mine).unwrap();
    join(&own);
    let rebuild_join = t.elapsed();
    println!(
        "| {n} | split Welcome (mls-rs engine): split {split:.1?} into {} shards; one invitee fetches {} B (index {} B, header {} B, shard {} B) instead of {} B; rebuild + join {rebuild_join:.3?} |",
        parts.shards.len(),
        index.len() + parts.header.len() + shard.len(),
        index.len(),
        parts.header.len(),
        shard.len(),
        welcome.len(),
    );
}

/// A raw mls-rs client configured as Kaichi's engine is (basic credentials,
/// the metadata extension, encrypted handshakes, tree out of band).
fn raw_rs_client(i: u32) -> mls_rs::Client<impl mls_rs::client_builder::MlsConfig> {
    use mls_rs::client_builder::PaddingMode;
    use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
    let s = signer(i);
    let identity = mls_rs::identity::SigningIdentity::new(
        mls_rs::identity::basic::BasicCredential::new(s.name().to_string().into_bytes())
            .into_credential(),
        mls_rs::crypto::SignaturePublicKey::new(s.public_key().to_vec()),
    );
    let mut secret = s.public_key().to_vec();
    secret.splice(0..0, signer_seed(i));
    let rules = DefaultMlsRules::new()
        .with_commit_options(
            CommitOptions::new()
                .with_path_required(true)
                .with_ratchet_tree_extension(false)
                .with_always_out_of_band_ratchet_tree(true)
                .with_single_welcome_message(true),
        )
        .with_encryption_options(EncryptionOptions::new(true, PaddingMode::None));
    mls_rs::Client::builder()
        .crypto_provider(mls_rs_crypto_rustcrypto::RustCryptoProvider::default())
        .identity_provider(mls_rs::identity::basic::BasicIdentityProvider::new())
        .mls_rules(rules)
        .extension_type(mls_rs::extension::ExtensionType::new(
            kaichi_groups::metadata::METADATA_EXTENSION,
        ))
        .signing_identity(
            identity,
            mls_rs::crypto::SignatureSecretKey::new(secret),
            mls_rs::CipherSuite::CURVE25519_AES128,
        )
        .build()
}

fn signer_seed(i: u32) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    seed[31] = 0xAA;
    seed
}

fn raw_rs(n: u32, kps: &[Vec<u8>]) -> Figures {
    use mls_rs::{ExtensionList, MlsMessage};
    let joiner = raw_rs_client(n - 1);
    let jkp = joiner
        .generate_key_package_message(ExtensionList::new(), ExtensionList::new(), None)
        .unwrap()
        .to_bytes()
        .unwrap();
    let me = raw_rs_client(0);
    let metadata = kaichi_groups::GroupMetadata {
        name: "bench".into(),
        description: String::new(),
        admins: vec![signer(0).name()],
        sequencer: Some(signer(0).name()),
        token_gate: None,
    };
    let mut ext = ExtensionList::new();
    ext.set(mls_rs::Extension::new(
        mls_rs::extension::ExtensionType::new(kaichi_groups::metadata::METADATA_EXTENSION),
        metadata.encode(),
    ));
    let mut g = me
        .create_group_with_id(vec![7; 32], ext, ExtensionList::new(), None)
        .unwrap();
    // The KeyPackages are parsed inside the timed add for kaichi-groups;
    // time the same here.
    let t = Instant::now();
    let mut b = g.commit_builder();
    for kp in kps.iter().chain([&jkp]) {
        b = b.add_member(MlsMessage::from_bytes(kp).unwrap()).unwrap();
    }
    let out = b.build().unwrap();
    g.apply_pending_commit().unwrap();
    let welcome = out.welcome_messages()[0].to_bytes().unwrap();
    let tree = g.export_tree().to_bytes().unwrap();
    let create = t.elapsed();
    let (join, (mut joined, _)) = time_joins(|| {
        joiner
            .join_group(
                Some(mls_rs::group::ExportedTree::from_bytes(&tree).unwrap()),
                &MlsMessage::from_bytes(&welcome).unwrap(),
                None,
            )
            .unwrap()
    });
    let t = Instant::now();
    let upd = g.commit_builder().build().unwrap();
    g.apply_pending_commit().unwrap();
    let commit = upd.commit_message().to_bytes().unwrap();
    let update = t.elapsed();
    let t = Instant::now();
    joined
        .process_incoming_message(MlsMessage::from_bytes(&commit).unwrap())
        .unwrap();
    let process = t.elapsed();
    let app = time_messages(|| {
        let _ = g
            .encrypt_application_message(MESSAGE, Vec::new())
            .unwrap()
            .to_bytes()
            .unwrap();
    });
    let dec = time_messages(|| {
        let m = g
            .encrypt_application_message(MESSAGE, Vec::new())
            .unwrap()
            .to_bytes()
            .unwrap();
        let _ = joined
            .process_incoming_message(MlsMessage::from_bytes(&m).unwrap())
            .unwrap();
    })
    .saturating_sub(app);
    Figures {
        create,
        join,
        update,
        process,
        welcome: welcome.len(),
        tree: tree.len(),
        app,
        app0: app,
        dec,
    }
}

/// The member's side of [`member_rss`], in a process of its own: its
/// KeyPackage out, then (once the group exists) the join from its Welcome
/// (rebuilt for it alone from a split Welcome, as a node does) and the tree,
/// two self-update commits of the creator's processed (each with a path
/// secret for every other member, 8 MB), and its own peak RSS. With
/// `KAICHI_BENCH_MEMBER_STREAM` set, the tree is read and decoded in
/// 256 KiB chunks (`TreeDecoder`, as a node fetches it), never held whole.
fn member_child(dir: &std::path::Path) {
    use std::io::{BufRead as _, Read as _};
    let me = rs_member(u32::MAX - 1);
    std::fs::write(dir.join("kp"), me.key_package().unwrap()).unwrap();
    println!("kp");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    let welcome = std::fs::read(dir.join("welcome")).unwrap();
    let t = Instant::now();
    let mut g = if std::env::var_os("KAICHI_BENCH_MEMBER_STREAM").is_some() {
        let mut file = std::fs::File::open(dir.join("tree")).unwrap();
        let mut decoder = kaichi_groups::TreeDecoder::new(kaichi_groups::MAX_TREE_BYTES);
        let mut chunk = vec![0; kaichi_privatelog::attachment::CHUNK_BYTES];
        loop {
            let n = file.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            decoder.push(&chunk[..n]).unwrap();
        }
        let tree = decoder.finish().unwrap();
        me.join_tree(&welcome, Some(&tree)).unwrap()
    } else {
        let tree = std::fs::read(dir.join("tree")).unwrap();
        me.join(&welcome, Some(&tree)).unwrap()
    };
    let join = t.elapsed();
    let joined_peak = peak_rss_mb();
    drop(welcome);
    let commit = std::fs::read(dir.join("commit")).unwrap();
    let t = Instant::now();
    g.process(&commit).unwrap();
    let process = t.elapsed();
    drop(commit);
    // The next one: the process has the memory of a commit in hand (the
    // first pays for its fresh pages, on this VM much of its time).
    let commit = std::fs::read(dir.join("commit2")).unwrap();
    let t = Instant::now();
    g.process(&commit).unwrap();
    let next = t.elapsed();
    println!(
        "member {join:.3?} {process:.3?} {} {joined_peak} {next:.3?}",
        peak_rss_mb()
    );
}

/// Peak RSS of one member of a group of `n` (the mls-rs engine): a child
/// process joins from its Welcome and the tree (whole, or `streamed` in
/// chunks) and processes two self-update commits; only the member is in it
/// (the creator is this process).
fn member_rss(n: u32, kps: &[Vec<u8>], streamed: bool) {
    use std::io::{BufRead as _, Write as _};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.env("KAICHI_BENCH_MEMBER_CHILD", dir.path());
    if streamed {
        command.env("KAICHI_BENCH_MEMBER_STREAM", "1");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "kp");
    let jkp = std::fs::read(dir.path().join("kp")).unwrap();
    let (me, mut g, candidates) = creator_with(kps, &jkp);
    let Outgoing::Commit(out) = g.add(&candidates).unwrap() else {
        panic!()
    };
    // What the member's node rebuilds from the split Welcome's header and
    // its shard.
    let mine = kaichi_groups::welcome::key_package_ref(&jkp).unwrap();
    let split = kaichi_groups::welcome::split_welcome(&out.welcome.unwrap(), 256).unwrap();
    let shard = split.shards.iter().rev().find(|s| s.first <= mine).unwrap();
    let welcome =
        kaichi_groups::welcome::welcome_for(&split.header, &shard.bytes, &[mine]).unwrap();
    std::fs::write(dir.path().join("welcome"), welcome).unwrap();
    std::fs::write(dir.path().join("tree"), out.ratchet_tree.unwrap()).unwrap();
    let Outgoing::Commit(upd) = g.self_update().unwrap() else {
        panic!()
    };
    std::fs::write(dir.path().join("commit"), &upd.commit).unwrap();
    let Outgoing::Commit(upd) = g.self_update().unwrap() else {
        panic!()
    };
    std::fs::write(dir.path().join("commit2"), &upd.commit).unwrap();
    drop((g, me, candidates, split));
    writeln!(child.stdin.take().unwrap(), "go").unwrap();
    let out = lines.next().unwrap().unwrap();
    let parts: Vec<&str> = out.split_whitespace().collect();
    println!(
        "| {n} | one member, own process (mls-rs engine, tree {}): join {}; process a commit {} (the next {}); peak RSS {} MB ({} MB once joined) |",
        if streamed {
            "streamed in 256 KiB chunks"
        } else {
            "read whole"
        },
        parts[1],
        parts[2],
        parts[5],
        parts[3],
        parts[4]
    );
    child.wait().unwrap();
}

fn main() {
    if let Some(dir) = std::env::var_os("KAICHI_BENCH_MEMBER_CHILD") {
        member_child(std::path::Path::new(&dir));
        return;
    }
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let sizes: Vec<u32> = std::env::var("KAICHI_BENCH_GROUP_SIZES")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n >= 3)
        .collect();
    let openmls_max: u32 = std::env::var("KAICHI_BENCH_OPENMLS_MAX")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(20_000);
    println!(
        "| N | what | bulk-create | join | self-update | process+merge | Welcome | tree | app msg enc | app msg enc, 0 past epochs | app msg dec |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        if std::env::var_os("KAICHI_BENCH_MEMBER_ONLY").is_some() {
            let kps = rs_key_packages(n);
            member_rss(n, &kps, false);
            member_rss(n, &kps, true);
            continue;
        }
        let repeat: usize = std::env::var("KAICHI_BENCH_REPEAT")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(if n >= 10_000 { 1 } else { 5 });
        let pick = |v: &[Figures], f: fn(&Figures) -> Duration| median(v.iter().map(f).collect());
        let row = |label: &str, v: &[Figures]| {
            println!(
                "| {n} | {label} | {:.3?} | {:.3?} | {:.3?} | {:.3?} | {} B | {} B | {:.1?} | {:.1?} | {:.1?} |",
                pick(v, |f| f.create),
                pick(v, |f| f.join),
                pick(v, |f| f.update),
                pick(v, |f| f.process),
                v[0].welcome,
                v[0].tree,
                pick(v, |f| f.app),
                pick(v, |f| f.app0),
                pick(v, |f| f.dec),
            );
        };
        let overhead = |ours: &[Figures], theirs: &[Figures]| {
            let ratio = |f: fn(&Figures) -> Duration| {
                100.0
                    * (pick(ours, f).as_secs_f64() / pick(theirs, f).as_secs_f64().max(1e-9) - 1.0)
            };
            println!(
                "| {n} | overhead | {:+.1}% | {:+.1}% | {:+.1}% | {:+.1}% | | | {:+.1}% | {:+.1}% | {:+.1}% |",
                ratio(|f| f.create),
                ratio(|f| f.join),
                ratio(|f| f.update),
                ratio(|f| f.process),
                ratio(|f| f.app),
                ratio(|f| f.app0),
                ratio(|f| f.dec),
            );
        };
        if n <= openmls_max {
            let members = key_packages(n);
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            for _ in 0..repeat {
                // Alternate, so drift on the machine hits both alike.
                theirs.push(raw(n, &members));
                ours.push(kaichi(n, &members));
            }
            row("raw openmls", &theirs);
            row("kaichi-groups, openmls engine", &ours);
            overhead(&ours, &theirs);
        } else {
            println!("| {n} | openmls | skipped (N > KAICHI_BENCH_OPENMLS_MAX) | | | | | | | | |");
        }
        let kps = rs_key_packages(n);
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..repeat {
            theirs.push(raw_rs(n, &kps));
            ours.push(kaichi_rs(n, &kps));
        }
        row("raw mls-rs", &theirs);
        row("kaichi-groups, mls-rs engine", &ours);
        overhead(&ours, &theirs);
        session_figures(n, &kps);
        if n >= 10_000 {
            member_rss(n, &kps, false);
            member_rss(n, &kps, true);
        }
    }
    println!("peak RSS of this process: {} MB", peak_rss_mb());
}

/// Through a `GroupSession` on a SQLite file (the mls-rs engine, state
/// journaled into the database in each operation's transaction): bulk
/// create, add one, remove one, one application message (persisted), the
/// file's size and the time to open the session again (every group loaded).
fn session_figures(n: u32, kps: &[Vec<u8>]) {
    use kaichi_groups::{GroupDatabase, GroupSession};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("groups.db");
    let open =
        || GroupSession::open(GroupDatabase::open(&path).unwrap(), signer(0), AdminPolicy).unwrap();
    let mut s = open();
    let id = s.create(NewGroup::named("bench")).unwrap();
    let candidates: Vec<Candidate> = kps.iter().map(|kp| Candidate::new(kp.clone())).collect();
    let t = Instant::now();
    s.add(id, &candidates).unwrap();
    let create = t.elapsed();
    let drain = |s: &mut GroupSession<AdminPolicy>| {
        let mut bytes = 0;
        while let Some(o) = s.poll_output() {
            if let kaichi_groups::SessionOutput::Publish { message, .. } = o {
                bytes += message.len();
            }
        }
        bytes
    };
    drain(&mut s);
    let one = rs_member(n + 10).key_package().unwrap();
    let t = Instant::now();
    s.add(id, &[Candidate::new(one)]).unwrap();
    let add_one = t.elapsed();
    let add_bytes = drain(&mut s);
    let t = Instant::now();
    s.remove(id, &[signer(1).name()]).unwrap();
    let remove_one = t.elapsed();
    let remove_bytes = drain(&mut s);
    let t = Instant::now();
    s.send(id, MESSAGE, 0).unwrap();
    let send = t.elapsed();
    drain(&mut s);
    drop(s);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(path.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    let t = Instant::now();
    let s = open();
    let reload = t.elapsed();
    assert_eq!(s.group(&id).unwrap().epoch(), 3);
    println!(
        "| {n} | session (SQLite, mls-rs): create {create:.3?}; add one {add_one:.3?} (commit {add_bytes} B); remove one {remove_one:.3?} (commit {remove_bytes} B); app msg persisted {send:.1?}; database {:.1} MB; reopen {reload:.3?} |",
        size as f64 / 1e6
    );
}

/// VmHWM from /proc/self/status, in MB (0 where there is none).
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
