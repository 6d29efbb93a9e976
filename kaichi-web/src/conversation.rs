//! A conversation with a contact, held in the page: entries written here
//! (encrypted and signed), entries received (verified and decrypted), the
//! merged view, CAR export and import. Its entries are kept in a
//! [`Store`] (IndexedDB, `Conversation.inStore`) or in memory only
//! (`new Conversation`); `blocks()` and `load()` move them by hand.

use kaichi_identity::IdentityKeys;
use kaichi_privatelog::store::{LogStore as _, StoredConversation, export_conversation};
use kaichi_privatelog::{EntryCid, Message, MessageBody, SALT_BYTES};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::document::Contact;
use crate::error::js;
use crate::identity::Identity;
use crate::store::{Shared, Store};

/// Most messages one `messages()` call returns.
const MAX_LIMIT: usize = kaichi_privatelog::MAX_PAGE;

/// A conversation between an identity and a contact.
#[wasm_bindgen]
pub struct Conversation {
    inner: kaichi_privatelog::Conversation,
    keys: IdentityKeys,
    peer: kaichi_identity::IdentityPublic,
    store: Shared,
}

/// An entry just written: announce it (its CID) and deliver it (its block).
#[wasm_bindgen]
pub struct SentEntry {
    cid: String,
    block: Vec<u8>,
}

#[wasm_bindgen]
impl SentEntry {
    /// Its CID (`bafyrei…`).
    #[wasm_bindgen(getter)]
    pub fn cid(&self) -> String {
        self.cid.clone()
    }

    /// Its block (DAG-CBOR; the message inside is encrypted).
    #[wasm_bindgen(getter)]
    pub fn block(&self) -> Vec<u8> {
        self.block.clone()
    }
}

/// A message of the view, as JavaScript gets it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ViewJs {
    cid: String,
    mine: bool,
    clock: u64,
    sent_at_ms: u64,
    text: String,
    edited: bool,
    deleted: bool,
    reply_to: Option<String>,
    reactions: Vec<(String, usize)>,
    delivered: bool,
    read: bool,
}

#[wasm_bindgen(typescript_custom_section)]
const VIEW_MESSAGE_TS: &str = r#"
/** A message of a conversation's view (`Conversation.messages`), newest first. */
export interface ViewMessage {
  cid: string;
  mine: boolean;
  clock: number;
  sentAtMs: number;
  text: string;
  edited: boolean;
  deleted: boolean;
  replyTo: string | null;
  reactions: [string, number][];
  delivered: boolean;
  read: boolean;
}
"#;

fn salt() -> Result<[u8; SALT_BYTES], JsError> {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).map_err(|e| JsError::new(&format!("randomness: {e}")))?;
    Ok(salt)
}

#[wasm_bindgen]
impl Conversation {
    /// The conversation of `identity` with `contact`, held in memory only
    /// (empty until entries are written, received or loaded).
    #[wasm_bindgen(constructor)]
    pub fn new(identity: &Identity, contact: &Contact) -> Result<Conversation, JsError> {
        Conversation::in_store(identity, contact, &Store::in_memory())
    }

    /// The conversation of `identity` with `contact` kept in `store`: what
    /// the store holds of it is loaded, and every entry written or taken
    /// from now on is kept there, with the contact's document.
    #[wasm_bindgen(js_name = inStore)]
    pub fn in_store(
        identity: &Identity,
        contact: &Contact,
        store: &Store,
    ) -> Result<Conversation, JsError> {
        let mut inner = kaichi_privatelog::Conversation::new(&identity.keys, &contact.public)
            .map_err(|e| js(&e))?;
        let store = store.shared();
        store
            .save_conversation(&StoredConversation {
                id: inner.id(),
                peer: contact.public,
            })
            .map_err(|e| js(&e))?;
        if !contact.document.is_empty() {
            store
                .save_peer_document(&inner.id(), &contact.document)
                .map_err(|e| js(&e))?;
        }
        inner.load(&*store).map_err(|e| js(&e))?;
        Ok(Conversation {
            inner,
            keys: identity.keys.clone(),
            peer: contact.public,
            store,
        })
    }

    /// The conversation's id (hex; both sides compute the same).
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// Writes a text message (replying to the message `replyTo`, a CID, if
    /// given) sent at `sentAtMs`.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(
        &mut self,
        text: &str,
        sent_at_ms: f64,
        reply_to: Option<String>,
    ) -> Result<SentEntry, JsError> {
        let reply_to = reply_to
            .map(|c| c.parse::<EntryCid>().map_err(|e| js(&e)))
            .transpose()?;
        let body = MessageBody::Text {
            text: text.to_owned(),
            reply_to,
            attachments: Vec::new(),
        };
        self.write(body, sent_at_ms)
    }

    /// Reacts to a message (`remove`: withdraws the reaction).
    pub fn react(
        &mut self,
        target: &str,
        reaction: &str,
        remove: bool,
        sent_at_ms: f64,
    ) -> Result<SentEntry, JsError> {
        let target = target.parse::<EntryCid>().map_err(|e| js(&e))?;
        let body = MessageBody::Reaction {
            target,
            reaction: reaction.to_owned(),
            remove,
        };
        self.write(body, sent_at_ms)
    }

    /// Tells the other side everything up to `upTo` (a CID) was read.
    #[wasm_bindgen(js_name = markRead)]
    pub fn mark_read(&mut self, up_to: &str, sent_at_ms: f64) -> Result<SentEntry, JsError> {
        let up_to = up_to.parse::<EntryCid>().map_err(|e| js(&e))?;
        self.write(MessageBody::ReadMarker { up_to }, sent_at_ms)
    }

    /// Takes a block received from the contact (or one's own, from another
    /// device or a backup): verified (CID when given, signature, author,
    /// clock) and decrypted. `true` when it is new; on an error nothing
    /// changes.
    pub fn ingest(&mut self, block: &[u8], cid: Option<String>) -> Result<bool, JsError> {
        let expected = cid
            .map(|c| c.parse::<EntryCid>().map_err(|e| js(&e)))
            .transpose()?;
        let ingested = self
            .inner
            .ingest(block, expected.as_ref())
            .map_err(|e| js(&e))?;
        if let Some(entry) = &ingested.entry {
            self.store
                .add_entries(&self.inner.id(), &[entry])
                .map_err(|e| js(&e))?;
        }
        Ok(ingested.new)
    }

    /// The newest `limit` messages (at most 500), newest first, with
    /// edits, deletions, reactions and read markers applied.
    #[wasm_bindgen(unchecked_return_type = "ViewMessage[]")]
    pub fn messages(&self, limit: usize) -> Result<JsValue, JsError> {
        let page = self.inner.page(None, limit.min(MAX_LIMIT));
        let view: Vec<ViewJs> = page
            .messages
            .iter()
            .map(|m| ViewJs {
                cid: m.cid.to_string(),
                mine: m.mine,
                clock: m.clock,
                sent_at_ms: m.sent_at_ms,
                text: m.text.clone(),
                edited: m.edited,
                deleted: m.deleted,
                reply_to: m.reply_to.map(|c| c.to_string()),
                reactions: m
                    .reactions
                    .iter()
                    .map(|(r, who)| (r.clone(), who.len()))
                    .collect(),
                delivered: m.delivered,
                read: m.read,
            })
            .collect();
        serde_wasm_bindgen::to_value(&view).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The CIDs of the conversation's heads (what a notification announces).
    pub fn heads(&self) -> Vec<String> {
        self.inner.heads().iter().map(ToString::to_string).collect()
    }

    /// Entries referenced but not held yet (to fetch).
    pub fn missing(&self) -> Vec<String> {
        self.inner
            .missing()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// How many entries it holds.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.len()
    }

    /// The conversation as a CARv1 file (every entry block; the heads as
    /// roots), as `kaichi log export` writes it.
    #[wasm_bindgen(js_name = exportCar)]
    pub fn export_car(&self) -> Result<Vec<u8>, JsError> {
        export_conversation(&self.inner, &*self.store).map_err(|e| js(&e))
    }

    /// Takes every entry of a CAR file (e.g. from `kaichi log export`):
    /// each is verified; returns how many were new. Blocks of other
    /// conversations are refused, and then nothing changes.
    #[wasm_bindgen(js_name = importCar)]
    pub fn import_car(&mut self, car: &[u8]) -> Result<u32, JsError> {
        let car = kaichi_privatelog::car::read_car(car).map_err(|e| js(&e))?;
        let mut copy = self.inner.clone();
        let mut entries = Vec::new();
        for (cid, block) in &car.blocks {
            let cid = EntryCid::try_from(*cid).map_err(|e| js(&e))?;
            let ingested = copy.ingest(block, Some(&cid)).map_err(|e| js(&e))?;
            entries.extend(ingested.entry);
        }
        self.store
            .add_entries(&self.inner.id(), &entries.iter().collect::<Vec<_>>())
            .map_err(|e| js(&e))?;
        self.inner = copy;
        Ok(u32::try_from(entries.len()).unwrap_or(u32::MAX))
    }

    /// Every entry block held, oldest first (to keep them in IndexedDB or
    /// elsewhere; `load` takes them back).
    pub fn blocks(&self) -> Result<Vec<js_sys::Uint8Array>, JsError> {
        let blocks = self
            .store
            .entry_blocks(&self.inner.id())
            .map_err(|e| js(&e))?;
        Ok(blocks
            .iter()
            .map(|b| js_sys::Uint8Array::from(&b[..]))
            .collect())
    }

    /// Takes back blocks kept from `blocks()` (each is verified again).
    /// Returns how many were new.
    pub fn load(&mut self, blocks: Vec<js_sys::Uint8Array>) -> Result<u32, JsError> {
        let mut new = 0u32;
        for block in blocks {
            new += u32::from(self.ingest(&block.to_vec(), None)?);
        }
        Ok(new)
    }
}

impl Conversation {
    pub(crate) fn peer_public(&self) -> kaichi_identity::IdentityPublic {
        self.peer
    }

    pub(crate) fn id_bytes(&self) -> [u8; 32] {
        *self.inner.id().as_bytes()
    }

    pub(crate) fn head_bytes(&self) -> Vec<Vec<u8>> {
        self.inner
            .heads()
            .iter()
            .map(|h| h.to_bytes().to_vec())
            .collect()
    }

    pub(crate) fn store_entries(
        &self,
        entries: &[kaichi_privatelog::Entry],
    ) -> Result<(), JsError> {
        self.store
            .add_entries(&self.inner.id(), &entries.iter().collect::<Vec<_>>())
            .map_err(|e| js(&e))
    }

    pub(crate) fn store(&self) -> &Shared {
        &self.store
    }

    pub(crate) fn inner_mut(&mut self) -> &mut kaichi_privatelog::Conversation {
        &mut self.inner
    }

    fn write(&mut self, body: MessageBody, sent_at_ms: f64) -> Result<SentEntry, JsError> {
        let sent_at_ms = crate::at_ms(sent_at_ms)?.unix_nanos() / 1_000_000;
        let message = Message { sent_at_ms, body };
        let entry = self
            .inner
            .append(self.keys.ipns(), &message, &salt()?)
            .map_err(|e| js(&e))?;
        self.store
            .add_entries(&self.inner.id(), &[&entry])
            .map_err(|e| js(&e))?;
        Ok(SentEntry {
            cid: entry.cid().to_string(),
            block: entry.block().to_vec(),
        })
    }
}
