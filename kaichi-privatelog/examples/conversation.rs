//! Two outbox logs of one conversation, merged on both sides, then
//! exported as a CARv1 file that `ipfs dag import` accepts.
//!
//! `cargo run -p kaichi-privatelog --example conversation [OUT.car]`

use kaichi_identity::wallet::KeypairWallet;
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::store::{
    LogStore as _, MemoryStore, StoredConversation, export_conversation,
};
use kaichi_privatelog::{Conversation, Message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let alice = IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[1; 32]), KeyEpoch::ZERO)?;
    let bob = IdentityKeys::derive(&KeypairWallet::from_secret_seed(&[2; 32]), KeyEpoch::ZERO)?;
    let mut at_alice = Conversation::new(&alice, &bob.public())?;
    let mut at_bob = Conversation::new(&bob, &alice.public())?;

    // Each side writes to its own log without hearing from the other
    // (salts are fresh random bytes in real use).
    let a1 = at_alice.append(alice.ipns(), &Message::text("hi bob", 1), &[1; 16])?;
    let b1 = at_bob.append(bob.ipns(), &Message::text("hi alice", 2), &[2; 16])?;
    let a2 = at_alice.append(alice.ipns(), &Message::text("how are you?", 3), &[3; 16])?;

    // The blocks travel both ways, in any order; each side verifies and merges.
    for e in [&a2, &a1] {
        at_bob.ingest(e.block(), Some(&e.cid()))?;
    }
    at_alice.ingest(b1.block(), Some(&b1.cid()))?;
    assert_eq!(at_alice.heads(), at_bob.heads(), "both sides converge");
    for m in at_bob.page(None, 10).messages {
        let who = if m.author == alice.public().ipns.to_bytes() {
            "alice"
        } else {
            "bob"
        };
        println!("{who}: {}", m.text);
    }

    // Alice keeps her copy in a store and exports it.
    let store = MemoryStore::new();
    store.save_conversation(&StoredConversation {
        id: at_alice.id(),
        peer: bob.public(),
    })?;
    store.add_entries(&at_alice.id(), &[&a1, &b1, &a2])?;
    let car = export_conversation(&at_alice, &store)?;
    match std::env::args().nth(1) {
        Some(path) => {
            std::fs::write(&path, &car)?;
            println!("exported {} bytes to {path}", car.len());
        }
        None => println!(
            "exported {} bytes of CARv1 (give a path to write it)",
            car.len()
        ),
    }
    Ok(())
}
