//! Inbox notifications, as the page sends and receives them over libp2p
//! gossipsub: sealed to the recipient's DM key, published on its inbox
//! topic (`/kaichi/inbox/1/<ipns name>`), carrying the sender's identity
//! document, the conversation's heads and the new entry blocks inline, or
//! a delivery receipt.

use kaichi_privatelog::EntryCid;
use kaichi_privatelog::notification::{MAX_RECEIPT_ENTRIES, Notification, Receipt};
use kaichi_privatelog::store::LogStore as _;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::conversation::Conversation;
use crate::error::js;
use crate::identity::Identity;

/// The gossipsub topic of an identity's inbox.
#[wasm_bindgen(js_name = inboxTopic)]
pub fn inbox_topic(ipns_name: &str) -> Result<String, JsError> {
    let name: kaichi_identity::IpnsName = ipns_name.parse().map_err(|e| js(&e))?;
    Ok(format!("/kaichi/inbox/1/{name}"))
}

fn ephemeral() -> Result<Zeroizing<[u8; 32]>, JsError> {
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut()).map_err(|e| JsError::new(&format!("randomness: {e}")))?;
    Ok(key)
}

/// A notification opened with this identity's key.
#[wasm_bindgen]
pub struct Received {
    inner: Notification,
}

#[wasm_bindgen]
impl Received {
    /// The sender's signed identity document (`verifyDocument` it to know
    /// who wrote; a new sender is a message request).
    #[wasm_bindgen(getter, js_name = senderDocument)]
    pub fn sender_document(&self) -> Vec<u8> {
        self.inner.sender_document.clone()
    }

    /// The conversation it is about (hex), empty for group traffic.
    #[wasm_bindgen(getter)]
    pub fn conversation(&self) -> String {
        self.inner
            .conversation
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Entry blocks carried inline.
    #[wasm_bindgen(getter)]
    pub fn blocks(&self) -> Vec<js_sys::Uint8Array> {
        self.inner
            .blocks
            .iter()
            .map(|b| js_sys::Uint8Array::from(&b[..]))
            .collect()
    }

    /// The sender's heads of the conversation (CIDs).
    #[wasm_bindgen(getter)]
    pub fn heads(&self) -> Vec<String> {
        cids(&self.inner.heads)
    }

    /// Entries of ours the sender acknowledged storing (CIDs), if it is a
    /// receipt.
    #[wasm_bindgen(getter)]
    pub fn acknowledged(&self) -> Vec<String> {
        self.inner
            .receipt
            .as_ref()
            .map(|r| cids(&r.entries))
            .unwrap_or_default()
    }
}

fn cids(binary: &[Vec<u8>]) -> Vec<String> {
    binary
        .iter()
        .filter_map(|c| EntryCid::from_bytes(c).ok())
        .map(|c| c.to_string())
        .collect()
}

#[wasm_bindgen]
impl Identity {
    /// This identity's inbox topic.
    #[wasm_bindgen(getter, js_name = inboxTopic)]
    pub fn own_inbox_topic(&self) -> String {
        format!("/kaichi/inbox/1/{}", self.keys.ipns().name())
    }

    /// Opens a notification from this identity's inbox topic (an Error
    /// when it is not sealed to this identity, or is not a notification).
    #[wasm_bindgen(js_name = openNotification)]
    pub fn open_notification(&self, sealed: &[u8]) -> Result<Received, JsError> {
        let inner = Notification::open(self.keys.dm(), sealed).map_err(|e| js(&e))?;
        Ok(Received { inner })
    }
}

#[wasm_bindgen]
impl Conversation {
    /// The contact's inbox topic (where `notify` and `acknowledge` go).
    #[wasm_bindgen(getter, js_name = contactInboxTopic)]
    pub fn contact_inbox_topic(&self) -> String {
        format!("/kaichi/inbox/1/{}", self.peer_public().ipns_name())
    }

    /// A sealed notification to the contact announcing this side's heads,
    /// with `blocks` (entries just written) inline; `myDocument` is this
    /// identity's signed document (the contact learns who wrote from it).
    /// Refused while the store has changes in flight (`await
    /// store.durable()` first): an entry announced is one kept.
    pub fn notify(
        &self,
        my_document: &[u8],
        blocks: Vec<js_sys::Uint8Array>,
    ) -> Result<Vec<u8>, JsError> {
        crate::store::ensure_durable(self.store(), "announce entries")?;
        let notification = Notification {
            sender_document: my_document.to_vec(),
            conversation: self.id_bytes().to_vec(),
            heads: self.head_bytes(),
            blocks: blocks.iter().map(|b| b.to_vec()).collect(),
            ..Default::default()
        };
        notification
            .seal(&self.peer_public().dm, ephemeral()?)
            .map_err(|e| js(&e))
    }

    /// A sealed delivery receipt for entries of the contact's this side
    /// stored (`cids`, at most 1,024). Refused while the store has changes
    /// in flight (`await store.durable()` first): what is acknowledged is
    /// kept.
    pub fn acknowledge(&self, my_document: &[u8], cids: Vec<String>) -> Result<Vec<u8>, JsError> {
        crate::store::ensure_durable(self.store(), "acknowledge entries")?;
        if cids.len() > MAX_RECEIPT_ENTRIES {
            return Err(JsError::new("a receipt acknowledges at most 1024 entries"));
        }
        let entries = cids
            .iter()
            .map(|c| {
                c.parse::<EntryCid>()
                    .map(|c| c.to_bytes().to_vec())
                    .map_err(|e| js(&e))
            })
            .collect::<Result<_, _>>()?;
        let notification = Notification {
            sender_document: my_document.to_vec(),
            conversation: self.id_bytes().to_vec(),
            receipt: Some(Receipt { entries }),
            ..Default::default()
        };
        notification
            .seal(&self.peer_public().dm, ephemeral()?)
            .map_err(|e| js(&e))
    }

    /// Takes a notification from the contact (opened with
    /// `Identity.openNotification`): its receipt marks this side's entries
    /// delivered, and its inline blocks are verified and added. Returns
    /// the CIDs of the contact's entries it carried that are now held (new
    /// or not): acknowledge them. A notification about another
    /// conversation, or with a bad block, is refused whole.
    pub fn take(&mut self, received: &Received) -> Result<Vec<String>, JsError> {
        let n = &received.inner;
        if n.conversation.as_slice() != self.id_bytes().as_slice() {
            return Err(JsError::new(
                "the notification is about another conversation",
            ));
        }
        let mut copy = self.inner_mut().clone();
        let mut held = Vec::new();
        let mut new = Vec::new();
        for block in &n.blocks {
            let ingested = copy.ingest(block, None).map_err(|e| js(&e))?;
            held.push(ingested.cid.to_string());
            new.extend(ingested.entry);
        }
        self.store_entries(&new)?;
        *self.inner_mut() = copy;
        if let Some(receipt) = &n.receipt {
            let acknowledged: Vec<EntryCid> = receipt
                .entries
                .iter()
                .filter_map(|c| EntryCid::from_bytes(c).ok())
                .collect();
            self.keep_delivered(acknowledged)?;
        }
        Ok(held)
    }

    /// Marks this side's entries the contact acknowledged (from a
    /// receipt): they show as delivered, also after the store is
    /// reopened. Returns how many were new.
    #[wasm_bindgen(js_name = markDelivered)]
    pub fn mark_delivered(&mut self, cids: Vec<String>) -> Result<usize, JsError> {
        let cids = cids
            .iter()
            .filter_map(|c| c.parse::<EntryCid>().ok())
            .collect();
        self.keep_delivered(cids)
    }
}

impl Conversation {
    /// Marks this side's entries among `cids` delivered, in the store and
    /// the view; returns how many were new.
    fn keep_delivered(&mut self, cids: Vec<EntryCid>) -> Result<usize, JsError> {
        let inner = self.inner_mut();
        let me = inner.me().to_bytes();
        let mut new: Vec<EntryCid> = cids
            .into_iter()
            .filter(|c| {
                inner.log().key_of(c).is_some_and(|k| k.author == me) && !inner.is_delivered(c)
            })
            .collect();
        new.sort_unstable();
        new.dedup();
        let id = inner.id();
        // Kept first: if the store refuses, nothing changes.
        self.store().mark_delivered(&id, &new).map_err(|e| js(&e))?;
        self.inner_mut().mark_delivered(new.iter().copied());
        Ok(new.len())
    }
}
