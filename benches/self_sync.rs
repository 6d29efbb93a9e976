//! Self-sync between two devices of one identity on loopback: the phone
//! (a device of the laptop's identity, its own peer) sends a message to a
//! contact; the time from the send call to the laptop's decrypted event
//! for that entry, p50 / p99 over the messages.
//!
//! `cargo bench -p kaichi-benches --bench self_sync`
//! (`KAICHI_BENCH_SELF_SYNC_MESSAGES` changes the 200.)
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use kaichi_identity::document::{DeviceGrant, DeviceRequest};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch, Timestamp};
use kaichi_transport::{DhtMode, Multiaddr, Node, NodeConfigBuilder, NodeEvent};
use tokio::sync::mpsc;

fn local(c: NodeConfigBuilder) -> NodeConfigBuilder {
    c.listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .retry_interval(Duration::from_millis(100))
        .event_buffer(65_536)
        .dht_mode(DhtMode::Server)
}

async fn listening(events: &mut mpsc::Receiver<NodeEvent>) -> Multiaddr {
    loop {
        if let Some(NodeEvent::Listening(a)) = events.recv().await {
            return a;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let messages: usize = std::env::var("KAICHI_BENCH_SELF_SYNC_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let wallet = KeypairWallet::from_secret_seed(&[71; 32]);
        let identity = IdentityKeys::derive(&wallet, KeyEpoch::ZERO).unwrap();
        let phone_wallet = KeypairWallet::from_secret_seed(&[72; 32]);
        let phone_keys = IdentityKeys::derive(&phone_wallet, KeyEpoch::ZERO).unwrap();
        let request =
            DeviceRequest::create(&phone_wallet, &phone_keys, identity.ipns().name()).unwrap();
        let now = Timestamp::from_system_time(std::time::SystemTime::now()).unwrap();
        let grant =
            DeviceGrant::issue(&identity, &request, zeroize::Zeroizing::new([73; 32]), now)
                .unwrap();
        let (laptop, mut laptop_events) = Node::builder(&wallet, dir.path().join("laptop"))
            .device_grant(grant)
            .configure(local)
            .start()
            .await
            .unwrap();
        let laptop_addr = listening(&mut laptop_events).await;
        let document = laptop.identity_document().to_vec();
        let (phone, mut phone_events) = Node::builder(&phone_wallet, dir.path().join("phone"))
            .device_of(document.clone())
            .configure(local)
            .start()
            .await
            .unwrap();
        listening(&mut phone_events).await;
        let dave_wallet = KeypairWallet::from_secret_seed(&[74; 32]);
        let (dave, mut dave_events) = Node::builder(&dave_wallet, dir.path().join("dave"))
            .configure(local)
            .start()
            .await
            .unwrap();
        let dave_addr = listening(&mut dave_events).await;
        phone.dial(laptop_addr).await.unwrap();
        phone.dial(dave_addr.clone()).await.unwrap();
        laptop.dial(dave_addr).await.unwrap();
        for n in [&laptop, &phone] {
            n.add_contact(dave.identity_document().to_vec()).await.unwrap();
        }
        dave.add_contact(document).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Dave's and the phone's events are not read here: keep them
        // drained.
        for mut events in [dave_events, phone_events] {
            tokio::spawn(async move { while events.recv().await.is_some() {} });
        }
        let to = dave_wallet.address().to_string();
        let mut delays = Vec::with_capacity(messages);
        for i in 0..messages {
            let text = format!("self-sync {i}");
            let t = Instant::now();
            phone.send_dm(to.as_str(), &text).await.unwrap();
            loop {
                match tokio::time::timeout(Duration::from_secs(10), laptop_events.recv()).await {
                    Ok(Some(NodeEvent::MessageReceived { text: got, .. })) if got == text => {
                        delays.push(t.elapsed());
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("the laptop stopped"),
                    Err(_) => panic!("message {i} never reached the laptop"),
                }
            }
        }
        delays.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "self-sync phone -> laptop over {messages} messages: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(percentile(&delays, 0.5)),
            ms(percentile(&delays, 0.99)),
            ms(*delays.last().unwrap()),
        );
        for n in [laptop, phone, dave] {
            n.shutdown().await;
        }
    });
}
