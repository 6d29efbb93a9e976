//! Delivery state of this side's entries: which ones the other side
//! acknowledged storing (delivery receipts), and which its read markers
//! cover. Sans-IO: marks come in as CIDs; [`crate::store::LogStore`] keeps
//! them.

use crate::conversation::Conversation;
use crate::ids::EntryCid;
use crate::log::OrderKey;

/// Most own entries [`Conversation::undelivered`] lists.
pub const MAX_UNDELIVERED: usize = 4096;

impl Conversation {
    /// Marks entries the other side acknowledged storing. Only entries this
    /// side wrote and holds count (anything else in a receipt is ignored).
    /// Returns those newly marked. (Settled entries of this side were all
    /// marked before they settled: entries waiting for a receipt stay in
    /// memory.)
    pub fn mark_delivered(&mut self, cids: impl IntoIterator<Item = EntryCid>) -> Vec<EntryCid> {
        let me = self.me().to_bytes();
        let mut new = Vec::new();
        for cid in cids {
            if self.log().contains(&cid)
                && let Some(key) = self.log().key_of(&cid).filter(|k| k.author == me)
                && self.set_delivered(key)
            {
                new.push(cid);
            }
        }
        new
    }

    /// Whether the other side acknowledged storing this side's entry `cid`
    /// (or a read marker of theirs covers it). A settled entry of this side
    /// was.
    pub fn is_delivered(&self, cid: &EntryCid) -> bool {
        let me = self.me().to_bytes();
        self.delivered().contains(cid)
            || (!self.log().contains(cid) && self.log().key_of(cid).is_some_and(|k| k.author == me))
            || self
                .log()
                .key_of(cid)
                .is_some_and(|k| self.peer_read_up_to().is_some_and(|r| k <= r))
    }

    /// This side's entries the other side has not acknowledged, oldest
    /// first, at most the newest [`MAX_UNDELIVERED`].
    pub fn undelivered(&self) -> Vec<EntryCid> {
        let read = self.peer_read_up_to();
        let mut out: Vec<EntryCid> = self
            .pending()
            .iter()
            .rev()
            .take_while(|k| read.is_none_or(|r| **k > r))
            .take(MAX_UNDELIVERED)
            .map(|k| k.cid)
            .collect();
        out.reverse();
        out
    }

    /// Whether any entry of this side waits for the other side's receipt
    /// ([`Self::undelivered`] is not empty), without listing them.
    pub fn has_undelivered(&self) -> bool {
        let read = self.peer_read_up_to();
        self.pending()
            .last()
            .is_some_and(|k| read.is_none_or(|r| *k > r))
    }

    /// The position of the entry the other side's newest read marker points
    /// at, when it holds that entry.
    pub fn peer_read_up_to(&self) -> Option<OrderKey> {
        self.peer_marker_target()
            .and_then(|cid| self.log().key_of(&cid))
    }
}
