//! This identity's root block and when to republish its IPNS record,
//! sans-IO: outbox heads in, "store and publish this root now" out.
//!
//! The root changes with every message written; its IPNS record is
//! republished at most once per interval (the node's
//! `root_republish_interval`, 10 s by default; the latest root then), with a
//! sequence number that always increases (it is at least 1 s, and the
//! sequence is the Unix time of signing). Between
//! republications the entries travel by gossipsub and Bitswap as before;
//! the root is the way in for a reader who knows only the name.

use std::time::{Duration, Instant};

use kaichi_privatelog::{AuthorTag, BlockCid, EntryCid, Root, RootCid, RootError};

/// After a failed publication, the next attempt waits this long.
pub(in crate::engine) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// Republished this often even when nothing changed (records are valid for
/// 24 hours; DHT nodes drop records after 48).
pub(in crate::engine) const REFRESH_INTERVAL: Duration = Duration::from_secs(4 * 3600);

/// The root and its publication state.
#[derive(Debug)]
pub(in crate::engine) struct RootState {
    root: Root,
    /// Least time between two publications of a changed root.
    interval: Duration,
    /// The root changed since it was last published.
    dirty: bool,
    last_published: Option<Instant>,
    last_sequence: u64,
    /// The root block kept pinned in the store.
    stored: Option<RootCid>,
    /// The root the last published record points to.
    published: Option<RootCid>,
    /// When to try again after a failed publication.
    retry_at: Option<Instant>,
}

impl RootState {
    /// A root linking `document` and no outbox yet, republished at most
    /// once per `interval`.
    pub(in crate::engine) fn new(document: BlockCid, interval: Duration) -> Self {
        Self {
            root: Root::new(document),
            interval,
            dirty: true,
            last_published: None,
            last_sequence: 0,
            stored: None,
            published: None,
            retry_at: None,
        }
    }

    /// The root the last published record points to.
    pub(in crate::engine) fn published_cid(&self) -> Option<RootCid> {
        self.published
    }

    /// The current root was stored and pinned as `cid`: the previously
    /// pinned root, to unpin (when it differs).
    pub(in crate::engine) fn stored(&mut self, cid: RootCid) -> Option<RootCid> {
        self.stored.replace(cid).filter(|old| *old != cid)
    }

    /// An outbox's heads are now `heads`.
    pub(in crate::engine) fn set_outbox(
        &mut self,
        tag: AuthorTag,
        heads: Vec<EntryCid>,
    ) -> Result<(), RootError> {
        if self.root.set_outbox(tag, heads)? {
            self.dirty = true;
        }
        Ok(())
    }

    /// The identity document is now `document`.
    pub(in crate::engine) fn set_document(&mut self, document: BlockCid) {
        if self.root.set_document(document) {
            self.dirty = true;
        }
    }

    /// The current root.
    pub(in crate::engine) fn root(&self) -> &Root {
        &self.root
    }

    /// Whether to publish now: changed and past the interval since the last
    /// publication, or unchanged for [`REFRESH_INTERVAL`].
    pub(in crate::engine) fn due(&self, now: Instant) -> bool {
        if let Some(at) = self.retry_at {
            return now >= at;
        }
        match self.last_published {
            None => true,
            Some(at) => {
                let since = now.saturating_duration_since(at);
                (self.dirty && since >= self.interval) || since >= REFRESH_INTERVAL
            }
        }
    }

    /// The sequence number for a record signed at `unix_secs`: the time,
    /// or one more than the last when the clock went back.
    pub(in crate::engine) fn next_sequence(&self, unix_secs: u64) -> u64 {
        unix_secs.max(self.last_sequence.saturating_add(1))
    }

    /// The last sequence number this node published (0: none yet).
    pub(in crate::engine) fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Another device of this identity published a record with `sequence`
    /// (at most `ceiling`: a sequence is a Unix time, and one far in the
    /// future would stop every later record): this node's next record
    /// outranks it, and the root is published again (it may differ from
    /// the other device's).
    pub(in crate::engine) fn saw_sequence(&mut self, sequence: u64, ceiling: u64) {
        let sequence = sequence.min(ceiling);
        if sequence >= self.last_sequence && sequence > 0 {
            self.last_sequence = sequence;
            self.dirty = true;
        }
    }

    /// The root `cid` was published with `sequence`.
    pub(in crate::engine) fn published(&mut self, cid: RootCid, now: Instant, sequence: u64) {
        self.published = Some(cid);
        self.retry_at = None;
        self.dirty = false;
        self.last_published = Some(now);
        self.last_sequence = sequence;
    }

    /// Publishing failed at `now`: try again [`RETRY_AFTER_FAILURE`] later.
    pub(in crate::engine) fn failed(&mut self, now: Instant) {
        self.dirty = true;
        self.retry_at = Some(now + RETRY_AFTER_FAILURE);
    }
}

impl super::Engine {
    /// Loads every conversation and lists its outbox in the root, then
    /// stores the root: the node serves it from the start.
    pub(super) fn load_outboxes(&mut self) -> Result<(), crate::node::NodeError> {
        let contacts: Vec<_> = self.contacts.values().copied().collect();
        for contact in contacts {
            let conv = self.conversation(&contact)?;
            let (tag, heads) = (conv.outbox_tag(), conv.outbox_heads());
            if let Err(e) = self.root.set_outbox(tag, heads) {
                tracing::warn!(%e, "an outbox is left out of the root");
            }
        }
        self.store_root();
        Ok(())
    }

    /// A conversation's heads changed: its outbox in the root follows.
    pub(super) fn outbox_changed(&mut self, id: &kaichi_privatelog::ConversationId) {
        let Some(conv) = self.conversations.get(id) else {
            return;
        };
        let (tag, heads) = (conv.outbox_tag(), conv.outbox_heads());
        if let Err(e) = self.root.set_outbox(tag, heads) {
            tracing::warn!(%e, "an outbox is left out of the root");
        }
    }

    /// Stores and pins the current root block (unpinning the one before).
    pub(super) fn store_root(&mut self) -> Option<RootCid> {
        use kaichi_privatelog::store::BlockStore as _;
        let block = self.root.root().encode();
        let cid = RootCid::of(&block);
        if let Err(e) = self
            .store
            .put(&cid.to_cid(), &block)
            .and_then(|()| self.store.pin(&cid.to_cid()))
        {
            tracing::warn!(%e, "could not store the root block");
            return None;
        }
        if let Some(old) = self.root.stored(cid)
            && let Err(e) = self.store.unpin(&old.to_cid())
        {
            tracing::debug!(%e, "could not unpin the previous root");
        }
        Some(cid)
    }

    /// Republishes the IPNS record when the root changed (at most once per
    /// `root_republish_interval`) or is due for a refresh, once the node
    /// has met a DHT peer (a failed publication is retried here too).
    pub(super) fn republish_root_if_due(&mut self) {
        if self.dht_joined && self.root.due(Instant::now()) {
            self.publish_identity();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(10);

    #[test]
    fn republication_is_rate_limited_and_sequences_increase() {
        let t0 = Instant::now();
        let mut s = RootState::new(BlockCid::of(b"doc"), INTERVAL);
        assert!(s.due(t0));
        let seq = s.next_sequence(1_000);
        s.published(RootCid::of(b"r"), t0, seq);
        assert!(!s.due(t0 + Duration::from_secs(60)));
        s.set_outbox(AuthorTag::from_bytes([1; 32]), vec![EntryCid::of(b"a")])
            .unwrap();
        assert!(!s.due(t0 + Duration::from_secs(9)));
        assert!(s.due(t0 + INTERVAL));
        // The same heads again change nothing.
        s.published(RootCid::of(b"r"), t0, 1_000);
        s.set_outbox(AuthorTag::from_bytes([1; 32]), vec![EntryCid::of(b"a")])
            .unwrap();
        assert!(!s.due(t0 + Duration::from_secs(60)));
        assert!(s.due(t0 + REFRESH_INTERVAL));
        // Another device's record (a clock ahead of ours) is outranked; one
        // past the ceiling counts only up to it.
        let mut other = RootState::new(BlockCid::of(b"doc"), Duration::from_secs(10));
        other.saw_sequence(5_000, 10_000);
        assert_eq!(other.next_sequence(1_000), 5_001);
        other.saw_sequence(u64::MAX, 10_000);
        assert_eq!(other.next_sequence(1_000), 10_001);
        other.saw_sequence(7, 10_000);
        assert_eq!(
            other.next_sequence(1_000),
            10_001,
            "an older one changes nothing"
        );
        // A clock that went back still gives a higher sequence.
        assert_eq!(s.next_sequence(900), 1_001);
        assert_eq!(s.next_sequence(2_000), 2_000);
        s.failed(t0);
        assert!(!s.due(t0));
        assert!(s.due(t0 + RETRY_AFTER_FAILURE));
    }

    #[test]
    fn the_previous_root_is_unpinned_once() {
        let mut s = RootState::new(BlockCid::of(b"doc"), INTERVAL);
        let (a, b) = (RootCid::of(b"a"), RootCid::of(b"b"));
        assert_eq!(s.stored(a), None);
        assert_eq!(s.stored(a), None);
        assert_eq!(s.stored(b), Some(a));
    }
}
