//! The sync engine's state, sans-IO: notifications waiting to be published,
//! block fetches in flight, received entries waiting to be written, and the
//! re-announcement rate limit. Time comes in as an [`Instant`]; the request
//! id is generic so tests need no swarm.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use kaichi_privatelog::{ConversationId, Entry, EntryCid};
use libp2p::gossipsub::TopicHash;
use libp2p::request_response::OutboundRequestId;

use crate::exchange::MAX_WANT;

/// Most accepted entries held before they are written.
pub(in crate::engine) const MAX_UNSAVED: usize = 512;
/// Least time between two re-announcements of one conversation.
pub(in crate::engine) const RESYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Most conversations whose last re-announcement is remembered (older
/// ones are forgotten when full).
const MAX_REMEMBERED_RESYNCS: usize = 4096;

/// What the sync engine is in the middle of.
pub(in crate::engine) struct SyncState<Q = OutboundRequestId> {
    /// Sealed notifications gossipsub could not publish yet (no peers on the
    /// topic): retried on a timer, oldest dropped past the bound.
    pending: VecDeque<(TopicHash, Vec<u8>)>,
    max_pending: usize,
    /// Block fetches in flight: request -> conversation.
    fetches: HashMap<Q, ConversationId>,
    /// Accepted entries not yet written, in arrival order.
    unsaved: Vec<(ConversationId, Entry)>,
    /// When each conversation was last re-announced.
    last_resync: HashMap<ConversationId, Instant>,
}

impl<Q: Hash + Eq> SyncState<Q> {
    /// Idle, keeping at most `max_pending` unpublished notifications.
    pub(in crate::engine) fn new(max_pending: usize) -> Self {
        Self {
            pending: VecDeque::new(),
            max_pending,
            fetches: HashMap::new(),
            unsaved: Vec::new(),
            last_resync: HashMap::new(),
        }
    }

    /// A notification that could not be published: kept for a retry (the
    /// oldest is dropped when full).
    pub(in crate::engine) fn queue(&mut self, topic: TopicHash, sealed: Vec<u8>) {
        if self.pending.len() >= self.max_pending {
            self.pending.pop_front();
        }
        self.pending.push_back((topic, sealed));
    }

    /// The notifications to publish again, oldest first (queue again what
    /// still fails).
    pub(in crate::engine) fn take_pending(&mut self) -> Vec<(TopicHash, Vec<u8>)> {
        self.pending.drain(..).collect()
    }

    /// Whether `id` may be re-announced now (at most once per
    /// [`RESYNC_INTERVAL`]); a yes is recorded.
    pub(in crate::engine) fn may_resync(&mut self, id: ConversationId, now: Instant) -> bool {
        if self
            .last_resync
            .get(&id)
            .is_some_and(|t| now.duration_since(*t) < RESYNC_INTERVAL)
        {
            return false;
        }
        if self.last_resync.len() >= MAX_REMEMBERED_RESYNCS {
            self.last_resync
                .retain(|_, t| now.duration_since(*t) < RESYNC_INTERVAL);
        }
        self.last_resync.insert(id, now);
        true
    }

    /// A fetch for `id`'s blocks is in flight.
    pub(in crate::engine) fn fetch_started(&mut self, request: Q, id: ConversationId) {
        self.fetches.insert(request, id);
    }

    /// The conversation a finished fetch was for (`None`: not a DM fetch).
    pub(in crate::engine) fn fetch_ended(&mut self, request: &Q) -> Option<ConversationId> {
        self.fetches.remove(request)
    }

    /// Newly accepted entries of `id`; `true` when the batch is full and
    /// must be written now.
    pub(in crate::engine) fn accept(&mut self, id: ConversationId, entries: Vec<Entry>) -> bool {
        self.unsaved.extend(entries.into_iter().map(|e| (id, e)));
        self.unsaved.len() >= MAX_UNSAVED
    }

    /// Whether accepted entries wait to be written.
    pub(in crate::engine) fn has_unsaved(&self) -> bool {
        !self.unsaved.is_empty()
    }

    /// The accepted entries to write, by conversation (conversations in the
    /// order they first appear, entries in arrival order).
    pub(in crate::engine) fn take_unsaved(&mut self) -> Vec<(ConversationId, Vec<Entry>)> {
        let mut by_conversation: Vec<(ConversationId, Vec<Entry>)> = Vec::new();
        for (id, e) in self.unsaved.drain(..) {
            match by_conversation.iter_mut().find(|(c, _)| *c == id) {
                Some((_, es)) => es.push(e),
                None => by_conversation.push((id, vec![e])),
            }
        }
        by_conversation
    }
}

/// The blocks to ask for: sorted, without repeats, at most [`MAX_WANT`].
pub(in crate::engine) fn want_list(mut want: Vec<EntryCid>) -> Vec<EntryCid> {
    want.sort_unstable();
    want.dedup();
    want.truncate(MAX_WANT);
    want
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use kaichi_privatelog::{Conversation, Message};
    use kaichi_test_support::identity::keys;

    use super::*;

    fn conversation(n: u8) -> ConversationId {
        ConversationId::from_bytes([n; 32])
    }

    fn entries(count: usize) -> Vec<Entry> {
        let (_, alice) = keys(1);
        let mut conv = Conversation::new(&alice, &keys(2).1.public()).unwrap();
        (0..count)
            .map(|i| {
                let m = Message::text(format!("m{i}"), i as u64);
                conv.append(alice.ipns(), &m, &[i as u8; 16]).unwrap()
            })
            .collect()
    }

    #[test]
    fn unpublished_notifications_are_bounded_and_kept_oldest_first() {
        let mut s = SyncState::<u32>::new(2);
        let topic = TopicHash::from_raw("t");
        for i in 0..3u8 {
            s.queue(topic.clone(), vec![i]);
        }
        let pending: Vec<Vec<u8>> = s.take_pending().into_iter().map(|(_, b)| b).collect();
        assert_eq!(pending, vec![vec![1], vec![2]]);
        assert!(s.take_pending().is_empty());
    }

    #[test]
    fn re_announcements_are_rate_limited_per_conversation() {
        let mut s = SyncState::<u32>::new(1);
        let t0 = Instant::now();
        assert!(s.may_resync(conversation(1), t0));
        assert!(!s.may_resync(conversation(1), t0 + RESYNC_INTERVAL / 2));
        assert!(s.may_resync(conversation(2), t0));
        assert!(s.may_resync(conversation(1), t0 + RESYNC_INTERVAL));
    }

    #[test]
    fn fetches_are_matched_to_their_conversation_once() {
        let mut s = SyncState::<u32>::new(1);
        s.fetch_started(5, conversation(1));
        assert_eq!(s.fetch_ended(&5), Some(conversation(1)));
        assert_eq!(s.fetch_ended(&5), None);
    }

    #[test]
    fn accepted_entries_are_written_by_conversation_in_arrival_order() {
        let mut s = SyncState::<u32>::new(1);
        let e = entries(3);
        assert!(!s.has_unsaved());
        assert!(!s.accept(conversation(1), vec![e[0].clone()]));
        assert!(!s.accept(conversation(2), vec![e[1].clone()]));
        assert!(!s.accept(conversation(1), vec![e[2].clone()]));
        assert!(s.has_unsaved());
        let batches = s.take_unsaved();
        let cids = |es: &[Entry]| es.iter().map(Entry::cid).collect::<Vec<_>>();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].0, conversation(1));
        assert_eq!(cids(&batches[0].1), vec![e[0].cid(), e[2].cid()]);
        assert_eq!(cids(&batches[1].1), vec![e[1].cid()]);
        assert!(!s.has_unsaved());
        // A full batch asks to be written at once.
        let many = entries(1).pop().unwrap();
        assert!(s.accept(conversation(3), vec![many; MAX_UNSAVED]));
    }

    #[test]
    fn the_want_list_is_sorted_unique_and_bounded() {
        let cids: Vec<EntryCid> = (0..MAX_WANT as u32 + 10)
            .flat_map(|i| {
                let c = EntryCid::of(&i.to_le_bytes());
                [c, c]
            })
            .collect();
        let want = want_list(cids);
        assert_eq!(want.len(), MAX_WANT);
        assert!(want.windows(2).all(|w| w[0] < w[1]));
    }
}
