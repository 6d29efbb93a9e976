//! One identity on two devices, each started with `Node::builder`: the
//! laptop with the identity's wallet (its document grants the phone), the
//! phone with its own wallet and that document (`device_of`). Each is its
//! own peer; both follow the identity's inbox, so a contact's message
//! reaches both; what the phone writes, signed with its own key, a contact
//! accepts under the grant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Peer, memory_store, next_message, start, within};
use kaichi_identity::document::{DeviceGrant, DeviceRequest};
use kaichi_identity::wallet::KeypairWallet;
use kaichi_test_support::identity::{keys, now};
use kaichi_transport::{DhtMode, Node, NodeError, NodeEvent};

async fn listening(
    node: Node,
    events: tokio::sync::mpsc::Receiver<NodeEvent>,
    wallet: &KeypairWallet,
    keys: kaichi_identity::IdentityKeys,
) -> Peer {
    let document = node.identity_document().to_vec();
    common::listening(node, events, wallet, keys, document).await
}

fn local(c: kaichi_transport::NodeConfigBuilder) -> kaichi_transport::NodeConfigBuilder {
    // RUST_LOG=kaichi_transport=debug shows what the nodes do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .dht_mode(DhtMode::Server)
        .retry_interval(Duration::from_millis(200))
}

/// The laptop: identity `seed`, its document granting wallet `device_seed`.
async fn start_laptop(seed: u8, device_seed: u8, dir: &std::path::Path) -> Peer {
    let (wallet, identity) = keys(seed);
    let (phone_wallet, phone_keys) = keys(device_seed);
    let request =
        DeviceRequest::create(&phone_wallet, &phone_keys, identity.ipns().name()).unwrap();
    let grant = DeviceGrant::issue(
        &identity,
        &request,
        zeroize::Zeroizing::new([device_seed; 32]),
        now(),
    )
    .unwrap();
    let (node, events) = Node::builder(&wallet, dir.join("laptop"))
        .device_grant(grant)
        .configure(local)
        .start()
        .await
        .unwrap();
    listening(node, events, &wallet, identity).await
}

/// The phone: wallet `device_seed`, a device of the identity `document` is.
async fn start_phone(device_seed: u8, document: Vec<u8>, dir: &std::path::Path) -> Peer {
    let (phone_wallet, phone_keys) = keys(device_seed);
    let identity = kaichi_identity::document::verify_document(&document, now())
        .unwrap()
        .open_grant(&phone_keys)
        .unwrap();
    let (node, events) = Node::builder(&phone_wallet, dir.join("phone"))
        .device_of(document)
        .configure(local)
        .start()
        .await
        .unwrap();
    listening(node, events, &phone_wallet, identity).await
}

/// Dave (`seed`), connected to both devices; each side has the other's
/// document.
async fn meet_dave(seed: u8, laptop: &Peer, phone: &Peer) -> Peer {
    let dave = start(seed, memory_store()).await;
    for p in [laptop, phone] {
        dave.node.dial(p.addr.clone()).await.unwrap();
        p.node.add_contact(dave.document.clone()).await.unwrap();
    }
    dave.node
        .add_contact(laptop.document.clone())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    dave
}

/// The laptop (identity `seed`), while it runs, replaces its document with
/// one that no longer grants the phone (the library's side of `kaichi
/// device revoke`): published at once, sent with what it writes next.
async fn revoke_the_phone(mut laptop: Peer, seed: u8) -> Peer {
    let (wallet, identity) = keys(seed);
    let document = kaichi_identity::document::DocumentBuilder::new(
        &identity,
        now(),
        kaichi_transport::DEFAULT_DOCUMENT_LIFETIME,
    )
    .sign(&wallet)
    .unwrap();
    laptop
        .node
        .set_identity_document(document.clone())
        .await
        .unwrap();
    assert_eq!(&*laptop.node.identity_document(), document.as_slice());
    laptop.document = document;
    laptop
}

/// The laptop (identity `seed`) granting the phone (wallet `device_seed`),
/// both started from home directories under `dir`.
async fn laptop_and_phone(seed: u8, device_seed: u8, dir: &std::path::Path) -> (Peer, Peer) {
    let laptop = start_laptop(seed, device_seed, dir).await;
    let phone = start_phone(device_seed, laptop.document.clone(), dir).await;
    (laptop, phone)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_devices_receive_and_a_contact_accepts_what_the_phone_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut laptop, mut phone) = laptop_and_phone(140, 141, dir.path()).await;
    assert_eq!(phone.node.name(), laptop.node.name());
    assert_ne!(phone.node.peer_id(), laptop.node.peer_id());
    laptop.node.dial(phone.addr.clone()).await.unwrap();
    let mut dave = meet_dave(142, &laptop, &phone).await;

    let name = laptop.node.name().to_string();
    dave.node
        .send_dm(&name, "to all your devices")
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut laptop.events).await,
        "to all your devices"
    );
    assert_eq!(next_message(&mut phone.events).await, "to all your devices");

    phone
        .node
        .send_dm(&dave.wallet, "from the phone")
        .await
        .unwrap();
    assert_eq!(next_message(&mut dave.events).await, "from the phone");
    let page = within(dave.node.read(&name, 10)).await.unwrap();
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert!(texts.contains(&"from the phone"), "{texts:?}");
    for p in [laptop, phone, dave] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_without_a_grant_cannot_start_as_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let (laptop, phone) = laptop_and_phone(143, 144, dir.path()).await;
    let stranger = keys(145).0;
    let refused = Node::builder(&stranger, dir.path().join("stranger"))
        .device_of(laptop.document.clone())
        .configure(local)
        .start()
        .await;
    assert!(
        matches!(refused, Err(NodeError::DeviceGrant(_))),
        "{:?}",
        refused.err()
    );
    for p in [laptop, phone] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_hands_what_it_held_to_each_device_for_itself() {
    let dir = tempfile::tempdir().unwrap();
    let relay = common::start_relay(146).await;
    let dave = start(149, memory_store()).await;
    let dave_doc = dave.document.clone();
    // Both devices are online once: the relay follows the inbox and learns
    // the identity's devices from the document they send.
    let (laptop, phone) = laptop_and_phone(147, 148, dir.path()).await;
    let name = laptop.node.name().to_string();
    let document = laptop.document.clone();
    for p in [&laptop, &phone] {
        p.node.add_contact(dave_doc.clone()).await.unwrap();
        p.node.dial(relay.addr.clone()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    laptop.node.shutdown().await;
    phone.node.shutdown().await;

    dave.node.dial(relay.addr.clone()).await.unwrap();
    dave.node.add_contact(document.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    dave.node
        .send_dm(&name, "while you were out")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    dave.node.shutdown().await;

    // Each comes back alone; the relay is all there is. The first to ask
    // does not take the other's copy.
    let mut laptop = start_laptop(147, 148, dir.path()).await;
    laptop.node.dial(relay.addr.clone()).await.unwrap();
    assert_eq!(next_message(&mut laptop.events).await, "while you were out");
    laptop.node.shutdown().await;
    let mut phone = start_phone(148, document, dir.path()).await;
    phone.node.dial(relay.addr.clone()).await.unwrap();
    assert_eq!(next_message(&mut phone.events).await, "while you were out");
    phone.node.shutdown().await;
    relay.node.shutdown().await;
}

/// The next message or change event's text and author, skipping others.
async fn next_entry(events: &mut tokio::sync::mpsc::Receiver<NodeEvent>) -> (String, String) {
    loop {
        match within(events.recv()).await {
            Some(NodeEvent::MessageReceived { text, from, .. }) => return (text, from.to_string()),
            Some(NodeEvent::MessageChanged { body, from, .. }) => {
                return (format!("{body:?}"), from.to_string());
            }
            Some(_) => {}
            None => panic!("node stopped"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_device_writes_the_other_sees_with_its_contacts_and_edits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut laptop, mut phone) = laptop_and_phone(150, 151, dir.path()).await;
    let mut dave = start(152, memory_store()).await;
    let name = laptop.node.name().to_string();
    for p in [&laptop, &phone] {
        dave.node.dial(p.addr.clone()).await.unwrap();
    }
    laptop.node.dial(phone.addr.clone()).await.unwrap();
    // Only the laptop adds Dave; the phone learns him from self-sync.
    laptop
        .node
        .add_contact(dave.document.clone())
        .await
        .unwrap();
    dave.node
        .add_contact(laptop.document.clone())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;

    let first = laptop
        .node
        .send_dm(&dave.wallet, "from the laptop")
        .await
        .unwrap();
    assert_eq!(next_message(&mut dave.events).await, "from the laptop");
    let added = common::wait_for(&mut phone.events, |e| match e {
        NodeEvent::ContactAdded { name, .. } => Some(name.to_string()),
        _ => None,
    })
    .await;
    assert_eq!(added, dave.node.name().to_string());
    assert_eq!(
        next_entry(&mut phone.events).await,
        ("from the laptop".to_owned(), name.clone())
    );

    // The phone answers in the same conversation; the laptop sees it, and
    // an edit the laptop makes reaches the phone.
    phone
        .node
        .send_dm(&dave.wallet, "and from the phone")
        .await
        .unwrap();
    assert_eq!(next_message(&mut dave.events).await, "and from the phone");
    assert_eq!(
        next_entry(&mut laptop.events).await,
        ("and from the phone".to_owned(), name.clone())
    );
    // Each knows when it last heard from the other (the phone signs with
    // its own key; the laptop with the identity's).
    let phone_key = keys(151).1.ipns().public();
    let seen = laptop.node.devices_seen().await.unwrap();
    assert!(
        seen.iter().any(|d| d.signing_key == Some(phone_key)),
        "{seen:?}"
    );
    let seen = phone.node.devices_seen().await.unwrap();
    assert!(seen.iter().any(|d| d.signing_key.is_none()), "{seen:?}");
    laptop
        .node
        .edit(&dave.wallet, first, "from the laptop (edited)")
        .await
        .unwrap();
    let (edit, author) = next_entry(&mut phone.events).await;
    assert!(edit.contains("from the laptop (edited)"), "{edit}");
    assert_eq!(author, name);
    // Both show one conversation, the same on each device.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let texts =
        |p: kaichi_privatelog::Page| p.messages.into_iter().map(|m| m.text).collect::<Vec<_>>();
    let on_laptop = texts(within(laptop.node.read(&dave.wallet, 10)).await.unwrap());
    let on_phone = texts(within(phone.node.read(&dave.wallet, 10)).await.unwrap());
    assert_eq!(on_laptop, on_phone);
    assert!(
        on_phone.contains(&"from the laptop (edited)".to_owned()),
        "{on_phone:?}"
    );
    for p in [laptop, phone, dave] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_self_sync_adds_no_contact_and_keeps_nothing() {
    use futures::StreamExt as _;
    use kaichi_privatelog::{Conversation, Message, MessageBody};
    use kaichi_transport::notification::Notification;

    let dir = tempfile::tempdir().unwrap();
    let (mut laptop, phone) = laptop_and_phone(153, 154, dir.path()).await;
    // Mallory writes a real entry of her own conversation with the laptop's
    // identity and announces it as if one of its devices had written it.
    let (mallory_wallet, mallory_keys) = keys(155);
    let mallory_doc = kaichi_identity::document::DocumentBuilder::new(
        &mallory_keys,
        now(),
        Duration::from_secs(3600),
    )
    .sign(&mallory_wallet)
    .unwrap();
    let identity = keys(153).1;
    let mut conv = Conversation::new(&mallory_keys, &identity.public()).unwrap();
    let text = MessageBody::Text {
        text: "I am your other device".into(),
        reply_to: None,
        attachments: Vec::new(),
    };
    let entry = conv
        .append(
            mallory_keys.ipns(),
            &Message {
                sent_at_ms: 1,
                body: text,
            },
            &[7; 16],
        )
        .unwrap();
    let forged = Notification {
        sender_document: laptop.document.clone(),
        conversation: conv.id().as_bytes().to_vec(),
        heads: vec![entry.cid().to_bytes().to_vec()],
        blocks: vec![entry.block().to_vec()],
        peer_document: mallory_doc,
        ipns_sequence: u64::MAX,
        ..Default::default()
    };
    let sealed = forged
        .seal(&identity.dm().public(), zeroize::Zeroizing::new([9; 32]))
        .unwrap();
    let topic = kaichi_transport::inbox_topic(&laptop.node.name());
    let mut raw = common::raw_gossip_peer(156);
    raw.dial(laptop.addr.clone()).unwrap();
    common::until_subscribed(&mut raw, &topic.hash()).await;
    raw.behaviour_mut().publish(topic, sealed).unwrap();
    let driver = tokio::spawn(async move {
        loop {
            let _ = raw.select_next_some().await;
        }
    });
    loop {
        match within(laptop.events.recv()).await {
            Some(NodeEvent::Rejected { .. }) => break,
            Some(NodeEvent::ContactAdded { .. }) => panic!("a forged self-sync added a contact"),
            Some(NodeEvent::MessageReceived { .. }) => panic!("a forged self-sync was kept"),
            Some(_) => {}
            None => panic!("laptop stopped"),
        }
    }
    driver.abort();
    // Nor does its IPNS sequence count.
    let sequence = laptop.node.status().await.unwrap().ipns_sequence;
    assert!(sequence <= now().unix_secs(), "{sequence}");
    let mallory = mallory_keys.ipns().name().to_string();
    assert!(
        matches!(
            laptop.node.read(mallory.as_str(), 5).await,
            Err(NodeError::NotAContact(_))
        ),
        "the forged self-sync made Mallory a contact"
    );
    for p in [laptop, phone] {
        p.node.shutdown().await;
    }
}

/// Dave's group "family" with the laptop's identity in it; then the phone
/// comes online, learns the group from the laptop, asks Dave, and is
/// admitted as the laptop identity's device. Returns Dave, the laptop,
/// the phone and the group.
async fn family(seed: u8, dir: &std::path::Path) -> (Peer, Peer, Peer, kaichi_groups::GroupId) {
    let dave = common::start_member(seed, dir).await;
    let mut laptop = start_laptop(seed + 1, seed + 2, dir).await;
    dave.node.dial(laptop.addr.clone()).await.unwrap();
    dave.node
        .add_contact(laptop.document.clone())
        .await
        .unwrap();
    laptop
        .node
        .add_contact(dave.document.clone())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let g = dave.node.create_group("family").await.unwrap();
    dave.node.invite("family", &laptop.wallet).await.unwrap();
    common::wait_for(&mut laptop.events, |e| {
        matches!(e, NodeEvent::GroupJoined { .. }).then_some(())
    })
    .await;
    let mut phone = start_phone(seed + 2, laptop.document.clone(), dir).await;
    phone.node.add_contact(dave.document.clone()).await.unwrap();
    phone.node.dial(dave.addr.clone()).await.unwrap();
    phone.node.dial(laptop.addr.clone()).await.unwrap();
    let joined = common::wait_for(&mut phone.events, |e| match e {
        NodeEvent::GroupJoined { group, .. } => Some(*group),
        NodeEvent::JoinRefused { reason, .. } => panic!("refused: {reason}"),
        _ => None,
    })
    .await;
    assert_eq!(joined, g.id);
    (dave, laptop, phone, g.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_joins_its_identitys_groups_through_their_sequencer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut dave, mut laptop, mut phone, _) = family(157, dir.path()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    dave.node.send_group("family", "hello both").await.unwrap();
    assert_eq!(
        common::next_group_message(&mut phone.events).await,
        "hello both"
    );
    assert_eq!(
        common::next_group_message(&mut laptop.events).await,
        "hello both"
    );
    phone
        .node
        .send_group("family", "from the phone")
        .await
        .unwrap();
    assert_eq!(
        common::next_group_message(&mut dave.events).await,
        "from the phone"
    );
    for p in [laptop, phone, dave] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_identity_revokes_the_phone_a_contact_refuses_what_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (laptop, phone) = laptop_and_phone(160, 161, dir.path()).await;
    let mut dave = meet_dave(162, &laptop, &phone).await;
    let name = laptop.node.name().to_string();
    phone.node.send_dm(&dave.wallet, "before").await.unwrap();
    assert_eq!(next_message(&mut dave.events).await, "before");

    // The phone goes offline; the laptop replaces its document with one
    // that no longer grants the phone, and writes to Dave.
    let old_document = laptop.document.clone();
    phone.node.shutdown().await;
    let laptop = revoke_the_phone(laptop, 160).await;
    laptop
        .node
        .send_dm(&dave.wallet, "phone revoked")
        .await
        .unwrap();
    assert_eq!(next_message(&mut dave.events).await, "phone revoked");

    // The laptop goes offline; the phone comes back still holding the old
    // document (it never saw the new one) and writes: Dave refuses it. Its
    // node refuses a document that revokes it.
    let new_document = laptop.document.clone();
    laptop.node.shutdown().await;
    let phone = start_phone(161, old_document, dir.path()).await;
    phone.node.dial(dave.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let taken = phone.node.set_identity_document(new_document).await;
    assert!(
        matches!(taken, Err(NodeError::DeviceNotGranted)),
        "{taken:?}"
    );
    phone.node.send_dm(&dave.wallet, "after").await.unwrap();
    loop {
        match within(dave.events.recv()).await {
            Some(NodeEvent::Rejected { .. }) => break,
            Some(NodeEvent::MessageReceived { text, .. }) => panic!("accepted {text:?}"),
            Some(_) => {}
            None => panic!("dave stopped"),
        }
    }
    let page = within(dave.node.read(&name, 10)).await.unwrap();
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert!(
        texts.contains(&"before") && !texts.contains(&"after"),
        "{texts:?}"
    );
    for p in [laptop, phone, dave] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_is_taken_out_of_its_identitys_groups() {
    let dir = tempfile::tempdir().unwrap();
    let (mut dave, laptop, mut phone, g) = family(163, dir.path()).await;

    // The laptop revokes the phone (a new document without its grant) and
    // writes to Dave, the group's sequencer, who learns the document.
    let mut laptop = revoke_the_phone(laptop, 164).await;
    laptop
        .node
        .send_dm(&dave.wallet, "phone revoked")
        .await
        .unwrap();
    assert_eq!(next_message(&mut dave.events).await, "phone revoked");
    common::wait_for(&mut phone.events, |e| match e {
        NodeEvent::GroupRemoved { group } if *group == g => Some(()),
        _ => None,
    })
    .await;
    // The laptop is still in the group and reads what Dave sends.
    dave.node
        .send_group("family", "just the laptop now")
        .await
        .unwrap();
    assert_eq!(
        common::next_group_message(&mut laptop.events).await,
        "just the laptop now"
    );
    for p in [laptop, phone, dave] {
        p.node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_back_online_catches_up_from_the_other_device() {
    let dir = tempfile::tempdir().unwrap();
    let (laptop, phone) = laptop_and_phone(166, 167, dir.path()).await;
    let mut dave = start(168, memory_store()).await;
    let document = laptop.document.clone();
    for p in [&laptop, &phone] {
        p.node.dial(dave.addr.clone()).await.unwrap();
        p.node.add_contact(dave.document.clone()).await.unwrap();
    }
    dave.node.add_contact(document.clone()).await.unwrap();
    // The phone goes away; no relay is there to hold anything for it.
    phone.node.shutdown().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    for text in ["one while you slept", "two while you slept"] {
        laptop.node.send_dm(&dave.wallet, text).await.unwrap();
        assert_eq!(next_message(&mut dave.events).await, text);
    }
    // It comes back and meets the laptop only.
    let phone = start_phone(167, document, dir.path()).await;
    phone.node.dial(laptop.addr.clone()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let page = within(phone.node.read(&dave.wallet, 10)).await.unwrap();
        let texts: Vec<_> = page.messages.iter().map(|m| m.text.clone()).collect();
        if texts.contains(&"one while you slept".to_owned())
            && texts.contains(&"two while you slept".to_owned())
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{texts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for p in [laptop, phone, dave] {
        p.node.shutdown().await;
    }
}

/// The laptop lets the phone approve devices; the phone approves a tablet
/// while both run (a document signed with the phone's wallet, handed to
/// its node). The laptop's node takes that newer document of its identity
/// from the phone's next self-sync; the tablet starts from it, and a
/// contact accepts what the tablet writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_allowed_to_approve_adds_a_tablet_and_the_laptop_takes_its_document() {
    let dir = tempfile::tempdir().unwrap();
    let (seed, phone_seed, tablet_seed) = (160u8, 161u8, 162u8);
    let (wallet, identity) = keys(seed);
    let grant_for = |device: u8| {
        let (w, k) = keys(device);
        let request = DeviceRequest::create(&w, &k, identity.ipns().name()).unwrap();
        DeviceGrant::issue(
            &identity,
            &request,
            zeroize::Zeroizing::new([device; 32]),
            now(),
        )
        .unwrap()
    };
    let phone_grant = grant_for(phone_seed).with_approver(true);
    let (node, events) = Node::builder(&wallet, dir.path().join("laptop"))
        .device_grant(phone_grant.clone())
        .configure(local)
        .start()
        .await
        .unwrap();
    let laptop = listening(node, events, &wallet, identity.clone()).await;
    let phone = start_phone(phone_seed, laptop.document.clone(), dir.path()).await;
    laptop.node.dial(phone.addr.clone()).await.unwrap();
    let mut dave = meet_dave(163, &laptop, &phone).await;

    // The phone approves the tablet: its own wallet signs, on the laptop's
    // document as authority.
    let (phone_wallet, _) = keys(phone_seed);
    let authority = laptop.document.clone();
    let current =
        kaichi_identity::document::verify_document(&phone.node.identity_document(), now()).unwrap();
    let mut builder = kaichi_identity::document::DocumentBuilder::new(
        &identity,
        now(),
        Duration::from_secs(20 * 86_400),
    )
    .device(grant_for(tablet_seed));
    for g in current.devices() {
        builder = builder.device(g.clone());
    }
    for kp in current.key_packages() {
        builder = builder.key_package(kp.clone());
    }
    let approved = builder.sign_as_device(&phone_wallet, &authority).unwrap();
    phone
        .node
        .set_identity_document(approved.clone())
        .await
        .unwrap();
    // The laptop (primary) refuses nothing newer than its own; it takes the
    // phone's document with the phone's next message.
    phone
        .node
        .send_dm(&dave.wallet, "a tablet joins us")
        .await
        .unwrap();
    assert_eq!(next_message(&mut dave.events).await, "a tablet joins us");
    within(async {
        while *laptop.node.identity_document() != *approved {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;

    // The tablet starts from the document the phone signed; Dave accepts
    // what it writes (he learnt the grant with the phone's message).
    let tablet = {
        let (w, k) = keys(tablet_seed);
        let keys = kaichi_identity::document::verify_document(&approved, now())
            .unwrap()
            .open_grant(&k)
            .unwrap();
        let (node, events) = Node::builder(&w, dir.path().join("tablet"))
            .device_of(approved.clone())
            .configure(local)
            .start()
            .await
            .unwrap();
        listening(node, events, &w, keys).await
    };
    dave.node.dial(tablet.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    tablet
        .node
        .add_contact(dave.document.clone())
        .await
        .unwrap();
    tablet
        .node
        .send_dm(&dave.wallet, "hello from the tablet")
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut dave.events).await,
        "hello from the tablet"
    );
    for p in [laptop, phone, tablet, dave] {
        p.node.shutdown().await;
    }
}

/// Another device of the identity (here the test, holding the identity's
/// keys) self-syncs an entry with the sequence of the IPNS record it
/// published, ahead of this node's clock: the laptop's next record
/// outranks it. A sequence far in the future counts only up to the skew
/// allowed, and a forged self-sync (`a_forged_self_sync_…`) counts not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_learns_the_other_devices_ipns_sequence_and_outranks_it() {
    use futures::StreamExt as _;
    use kaichi_privatelog::{Conversation, Message, MessageBody};
    use kaichi_transport::notification::Notification;

    let dir = tempfile::tempdir().unwrap();
    let mut laptop = start_laptop(170, 171, dir.path()).await;
    let identity = keys(170).1;
    let (dave_wallet, dave_keys) = keys(172);
    let dave_doc = kaichi_identity::document::DocumentBuilder::new(
        &dave_keys,
        now(),
        Duration::from_secs(3600),
    )
    .sign(&dave_wallet)
    .unwrap();
    let mut conv = Conversation::new(&identity, &dave_keys.public()).unwrap();
    let topic = kaichi_transport::inbox_topic(&laptop.node.name());
    let mut raw = common::raw_gossip_peer(173);
    raw.dial(laptop.addr.clone()).unwrap();
    common::until_subscribed(&mut raw, &topic.hash()).await;
    // The raw peer publishes what the test hands it, and keeps its swarm going.
    let (publish, mut to_publish) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let runner = tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(sealed) = to_publish.recv() => {
                    raw.behaviour_mut().publish(topic.clone(), sealed).unwrap();
                }
                _ = raw.select_next_some() => {}
            }
        }
    });
    let now_secs = now().unix_secs();
    for (i, sequence) in [now_secs + 300, u64::MAX].into_iter().enumerate() {
        let entry = conv
            .append(
                identity.ipns(),
                &Message {
                    sent_at_ms: 1 + i as u64,
                    body: MessageBody::Text {
                        text: format!("from the other device {i}"),
                        reply_to: None,
                        attachments: Vec::new(),
                    },
                },
                &[i as u8; 16],
            )
            .unwrap();
        let sync = Notification {
            sender_document: laptop.document.clone(),
            conversation: conv.id().as_bytes().to_vec(),
            heads: vec![entry.cid().to_bytes().to_vec()],
            blocks: vec![entry.block().to_vec()],
            peer_document: dave_doc.clone(),
            ipns_sequence: sequence,
            ..Default::default()
        };
        let sealed = sync
            .seal(
                &identity.dm().public(),
                zeroize::Zeroizing::new([i as u8 + 1; 32]),
            )
            .unwrap();
        publish.send(sealed).await.unwrap();
        loop {
            match within(laptop.events.recv()).await {
                Some(NodeEvent::MessageReceived { text, .. }) if text.ends_with(&i.to_string()) => {
                    break;
                }
                Some(_) => {}
                None => panic!("laptop stopped"),
            }
        }
        let seen = laptop.node.status().await.unwrap().ipns_sequence;
        assert!(
            seen >= now_secs + 300,
            "the laptop outranks the other device: {seen}"
        );
        assert!(
            seen <= now().unix_secs() + 600 + 1,
            "a far sequence counts up to the skew: {seen}"
        );
    }
    runner.abort();
    laptop.node.shutdown().await;
}

/// After a restart, the laptop still tells the phone what it writes to a
/// contact it has not heard from since: the contact's document (which
/// self-sync carries) was kept in the store, not only in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_sync_goes_on_after_a_restart_before_the_contact_is_heard_from() {
    let dir = tempfile::tempdir().unwrap();
    let (laptop, mut phone) = laptop_and_phone(180, 181, dir.path()).await;
    laptop.node.dial(phone.addr.clone()).await.unwrap();
    let mut dave = meet_dave(182, &laptop, &phone).await;
    laptop.node.shutdown().await;

    let laptop = start_laptop(180, 181, dir.path()).await;
    laptop.node.dial(phone.addr.clone()).await.unwrap();
    dave.node.dial(laptop.addr.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    laptop
        .node
        .send_dm(&dave.wallet, "after the restart")
        .await
        .unwrap();
    assert_eq!(next_message(&mut dave.events).await, "after the restart");
    assert_eq!(
        next_entry(&mut phone.events).await.0,
        "after the restart",
        "the phone saw what the restarted laptop wrote"
    );
    for p in [laptop, phone, dave] {
        p.node.shutdown().await;
    }
}
