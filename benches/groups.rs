//! MLS group operations through kaichi-groups beside raw openmls, in one
//! run, on the same machine, same ciphersuite, same configuration (no
//! ratchet tree in the Welcome), in-memory storage.
//!
//! For each group size N: bulk-create (one commit adding N-1 members),
//! join from the Welcome, self-update (create and merge), process+merge of
//! that commit at another member, Welcome size, application message
//! encryption (with five past epochs kept, and with none). Medians over `KAICHI_BENCH_REPEAT` runs (default 5; 1 for
//! N >= 10,000).
//!
//! `cargo bench -p kaichi-benches --bench groups` (N = 10, 100, 1,000);
//! `KAICHI_BENCH_GROUP_SIZES=10000 cargo bench -p kaichi-benches --bench groups` for more.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

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
    /// The same with no past epochs kept.
    app0: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The application message both sides encrypt.
const MESSAGE: &[u8] = b"hello, group: a short chat message";

/// The median time of 21 application messages.
fn time_messages(mut send: impl FnMut()) -> Duration {
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        send();
        times.push(t.elapsed());
    }
    median(times)
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
    Figures {
        create,
        join,
        update,
        process,
        welcome: welcome.len(),
        tree: tree.len(),
        app,
        app0,
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
    Figures {
        create,
        join,
        update,
        process,
        welcome: welcome.len(),
        tree: tree.len(),
        app,
        app0,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let sizes: Vec<u32> = std::env::var("KAICHI_BENCH_GROUP_SIZES")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n >= 2)
        .collect();
    println!(
        "| N | what | bulk-create | join | self-update | process+merge | Welcome | tree | app msg enc | app msg enc, 0 past epochs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let repeat: usize = std::env::var("KAICHI_BENCH_REPEAT")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(if n >= 10_000 { 1 } else { 5 });
        let members = key_packages(n);
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..repeat {
            // Alternate, so drift on the machine hits both alike.
            theirs.push(raw(n, &members));
            ours.push(kaichi(n, &members));
        }
        let pick = |v: &[Figures], f: fn(&Figures) -> Duration| median(v.iter().map(f).collect());
        let row = |label: &str, v: &[Figures]| {
            println!(
                "| {n} | {label} | {:.3?} | {:.3?} | {:.3?} | {:.3?} | {} B | {} B | {:.1?} | {:.1?} |",
                pick(v, |f| f.create),
                pick(v, |f| f.join),
                pick(v, |f| f.update),
                pick(v, |f| f.process),
                v[0].welcome,
                v[0].tree,
                pick(v, |f| f.app),
                pick(v, |f| f.app0),
            );
        };
        row("openmls", &theirs);
        row("kaichi-groups", &ours);
        let ratio = |f: fn(&Figures) -> Duration| {
            pick(&ours, f).as_secs_f64() / pick(&theirs, f).as_secs_f64().max(1e-9) - 1.0
        };
        println!(
            "| {n} | overhead | {:+.1}% | {:+.1}% | {:+.1}% | {:+.1}% | | | {:+.1}% | {:+.1}% |",
            100.0 * ratio(|f| f.create),
            100.0 * ratio(|f| f.join),
            100.0 * ratio(|f| f.update),
            100.0 * ratio(|f| f.process),
            100.0 * ratio(|f| f.app),
            100.0 * ratio(|f| f.app0),
        );
    }
}
