//! Delivery receipts. A node acknowledges the contact's entries it stored
//! (sealed to the contact, on the contact's inbox: relays hold it like any
//! notification); the writer marks them delivered (kept in the store) and
//! re-sends what stays unacknowledged on the schedule (`redelivery.rs`).
//! Duplicates are harmless: an entry already held is acknowledged again.

use kaichi_privatelog::store::{BlockStore as _, LogStore as _, StoredConversation};
use kaichi_privatelog::{ConversationId, EntryCid};
use zeroize::Zeroizing;

use super::{Engine, inbox_topic, random};
use crate::node::NodeEvent;
use crate::notification::{
    MAX_NOTIFICATION_BYTES, MAX_NOTIFICATION_ITEMS, MAX_RECEIPT_ENTRIES, Notification, Receipt,
};
use crate::rejection::Rejection;

impl Engine {
    /// Tells the contact of `stored` that its entries `cids` are stored
    /// here (in receipts of at most [`MAX_RECEIPT_ENTRIES`]).
    pub(super) fn acknowledge(&mut self, stored: &StoredConversation, cids: &[EntryCid]) {
        for chunk in cids.chunks(MAX_RECEIPT_ENTRIES) {
            let notification = Notification {
                receipt: Some(Receipt {
                    entries: chunk.iter().map(|c| c.to_bytes().to_vec()).collect(),
                }),
                ..self.entries_notification(stored, &[], Vec::new())
            };
            let sealed = random::<32>().map_err(|e| e.to_string()).and_then(|r| {
                notification
                    .seal(&stored.peer.dm, Zeroizing::new(r))
                    .map_err(|e| e.to_string())
            });
            match sealed {
                Ok(sealed) => self.publish(inbox_topic(&stored.peer.ipns_name()).hash(), sealed),
                Err(e) => tracing::debug!(%e, "could not seal a receipt"),
            }
        }
    }

    /// Of the entries in `cids` (received in the conversation `id`), those
    /// the contact wrote that are stored here: what a receipt may
    /// acknowledge.
    pub(super) fn stored_from_contact(
        &self,
        id: &ConversationId,
        cids: &[EntryCid],
    ) -> Vec<EntryCid> {
        let Some(conv) = self.conversations.get(id) else {
            return Vec::new();
        };
        let peer = conv.peer().to_bytes();
        cids.iter()
            .filter(|c| conv.log().key_of(c).is_some_and(|k| k.author == peer))
            .filter(|c| self.store.has(&c.to_cid()).unwrap_or(false))
            .copied()
            .collect()
    }

    /// A receipt from the contact of `stored`: this side's entries it
    /// names are delivered (kept in the store, then reported).
    pub(super) fn receipt(
        &mut self,
        stored: &StoredConversation,
        receipt: &Receipt,
    ) -> Result<(), Rejection> {
        if receipt.entries.len() > MAX_RECEIPT_ENTRIES {
            return Err(Rejection::BadReceipt);
        }
        let cids = receipt
            .entries
            .iter()
            .map(|b| EntryCid::from_bytes(b))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Rejection::BadReceipt.because())?;
        let conv = self
            .conversation(stored)
            .map_err(Rejection::Local.because())?;
        let delivered = conv.mark_delivered(cids);
        let done = !conv.has_undelivered();
        if !delivered.is_empty() {
            self.store
                .mark_delivered(&stored.id, &delivered)
                .map_err(Rejection::Local.because())?;
            self.emit(NodeEvent::Delivered {
                conversation: stored.id,
                entries: delivered,
            });
            // What waited for this receipt may settle now.
            self.settle(&stored.id);
        }
        self.redelivery
            .receipt(stored.id, done, std::time::Instant::now());
        Ok(())
    }

    /// Re-sends, to each contact due on the schedule, its oldest
    /// unacknowledged entries (inline: at most [`MAX_NOTIFICATION_ITEMS`],
    /// within half a notification) with this side's heads (the contact
    /// fetches what else it lacks). Oldest first: an entry the contact
    /// holds but whose receipt was lost is only acknowledged again when it
    /// is sent again.
    pub(super) fn redeliver(&mut self) {
        for id in self.redelivery.due(std::time::Instant::now()) {
            let Some(contact) = self.contacts.get(&id).copied() else {
                self.redelivery.forget(&id);
                continue;
            };
            let Ok(conv) = self.conversation(&contact) else {
                continue;
            };
            let (undelivered, heads) = (conv.undelivered(), conv.heads());
            if undelivered.is_empty() {
                self.redelivery.forget(&id);
                continue;
            }
            let mut blocks = Vec::new();
            let mut size = 0;
            for cid in undelivered.iter().take(MAX_NOTIFICATION_ITEMS) {
                let Ok(Some(block)) = self.store.get(&cid.to_cid()) else {
                    continue;
                };
                size += block.len();
                if size > MAX_NOTIFICATION_BYTES / 2 {
                    break;
                }
                blocks.push(block);
            }
            tracing::debug!(entries = blocks.len(), "re-sending unacknowledged entries");
            let notification = self.entries_notification(&contact, &heads, blocks);
            let Ok(ephemeral) = random::<32>() else {
                continue;
            };
            if let Ok(sealed) = notification.seal(&contact.peer.dm, Zeroizing::new(ephemeral)) {
                self.publish(inbox_topic(&contact.peer.ipns_name()).hash(), sealed);
            }
        }
    }

    /// At start: every conversation with unacknowledged entries of this
    /// side is re-sent on the schedule.
    pub(super) fn schedule_undelivered(&mut self) {
        let now = std::time::Instant::now();
        let waiting: Vec<ConversationId> = self
            .conversations
            .iter()
            .filter(|(_, c)| c.has_undelivered())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.redelivery.sent(id, now);
        }
    }
}
