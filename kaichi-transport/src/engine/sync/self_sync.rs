//! Self-sync between an identity's devices: what one device writes in a
//! conversation, it also announces on the identity's own inbox (sealed to
//! the identity's DM key), with the other participant's document; the
//! other devices verify that every entry is this identity's, take the
//! contact, store the entries and want the heads they lack.

use kaichi_privatelog::store::StoredConversation;
use kaichi_privatelog::{EntryCid, SealedEntry};
use zeroize::Zeroizing;

use crate::engine::{Engine, inbox_topic, random};
use crate::notification::Notification;
use crate::rejection::Rejection;

/// How far past this node's clock another device's IPNS sequence (a Unix
/// time) is believed.
pub(in crate::engine) const SEQUENCE_SKEW: u64 = 600;

/// Most bytes of contacts' documents kept to announce with self-sync.
pub(in crate::engine) const MAX_PEER_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

impl Engine {
    /// Tells this identity's other devices about `blocks` written in the
    /// conversation with `contact` (nothing when the identity has none).
    pub(in crate::engine) fn announce_to_own_devices(
        &mut self,
        contact: &StoredConversation,
        heads: &[EntryCid],
        blocks: Vec<Vec<u8>>,
    ) {
        if !self.has_devices {
            return;
        }
        // In memory since it was last verified, else as the store kept it
        // (after a restart).
        let kept = || {
            use kaichi_privatelog::store::LogStore as _;
            self.store.peer_document(&contact.id).ok().flatten()
        };
        let Some(peer_document) = self
            .peer_documents
            .get(&contact.peer.ipns_name())
            .cloned()
            .or_else(kept)
        else {
            tracing::debug!(peer = %contact.peer.ipns_name(), "no document to self-sync with");
            return;
        };
        let notification = Notification {
            peer_document,
            ipns_sequence: self.root.last_sequence(),
            ..self.entries_notification(contact, heads, blocks)
        };
        self.publish_to_own_devices(&notification);
    }

    /// Seals `notification` to this identity's own DM key and publishes it
    /// on its own inbox, which its other devices follow.
    pub(in crate::engine) fn publish_to_own_devices(&mut self, notification: &Notification) {
        let own = self.keys.dm().public();
        match random::<32>().map_err(|e| e.to_string()).and_then(|r| {
            notification
                .seal(&own, Zeroizing::new(r))
                .map_err(|e| e.to_string())
        }) {
            Ok(sealed) => self.publish(inbox_topic(&self.keys.ipns().name()).hash(), sealed),
            Err(e) => {
                tracing::debug!(%e, "could not seal a notification for this identity's devices")
            }
        }
    }

    /// A notification from another device of this identity: every block
    /// must be an entry this identity wrote in the conversation with the
    /// peer `peer_document` names; only then is the contact added and the
    /// entries kept. Anything else is refused and changes nothing stored.
    pub(in crate::engine) fn self_sync(&mut self, n: &Notification) -> Result<(), Rejection> {
        let peer = self
            .remember_document(&n.peer_document)
            .map_err(Rejection::BadDocument.because())?;
        if peer.ipns == self.keys.ipns().public() {
            return Err(Rejection::WrongConversation);
        }
        let stored = self.conversation_named(peer, &n.conversation)?;
        let me = self.keys.ipns().public();
        let mut sealed = Vec::with_capacity(n.blocks.len());
        for block in &n.blocks {
            sealed.push(SealedEntry::decode(block, None).map_err(Rejection::BadEntry.because())?);
        }
        if sealed.is_empty() {
            return Err(Rejection::BadEntry);
        }
        // Every entry must verify as this identity's before anything is
        // kept: a notification sealed to our inbox proves nothing by itself.
        let mut accepted = Vec::new();
        let mut signer = None;
        {
            let conv = self
                .conversation(&stored)
                .map_err(Rejection::Local.because())?;
            for s in &sealed {
                let entry = conv
                    .verify_sealed(s)
                    .map_err(Rejection::BadEntry.because())?;
                if entry.author() != &me {
                    return Err(Rejection::BadEntry);
                }
                signer = Some(entry.signer().map(|k| k.to_bytes()));
            }

            for s in &sealed {
                let ingested = conv
                    .ingest_sealed(s)
                    .map_err(Rejection::BadEntry.because())?;
                accepted.extend(ingested.entry);
            }
        }
        if let Some(signer) = signer {
            self.device_groups.seen.insert(signer, crate::engine::now());
        }
        let (_, new) = self
            .add_contact(&n.peer_document)
            .map_err(Rejection::Local.because())?;
        if new {
            self.emit(crate::NodeEvent::ContactAdded {
                name: peer.ipns_name(),
                wallet: peer.wallet,
            });
        }
        self.accepted(&stored, accepted);
        self.outbox_changed(&stored.id);
        self.want_heads(stored.id, &n.heads);
        // Only now (its entries verified as this identity's) does its IPNS
        // sequence count: the next root this node publishes outranks it.
        self.root.saw_sequence(
            n.ipns_sequence,
            crate::engine::now().unix_secs() + SEQUENCE_SKEW,
        );
        Ok(())
    }
}
