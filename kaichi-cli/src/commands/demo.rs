//! `kaichi demo`: a self-contained tour in a temporary directory.
//!
//! Two fresh wallets get profiles on disk, derive their identities, publish
//! and validate IPNS records, publish identity documents, and Alice adds a
//! second device; then Alice and Bob exchange direct messages through their
//! outbox logs (delivered in-process until the transport layer lands), write
//! concurrently, merge, and export the conversation as a CAR file.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kaichi_identity::document::{
    DeviceGrant, DeviceRequest, DocumentBuilder, document_dht_key, verify_document,
};
use kaichi_identity::ipns::{RecordParams, create_record, validate_record};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::store::{
    Durability, LogStore as _, SqliteStore, StoredConversation, export_conversation,
};
use kaichi_privatelog::{Conversation, Message};
use serde::Serialize;

use super::id::IdJson;
use crate::profile::Profile;

#[derive(Debug, Serialize)]
struct DemoJson {
    alice: IdJson,
    bob: IdJson,
    alice_record_value: String,
    alice_device: String,
    timings_us: Timings,
}

#[derive(Debug, Default, Serialize)]
struct Timings {
    derive_keys: u128,
    ipns_create: u128,
    ipns_validate: u128,
    document_sign: u128,
    document_verify: u128,
}

pub(crate) fn run(json: bool) -> anyhow::Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("kaichi-demo-{}", std::process::id()));
    let result = tour(&dir, json);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn say(json: bool, line: &str) {
    if !json {
        println!("{line}");
    }
}

fn tour(dir: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let mut t = Timings::default();
    say(json, &format!("Kaichi demo in {}\n", dir.display()));

    // Two people with fresh wallets, each with a profile on disk.
    let mut ids = Vec::new();
    for who in ["alice", "bob"] {
        let profile = Profile::at(Some(dir.join(who)))?;
        profile.set_wallet(
            &KeypairWallet::from_secret_seed(&*super::random32()?),
            false,
        )?;
        let started = Instant::now();
        let (wallet, keys, _) = profile.identity()?;
        t.derive_keys = started.elapsed().as_micros();
        let id = IdJson::from(&keys.public());
        say(json, &format!("{who}:\n{}\n", indent(&id.text())));
        ids.push((wallet, keys, id));
    }
    let (alice_wallet, alice, alice_id) = ids.remove(0);
    let (_, bob, bob_id) = ids.remove(0);
    let now = super::now()?;

    // Alice publishes an IPNS record; Bob validates it knowing only her name.
    let value = "/ipfs/bafkqaddwgevxmmraojswg33smq";
    let params = RecordParams::new(
        value,
        1,
        now.checked_add(Duration::from_secs(86_400))
            .context("clock")?,
    );
    let started = Instant::now();
    let record = create_record(alice.ipns(), &params)?;
    t.ipns_create = started.elapsed().as_micros();
    let alice_name = alice_id.ipns_name.parse()?;
    let started = Instant::now();
    let valid = validate_record(&record, &alice_name, now)?;
    t.ipns_validate = started.elapsed().as_micros();
    say(
        json,
        &format!(
            "bob validated alice's IPNS record ({} bytes): {} (sequence {})",
            record.len(),
            valid.value_str().unwrap_or("<binary>"),
            valid.sequence()
        ),
    );
    let mut forged = record.clone();
    if let Some(b) = forged.last_mut() {
        *b ^= 1;
    }
    if let Err(e) = validate_record(&forged, &alice_name, now) {
        say(json, &format!("a tampered copy is rejected: {e}"));
    }

    // Alice adds her phone, a second wallet, as a device.
    let phone_wallet = KeypairWallet::from_secret_seed(&*super::random32()?);
    let phone = IdentityKeys::derive(&phone_wallet, KeyEpoch::ZERO)?;
    let request = DeviceRequest::create(&phone_wallet, &phone, alice.ipns().name())?;
    let grant = DeviceGrant::issue(&alice, &request, super::random32()?, now)?;
    let started = Instant::now();
    let document = DocumentBuilder::new(&alice, now, Duration::from_secs(30 * 86_400))
        .device(grant)
        .sign(&alice_wallet)?;
    t.document_sign = started.elapsed().as_micros();

    // Bob fetches alice's document (by her wallet address) and checks it.
    let started = Instant::now();
    let verified = verify_document(&document, now)?.for_wallet(&alice_wallet.address())?;
    t.document_verify = started.elapsed().as_micros();
    say(
        json,
        &format!(
            "\nbob verified alice's identity document ({} bytes, DHT key {} bytes): wallet -> {} -> dm {}",
            document.len(),
            document_dht_key(&alice_wallet.address()).len(),
            verified.public().ipns_name(),
            verified.public().dm
        ),
    );
    let on_phone = verified.open_grant(&phone)?;
    say(
        json,
        &format!(
            "alice's phone ({}) opened its grant: it now speaks as {}",
            phone_wallet.address(),
            on_phone.ipns().name()
        ),
    );
    if let Err(e) = verified.open_grant(&bob) {
        say(json, &format!("bob cannot open it: {e}"));
    }

    // Direct messages: each writes to their own outbox; blocks travel (here
    // in-process; over libp2p in the transport layer) and each side merges.
    let started = Instant::now();
    let mut alice_conv = Conversation::new(&alice, &bob.public())?;
    let mut bob_conv = Conversation::new(&bob, &alice.public())?;
    let store = SqliteStore::open(&dir.join("alice").join("kaichi.db"), Durability::Full)?;
    store.save_conversation(&StoredConversation {
        id: alice_conv.id(),
        peer: bob.public(),
    })?;
    let mut stored = Vec::new();
    let e = alice_conv.append(
        alice.ipns(),
        &Message::text("hi bob, it's alice", super::now_ms()?),
        &super::random16()?,
    )?;
    bob_conv.ingest(e.block(), Some(&e.cid()))?;
    stored.push(e);
    let e = bob_conv.append(
        bob.ipns(),
        &Message::text("hey alice!", super::now_ms()?),
        &super::random16()?,
    )?;
    alice_conv.ingest(e.block(), Some(&e.cid()))?;
    stored.push(e);
    // Both write at once; each merges the other's block later.
    let a3 = alice_conv.append(
        alice.ipns(),
        &Message::text("lunch tomorrow?", super::now_ms()?),
        &super::random16()?,
    )?;
    let b3 = bob_conv.append(
        bob.ipns(),
        &Message::text("are you free tomorrow?", super::now_ms()?),
        &super::random16()?,
    )?;
    alice_conv.ingest(b3.block(), None)?;
    bob_conv.ingest(a3.block(), None)?;
    stored.extend([a3, b3]);
    store.add_entries(&alice_conv.id(), &stored.iter().collect::<Vec<_>>())?;
    let dm_elapsed = started.elapsed();
    say(
        json,
        &format!(
            "\nalice and bob's conversation {} (both sides agree: {}):",
            alice_conv.id(),
            alice_conv.heads() == bob_conv.heads()
        ),
    );
    for m in alice_conv.page(None, 10).messages.iter().rev() {
        say(
            json,
            &format!(
                "  [{}] {}: {}",
                m.clock,
                if m.mine { "alice" } else { "bob" },
                m.text
            ),
        );
    }
    let car = export_conversation(&alice_conv, &store)?;
    say(
        json,
        &format!(
            "exported as a CAR file: {} blocks, {} bytes; 4 messages written, delivered and merged in {} us",
            alice_conv.len(),
            car.len(),
            dm_elapsed.as_micros()
        ),
    );

    say(
        json,
        &format!(
            "\ntimings: derive keys {} us, IPNS create {} us, IPNS validate {} us, document sign {} us, verify {} us",
            t.derive_keys, t.ipns_create, t.ipns_validate, t.document_sign, t.document_verify
        ),
    );
    if json {
        let out = DemoJson {
            alice: alice_id,
            bob: bob_id,
            alice_record_value: value.to_owned(),
            alice_device: phone_wallet.address().to_string(),
            timings_us: t,
        };
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
