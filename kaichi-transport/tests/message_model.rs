//! The Node API's message model over real sockets: replies, edits,
//! deletions, reactions and read markers reach the other side and show in
//! both views; people are named by typed ids or text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::memory_store;

use common::{next_message, start, wait_for};
use kaichi_privatelog::{EntryCid, MessageBody, Page, ViewMessage};
use kaichi_transport::{NodeError, NodeEvent, Peer};

/// The next change (not a text message) that arrives, by its entry.
async fn next_change(
    events: &mut tokio::sync::mpsc::Receiver<NodeEvent>,
) -> (EntryCid, MessageBody) {
    wait_for(events, |e| match e {
        NodeEvent::MessageChanged { cid, body, .. } => Some((*cid, body.clone())),
        _ => None,
    })
    .await
}

fn message<'a>(page: &'a Page, cid: &EntryCid) -> &'a ViewMessage {
    page.messages
        .iter()
        .find(|m| m.cid == *cid)
        .expect("in the view")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_edits_deletions_reactions_and_read_markers_reach_both_views() {
    let mut alice = start(41, memory_store()).await;
    let mut bob = start(42, memory_store()).await;
    alice.node.dial(bob.addr.clone()).await.unwrap();
    let bob_public = alice.node.add_contact(bob.document.clone()).await.unwrap();
    // Typed ids: Bob by his identity, Alice by her IPNS name.
    let to_bob = Peer::from(&bob_public);
    let to_alice = Peer::Name(alice.node.name());

    let hello = alice.node.send_dm(to_bob, "hello").await.unwrap();
    let typo = alice.node.send_dm(&bob.wallet, "helo").await.unwrap();
    assert_eq!(next_message(&mut bob.events).await, "hello");
    assert_eq!(next_message(&mut bob.events).await, "helo");

    let reply = bob.node.reply(to_alice, hello, "hi!").await.unwrap();
    assert_eq!(next_message(&mut alice.events).await, "hi!");

    let edit = alice.node.edit(to_bob, hello, "hello, Bob").await.unwrap();
    assert_eq!(
        next_change(&mut bob.events).await,
        (
            edit,
            MessageBody::Edit {
                target: hello,
                text: "hello, Bob".into()
            }
        )
    );
    let delete = alice.node.delete(to_bob, typo).await.unwrap();
    assert_eq!(next_change(&mut bob.events).await.0, delete);

    let thumbs = bob.node.react(to_alice, hello, "👍", false).await.unwrap();
    assert_eq!(next_change(&mut alice.events).await.0, thumbs);
    let read = bob.node.mark_read(alice.node.name(), reply).await.unwrap();
    assert_eq!(
        next_change(&mut alice.events).await,
        (read, MessageBody::ReadMarker { up_to: reply })
    );

    let bob_key = bob.keys.ipns().public().to_bytes();
    for page in [
        alice.node.read(to_bob, 50).await.unwrap(),
        bob.node.read(to_alice, 50).await.unwrap(),
    ] {
        let hello_view = message(&page, &hello);
        assert_eq!(hello_view.text, "hello, Bob");
        assert!(hello_view.edited);
        assert_eq!(hello_view.reactions.get("👍"), Some(&vec![bob_key]));
        assert!(message(&page, &typo).deleted);
        assert_eq!(message(&page, &reply).reply_to, Some(hello));
    }

    // Bob withdraws his reaction.
    bob.node.react(to_alice, hello, "👍", true).await.unwrap();
    next_change(&mut alice.events).await;
    let page = alice.node.read(to_bob, 50).await.unwrap();
    assert!(
        message(&page, &hello)
            .reactions
            .get("👍")
            .is_none_or(Vec::is_empty)
    );

    // Text that names nobody is a typed error, and nothing is sent.
    assert!(matches!(
        alice.node.send_dm("nobody at all", "x").await,
        Err(NodeError::InvalidPeer(_))
    ));
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}
