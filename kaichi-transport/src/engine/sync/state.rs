//! The sync engine's state, sans-IO: notifications waiting to be published,
//! the blocks wanted over Bitswap, received entries waiting to be written,
//! and the re-announcement rate limit. Time comes in as an [`Instant`]; the
//! query id is generic so tests need no swarm.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use kaichi_privatelog::{ConversationId, Entry, EntryCid};
use libp2p::gossipsub::TopicHash;

/// Most accepted entries held before they are written.
pub(in crate::engine) const MAX_UNSAVED: usize = 512;
/// Least time between two re-announcements of one conversation.
pub(in crate::engine) const RESYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Most conversations whose last re-announcement is remembered (older
/// ones are forgotten when full).
const MAX_REMEMBERED_RESYNCS: usize = 4096;
/// Most blocks wanted at once (past it, wants wait for the next round:
/// whatever is still missing is asked for again as blocks arrive).
pub(in crate::engine) const MAX_WANTS: usize = 4096;
/// Most blocks asked for at once for one announcement.
pub(in crate::engine) const MAX_WANT: usize = 64;
/// A want older than this makes the node look up the conversation's
/// providers (no connected peer had the block).
pub(in crate::engine) const WANT_STALE: Duration = Duration::from_secs(3);
/// A want older than this is cancelled (asked again when next missed).
pub(in crate::engine) const WANT_EXPIRY: Duration = Duration::from_secs(600);

/// A block wanted for a conversation.
#[derive(Debug, Clone, Copy)]
struct Want {
    conversation: ConversationId,
    cid: EntryCid,
    since: Instant,
}

/// What the sync engine is in the middle of.
pub(in crate::engine) struct SyncState<Q = beetswap::QueryId> {
    /// Sealed notifications gossipsub could not publish yet (no peers on the
    /// topic): retried on a timer, oldest dropped past the bound.
    pending: VecDeque<(TopicHash, Vec<u8>)>,
    max_pending: usize,
    /// Blocks wanted over Bitswap, by query, and the query of each CID.
    wants: HashMap<Q, Want>,
    wanted: HashMap<EntryCid, Q>,
    /// Accepted entries not yet written, in arrival order.
    unsaved: Vec<(ConversationId, Entry)>,
    /// When each conversation was last re-announced.
    last_resync: crate::engine::cooldown::Cooldown<ConversationId>,
}

impl<Q: Hash + Eq + Copy> SyncState<Q> {
    /// Idle, keeping at most `max_pending` unpublished notifications.
    pub(in crate::engine) fn new(max_pending: usize) -> Self {
        Self {
            pending: VecDeque::new(),
            max_pending,
            wants: HashMap::new(),
            wanted: HashMap::new(),
            unsaved: Vec::new(),
            last_resync: crate::engine::cooldown::Cooldown::new(
                RESYNC_INTERVAL,
                MAX_REMEMBERED_RESYNCS,
            ),
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
        self.last_resync.try_now(id, now)
    }

    /// Whether `cid` should be asked for: not wanted already, and fewer
    /// than [`MAX_WANTS`] wanted.
    pub(in crate::engine) fn should_want(&self, cid: &EntryCid) -> bool {
        !self.wanted.contains_key(cid) && self.wants.len() < MAX_WANTS
    }

    /// `query` asks for `cid`, a block of `conversation`.
    pub(in crate::engine) fn wanting(
        &mut self,
        query: Q,
        cid: EntryCid,
        conversation: ConversationId,
        now: Instant,
    ) {
        self.wanted.insert(cid, query);
        self.wants.insert(
            query,
            Want {
                conversation,
                cid,
                since: now,
            },
        );
    }

    /// A query ended (the block came, or it failed): what it was for.
    pub(in crate::engine) fn want_ended(
        &mut self,
        query: &Q,
    ) -> Option<(ConversationId, EntryCid)> {
        let want = self.wants.remove(query)?;
        self.wanted.remove(&want.cid);
        Some((want.conversation, want.cid))
    }

    /// The conversations with a block wanted for longer than
    /// [`WANT_STALE`] (each once): their providers are worth looking up.
    pub(in crate::engine) fn stale(&self, now: Instant) -> Vec<ConversationId> {
        let mut out: Vec<ConversationId> = self
            .wants
            .values()
            .filter(|w| now.duration_since(w.since) >= WANT_STALE)
            .map(|w| w.conversation)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The queries wanted for longer than [`WANT_EXPIRY`], forgotten now:
    /// cancel them.
    pub(in crate::engine) fn expired(&mut self, now: Instant) -> Vec<Q> {
        let old: Vec<Q> = self
            .wants
            .iter()
            .filter(|(_, w)| now.duration_since(w.since) >= WANT_EXPIRY)
            .map(|(q, _)| *q)
            .collect();
        for q in &old {
            self.want_ended(q);
        }
        old
    }

    /// Newly accepted entries of `id`; `true` when the batch is full and
    /// must be written now.
    pub(in crate::engine) fn accept(&mut self, id: ConversationId, entries: Vec<Entry>) -> bool {
        self.unsaved.extend(entries.into_iter().map(|e| (id, e)));
        self.unsaved.len() >= MAX_UNSAVED
    }

    /// Notifications waiting to be published.
    pub(in crate::engine) fn unpublished(&self) -> usize {
        self.pending.len()
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
    fn wants_are_unique_bounded_and_age_into_provider_lookups_then_expire() {
        let mut s = SyncState::<u32>::new(1);
        let t0 = Instant::now();
        let (a, b) = (EntryCid::of(b"a"), EntryCid::of(b"b"));
        assert!(s.should_want(&a));
        s.wanting(1, a, conversation(1), t0);
        assert!(!s.should_want(&a));
        s.wanting(2, b, conversation(2), t0 + WANT_STALE);
        assert!(s.stale(t0).is_empty());
        assert_eq!(s.stale(t0 + WANT_STALE), vec![conversation(1)]);
        assert_eq!(s.want_ended(&1), Some((conversation(1), a)));
        assert_eq!(s.want_ended(&1), None);
        assert!(s.should_want(&a));
        assert!(s.expired(t0 + WANT_EXPIRY).is_empty());
        assert_eq!(s.expired(t0 + WANT_STALE + WANT_EXPIRY), vec![2]);
        assert!(s.should_want(&b));
        for q in 0..MAX_WANTS as u32 {
            s.wanting(q, EntryCid::of(&q.to_le_bytes()), conversation(3), t0);
        }
        assert!(!s.should_want(&EntryCid::of(b"one more")));
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
