//! When to send again what a contact has not acknowledged: one backoff
//! schedule per conversation (sans-IO; the engine re-publishes the
//! undelivered entries when one is due, see `delivery.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kaichi_privatelog::ConversationId;

/// The first re-send, after a send with no receipt.
pub(in crate::engine) const FIRST_RETRY: Duration = Duration::from_secs(2);
/// The longest wait between re-sends.
pub(in crate::engine) const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Re-sending stops this long after the first unacknowledged send (the
/// heads re-announcement when the contact's inbox gains a subscriber
/// still runs, and the next message starts again).
pub(in crate::engine) const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Most conversations tracked at once (past it, a send is not re-sent).
pub(in crate::engine) const MAX_TRACKED: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Pending {
    since: Instant,
    next: Instant,
    backoff: Duration,
}

/// Re-send schedules, by conversation.
#[derive(Debug, Default)]
pub(in crate::engine) struct Redelivery {
    pending: HashMap<ConversationId, Pending>,
}

impl Redelivery {
    /// Something unacknowledged was sent in `id` at `now`: its schedule
    /// starts (a running one continues).
    pub(in crate::engine) fn sent(&mut self, id: ConversationId, now: Instant) {
        if self.pending.len() >= MAX_TRACKED && !self.pending.contains_key(&id) {
            return;
        }
        self.pending.entry(id).or_insert(Pending {
            since: now,
            next: now + FIRST_RETRY,
            backoff: FIRST_RETRY,
        });
    }

    /// A receipt came for `id`: everything is acknowledged (`done`), or
    /// the contact is reachable and the rest goes again soon.
    pub(in crate::engine) fn receipt(&mut self, id: ConversationId, done: bool, now: Instant) {
        if done {
            self.pending.remove(&id);
        } else if let Some(p) = self.pending.get_mut(&id) {
            p.backoff = FIRST_RETRY;
            p.next = now + FIRST_RETRY;
        }
    }

    /// Nothing is left to send in `id`.
    pub(in crate::engine) fn forget(&mut self, id: &ConversationId) {
        self.pending.remove(id);
    }

    /// The conversations due at `now`, each rescheduled (backoff doubled
    /// up to [`MAX_BACKOFF`]) or dropped past [`GIVE_UP_AFTER`].
    pub(in crate::engine) fn due(&mut self, now: Instant) -> Vec<ConversationId> {
        let mut out = Vec::new();
        self.pending.retain(|id, p| {
            if now.saturating_duration_since(p.since) >= GIVE_UP_AFTER {
                return false;
            }
            if now >= p.next {
                out.push(*id);
                p.backoff = (p.backoff * 2).min(MAX_BACKOFF);
                p.next = now + p.backoff;
            }
            true
        });
        out
    }

    /// How many conversations wait for receipts.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn id(n: u8) -> ConversationId {
        ConversationId::try_from_slice(&[n; 32]).unwrap()
    }

    #[test]
    fn re_sends_back_off_and_stop_when_acknowledged() {
        let t0 = Instant::now();
        let mut r = Redelivery::default();
        r.sent(id(1), t0);
        r.sent(id(1), t0 + Duration::from_secs(1));
        assert!(r.due(t0 + Duration::from_secs(1)).is_empty());
        // Due after 2 s, then 4 s later, then 8 s later.
        let mut at = t0 + FIRST_RETRY;
        let mut gaps = Vec::new();
        let mut last = t0;
        for _ in 0..4 {
            while r.due(at).is_empty() {
                at += Duration::from_millis(500);
            }
            gaps.push((at - last).as_secs());
            last = at;
        }
        assert_eq!(gaps, vec![2, 4, 8, 16]);
        // A partial receipt: again soon.
        r.receipt(id(1), false, at);
        assert_eq!(r.due(at + FIRST_RETRY), vec![id(1)]);
        r.receipt(id(1), true, at);
        assert!(r.due(at + MAX_BACKOFF * 2).is_empty());
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn backoff_is_capped_and_re_sending_gives_up() {
        let t0 = Instant::now();
        let mut r = Redelivery::default();
        r.sent(id(2), t0);
        let mut at = t0;
        let mut last_gap = Duration::ZERO;
        let mut prev = t0;
        while at < t0 + Duration::from_secs(3600) {
            at += Duration::from_secs(1);
            if !r.due(at).is_empty() {
                last_gap = at - prev;
                prev = at;
            }
        }
        assert_eq!(last_gap, MAX_BACKOFF);
        assert!(r.due(t0 + GIVE_UP_AFTER).is_empty());
        assert_eq!(r.len(), 0, "dropped after GIVE_UP_AFTER");
    }

    #[test]
    fn tracking_is_bounded() {
        let t0 = Instant::now();
        let mut r = Redelivery::default();
        for i in 0..MAX_TRACKED + 10 {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
            r.sent(ConversationId::try_from_slice(&bytes).unwrap(), t0);
        }
        assert_eq!(r.len(), MAX_TRACKED);
        r.forget(&id(0));
    }
}
