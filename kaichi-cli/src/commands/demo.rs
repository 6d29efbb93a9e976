//! `kaichi demo`: a self-contained tour in a temporary directory.
//!
//! Two fresh wallets get profiles on disk, derive their identities, publish
//! and validate IPNS records, publish identity documents, and Alice adds a
//! second device; then Alice, Bob and a relay run real nodes on loopback,
//! exchange direct messages both ways, Bob goes offline and catches up from
//! the relay, Alice, Bob and Carol chat in an MLS group and Alice removes
//! Carol, and Alice exports the conversation as a CAR file.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kaichi_identity::document::{DeviceGrant, DeviceRequest, DocumentBuilder, verify_document};
use kaichi_identity::ipns::{RecordParams, create_record, validate_record};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::Conversation;
use kaichi_privatelog::store::{Durability, SqliteStore, export_conversation};
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeEvent};
use serde::Serialize;
use tokio::sync::mpsc;

use super::id::IdJson;
use crate::profile::Profile;

#[derive(Debug, Serialize)]
struct DemoJson {
    alice: IdJson,
    bob: IdJson,
    alice_record_value: String,
    alice_device: String,
    timings_us: Timings,
    group_timings_us: GroupTimings,
}

#[derive(Debug, Default, Serialize)]
struct Timings {
    derive_keys: u128,
    ipns_create: u128,
    ipns_validate: u128,
    document_sign: u128,
    document_verify: u128,
    dm_first_delivery: u128,
    dm_reply: u128,
    dm_catch_up: u128,
}

struct NetTimings {
    first: u128,
    reply: u128,
    catch_up: u128,
    group: GroupTimings,
}

#[derive(Debug, Default, Serialize)]
struct GroupTimings {
    invite: u128,
    message: u128,
    removal: u128,
}

/// Alice, Bob and Carol in a group chat; Alice removes Carol.
async fn group_chat(
    dir: &std::path::Path,
    alice: (&Node, &mut mpsc::Receiver<NodeEvent>),
    bob: (&Node, &mut mpsc::Receiver<NodeEvent>),
    relay_addr: &Multiaddr,
    json: bool,
) -> anyhow::Result<GroupTimings> {
    let mut t = GroupTimings::default();
    let carol_wallet = new_wallet(dir, "carol")?;
    let carol = IdentityKeys::derive(&carol_wallet, KeyEpoch::ZERO)?;
    let (carol_node, mut carol_events, _) =
        start_node(dir, "carol", &carol_wallet, &carol, Some(relay_addr), false).await?;
    // Alice knows Carol's document (without its KeyPackage: the invitation
    // finds the one Carol's node published in the DHT).
    let carol_doc = DocumentBuilder::new(&carol, super::now()?, Duration::from_secs(86_400))
        .sign(&carol_wallet)?;
    alice.0.add_contact(carol_doc).await?;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let group = alice.0.create_group("kaichi demo group").await?;
    say(
        json,
        &format!(
            "
group chat (MLS): alice created {:?} ({})",
            group.name, group.id
        ),
    );
    let joined = |e: &NodeEvent| matches!(e, NodeEvent::GroupJoined { .. });
    let started = Instant::now();
    for wallet in [bob.0, &carol_node] {
        let name = wallet.name().to_string();
        alice.0.invite("kaichi demo group", &name).await?;
    }
    until(bob.1, joined).await?;
    // Carol never wrote to Alice: the invitation is a message request,
    // held until she accepts it.
    let request = |e: &NodeEvent| matches!(e, NodeEvent::MessageRequest { .. });
    until(&mut carol_events, request).await?;
    say(
        json,
        "carol: a message request from alice (a group invitation); carol accepts it",
    );
    carol_node.accept_request(alice.0.name()).await?;
    until(&mut carol_events, joined).await?;
    t.invite = started.elapsed().as_micros();
    say(
        json,
        &format!(
            "bob and carol joined from their Welcomes in {} us",
            t.invite
        ),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let group_text = |t: &'static str| move |e: &NodeEvent| matches!(e, NodeEvent::GroupMessage { text, .. } if text == t);
    let started = Instant::now();
    carol_node
        .send_group("kaichi demo group", "hello group, carol here")
        .await?;
    until(alice.1, group_text("hello group, carol here")).await?;
    until(bob.1, group_text("hello group, carol here")).await?;
    t.message = started.elapsed().as_micros();
    say(
        json,
        &format!("carol's message reached alice and bob in {} us", t.message),
    );

    let started = Instant::now();
    alice
        .0
        .remove_member("kaichi demo group", &carol.ipns().name().to_string())
        .await?;
    until(&mut carol_events, |e| {
        matches!(e, NodeEvent::GroupRemoved { .. })
    })
    .await?;
    t.removal = started.elapsed().as_micros();
    alice
        .0
        .send_group("kaichi demo group", "just bob and me now")
        .await?;
    until(bob.1, group_text("just bob and me now")).await?;
    let unread = tokio::time::timeout(
        Duration::from_millis(500),
        until(&mut carol_events, group_text("just bob and me now")),
    )
    .await
    .is_err();
    say(
        json,
        &format!(
            "alice removed carol (she knew in {} us); carol cannot read what follows: {unread}",
            t.removal
        ),
    );
    let groups = bob.0.groups().await?;
    if let Some(g) = groups.first() {
        say(
            json,
            &format!(
                "bob's view: {:?} at epoch {}, {} members",
                g.name,
                g.epoch,
                g.members.len()
            ),
        );
    }
    for m in bob.0.read_group("kaichi demo group", 10).await? {
        let who = if m.sender == alice.0.name().to_string() {
            "alice"
        } else if m.sender == carol.ipns().name().to_string() {
            "carol"
        } else {
            "bob"
        };
        say(
            json,
            &format!(
                "  [epoch {}] {who}: {}",
                m.epoch,
                String::from_utf8_lossy(&m.body)
            ),
        );
    }
    carol_node.shutdown().await;
    Ok(t)
}

async fn start_node(
    dir: &std::path::Path,
    who: &str,
    wallet: &KeypairWallet,
    keys: &IdentityKeys,
    bootstrap: Option<&Multiaddr>,
    relay: bool,
) -> anyhow::Result<(Node, mpsc::Receiver<NodeEvent>, Multiaddr)> {
    crate::profile::create_private_dir(&dir.join(who))?;
    let listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse()?;
    let (node, mut events) = Node::builder(wallet, dir.join(who))
        .epoch(keys.epoch())
        .document_lifetime(Duration::from_secs(86_400))
        .configure(|mut c| {
            // Loopback, where AutoNAT confirms nothing: serve the DHT.
            c = c
                .listen(listen)
                .retry_interval(Duration::from_millis(100))
                .dht_mode(DhtMode::Server);
            if let Some(b) = bootstrap {
                c = c.bootstrap(b.clone());
            }
            if relay {
                c = c.relay(Duration::from_secs(3600));
            }
            c
        })
        .start()
        .await?;
    let addr = loop {
        match tokio::time::timeout(Duration::from_secs(20), events.recv()).await? {
            Some(NodeEvent::Listening(a)) => break a,
            Some(_) => {}
            None => anyhow::bail!("{who}'s node stopped"),
        }
    };
    Ok((node, events, addr))
}

async fn until(
    events: &mut mpsc::Receiver<NodeEvent>,
    want: impl Fn(&NodeEvent) -> bool,
) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), events.recv()).await? {
            Some(e) if want(&e) => return Ok(()),
            Some(_) => {}
            None => anyhow::bail!("a node stopped"),
        }
    }
}

fn text_is(t: &'static str) -> impl Fn(&NodeEvent) -> bool {
    move |e| matches!(e, NodeEvent::MessageReceived { text, .. } if text == t)
}

async fn network(
    dir: &std::path::Path,
    alice_wallet: &KeypairWallet,
    alice: &IdentityKeys,
    bob_wallet: &KeypairWallet,
    bob: &IdentityKeys,
    relay_wallet: &KeypairWallet,
    json: bool,
) -> anyhow::Result<NetTimings> {
    let relay_keys = IdentityKeys::derive(relay_wallet, KeyEpoch::ZERO)?;
    let (relay, _relay_events, relay_addr) =
        start_node(dir, "relay", relay_wallet, &relay_keys, None, true).await?;
    let (bob_node, mut bob_events, _) =
        start_node(dir, "bob", bob_wallet, bob, Some(&relay_addr), false).await?;
    let (alice_node, mut alice_events, _) =
        start_node(dir, "alice", alice_wallet, alice, Some(&relay_addr), false).await?;
    say(
        json,
        &format!("\nnetwork: relay {relay_addr}; alice and bob connect only to the relay"),
    );
    let bob_doc =
        DocumentBuilder::new(bob, super::now()?, Duration::from_secs(86_400)).sign(bob_wallet)?;
    alice_node.add_contact(bob_doc).await?;
    let bob_name = bob.ipns().name().to_string();
    let alice_name = alice.ipns().name().to_string();

    let started = Instant::now();
    alice_node.send_dm(&bob_name, "hi bob, it's alice").await?;
    until(&mut bob_events, text_is("hi bob, it's alice")).await?;
    let first = started.elapsed().as_micros();
    say(
        json,
        &format!("bob received alice's first message in {first} us"),
    );

    let started = Instant::now();
    bob_node.send_dm(&alice_name, "hey alice!").await?;
    until(&mut alice_events, text_is("hey alice!")).await?;
    let reply = started.elapsed().as_micros();
    say(json, &format!("alice received bob's reply in {reply} us"));

    bob_node.shutdown().await;
    say(json, "bob goes offline");
    alice_node.send_dm(&bob_name, "while you were away").await?;
    alice_node.send_dm(&bob_name, "see you tomorrow?").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let (bob_node, mut bob_events, _) =
        start_node(dir, "bob", bob_wallet, bob, Some(&relay_addr), false).await?;
    until(&mut bob_events, text_is("see you tomorrow?")).await?;
    let catch_up = started.elapsed().as_micros();
    say(
        json,
        &format!("bob is back and caught up from the relay in {catch_up} us"),
    );
    let group = group_chat(
        dir,
        (&alice_node, &mut alice_events),
        (&bob_node, &mut bob_events),
        &relay_addr,
        json,
    )
    .await?;
    for node in [&alice_node, &bob_node, &relay] {
        node.shutdown().await;
    }
    Ok(NetTimings {
        first,
        reply,
        catch_up,
        group,
    })
}

pub(crate) fn run(json: bool, keep: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    if let Some(dir) = keep {
        if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
            anyhow::bail!(
                "{} is not empty: the demo keeps its profiles in a new or empty directory",
                dir.display()
            );
        }
        return tour(&dir, json);
    }
    let dir = std::env::temp_dir().join(format!("kaichi-demo-{}", std::process::id()));
    let result = tour(&dir, json);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A fresh wallet, kept as `dir/<who>/wallet.json` (a profile) like
/// Alice's and Bob's: `demo --keep` leaves every wallet of the run.
fn new_wallet(dir: &std::path::Path, who: &str) -> anyhow::Result<KeypairWallet> {
    let wallet = KeypairWallet::from_secret_seed(&*super::random32()?);
    Profile::at(Some(dir.join(who)))?.set_wallet(&wallet, false)?;
    Ok(wallet)
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
        new_wallet(dir, who)?;
        let profile = Profile::at(Some(dir.join(who)))?;
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
    let phone_wallet = new_wallet(dir, "phone")?;
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
            "\nbob verified alice's identity document ({} bytes; found by her wallet's DHT provider key, {} bytes): wallet -> {} -> dm {}",
            document.len(),
            kaichi_transport::dht::wallet_key(&alice_wallet.address()).len(),
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

    // Direct messages over the network: Alice, Bob and a relay on loopback,
    // each with its own embedded store in the temporary directory.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bob_wallet =
        KeypairWallet::from_keypair_json(&std::fs::read(dir.join("bob").join("wallet.json"))?)?;
    let relay_wallet = new_wallet(dir, "relay")?;
    let net = runtime.block_on(network(
        dir,
        &alice_wallet,
        &alice,
        &bob_wallet,
        &bob,
        &relay_wallet,
        json,
    ))?;
    t.dm_first_delivery = net.first;
    t.dm_reply = net.reply;
    t.dm_catch_up = net.catch_up;
    let group_timings = net.group;

    let store = SqliteStore::open(&dir.join("alice").join("kaichi.db"), Durability::Full)?;
    let mut alice_conv = Conversation::new(&alice, &bob.public())?;
    alice_conv.load(&store)?;
    say(
        json,
        &format!(
            "\nthe conversation as alice's store holds it ({}):",
            alice_conv.id()
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
            "exported as a CAR file: {} blocks, {} bytes",
            alice_conv.len(),
            car.len()
        ),
    );

    say(
        json,
        &format!(
            "\ntimings: derive keys {} us, IPNS create {} us, IPNS validate {} us, document sign {} us, verify {} us\n\
             delivery: first DM {} us (includes connection and subscription set-up), reply {} us, catch-up after reconnect {} us",
            t.derive_keys,
            t.ipns_create,
            t.ipns_validate,
            t.document_sign,
            t.document_verify,
            t.dm_first_delivery,
            t.dm_reply,
            t.dm_catch_up
        ),
    );
    if json {
        let out = DemoJson {
            alice: alice_id,
            bob: bob_id,
            alice_record_value: value.to_owned(),
            alice_device: phone_wallet.address().to_string(),
            timings_us: t,
            group_timings_us: group_timings,
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
