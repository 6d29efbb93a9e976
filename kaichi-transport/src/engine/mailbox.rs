//! One inbox's held notifications at a relay, taken by each reader for
//! itself: the identity's own peer and each device its document lists. A
//! notification goes once every known reader has taken it, when it
//! expires, or when the mailbox is full (the oldest first). Sans-IO: time
//! comes in as an [`Instant`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// Most readers of one inbox: the identity and its devices
/// ([`kaichi_identity::document::MAX_DEVICES`]).
pub(super) const MAX_READERS: usize = 1 + kaichi_identity::document::MAX_DEVICES;

/// Where the document that named a mailbox's readers stands among its
/// identity's documents: its authority's creation time, then its own (as
/// `kaichi_identity::document::DocumentVersion` orders them).
pub(super) type DocumentOrder = (kaichi_identity::Timestamp, kaichi_identity::Timestamp);

/// One inbox's notifications and its readers' positions.
#[derive(Debug, Default)]
pub(super) struct Mailbox {
    /// The sequence number the next notification gets.
    next: u64,
    /// Held notifications, oldest first: sequence, arrival, bytes.
    held: VecDeque<(u64, Instant, Vec<u8>)>,
    /// Their bytes, in all.
    bytes: usize,
    /// Each known reader's next sequence to take.
    readers: HashMap<PeerId, u64>,
    /// When the document the readers come from was created: an older one
    /// (a revoked device showing the document that still lists it) does
    /// not change them.
    readers_from: Option<DocumentOrder>,
}

impl Mailbox {
    /// Holds `data` (after dropping what expired, and the oldest while
    /// `max` are held or `max_bytes` would be passed).
    pub(super) fn hold(
        &mut self,
        data: Vec<u8>,
        now: Instant,
        retention: Duration,
        (max, max_bytes): (usize, usize),
    ) {
        self.expire(now, retention);
        while !self.held.is_empty()
            && (self.held.len() >= max.max(1) || self.bytes + data.len() > max_bytes)
        {
            self.pop();
        }
        self.bytes += data.len();
        self.held.push_back((self.next, now, data));
        self.next += 1;
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    fn pop(&mut self) {
        if let Some((_, _, data)) = self.held.pop_front() {
            self.bytes -= data.len();
        }
    }

    /// Sets who reads this inbox (the identity's peer and its devices', at
    /// most [`MAX_READERS`]) from a document created at `from`, unless a
    /// newer one set them: a reader no longer listed (a revoked device)
    /// takes nothing more; a new one starts from the oldest still held.
    pub(super) fn set_readers(
        &mut self,
        from: DocumentOrder,
        readers: impl IntoIterator<Item = PeerId>,
    ) {
        if self.readers_from.is_some_and(|seen| seen > from) {
            return;
        }
        self.readers_from = Some(from);
        let mut next = HashMap::new();
        for r in readers.into_iter().take(MAX_READERS) {
            let at = self.readers.get(&r).copied().unwrap_or(0);
            next.insert(r, at);
        }
        self.readers = next;
        self.collect();
    }

    /// Adds `reader` if the mailbox has room for it (an identity whose
    /// devices the relay does not know reads alone).
    pub(super) fn add_reader(&mut self, reader: PeerId) {
        if self.readers.len() < MAX_READERS {
            self.readers.entry(reader).or_insert(0);
        }
    }

    /// What `reader` has not taken yet and has not expired, oldest first;
    /// nothing for a peer that is not a reader.
    pub(super) fn take(
        &mut self,
        reader: &PeerId,
        now: Instant,
        retention: Duration,
    ) -> Vec<Vec<u8>> {
        self.expire(now, retention);
        let Some(from) = self.readers.get_mut(reader) else {
            return Vec::new();
        };
        let out = self
            .held
            .iter()
            .filter(|(seq, _, _)| *seq >= *from)
            .map(|(_, _, data)| data.clone())
            .collect();
        *from = self.next;
        self.collect();
        out
    }

    /// How many notifications are held.
    pub(super) fn len(&self) -> usize {
        self.held.len()
    }

    fn expire(&mut self, now: Instant, retention: Duration) {
        while self
            .held
            .front()
            .is_some_and(|(_, t, _)| now.duration_since(*t) > retention)
        {
            self.pop();
        }
    }

    /// Drops what every known reader has taken.
    fn collect(&mut self) {
        let Some(low) = self.readers.values().copied().min() else {
            return;
        };
        while self.held.front().is_some_and(|(seq, _, _)| *seq < low) {
            self.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(60);

    fn t0() -> DocumentOrder {
        let t = kaichi_identity::Timestamp::from_unix_nanos(1_000);
        (t, t)
    }

    fn t1() -> DocumentOrder {
        let t = kaichi_identity::Timestamp::from_unix_nanos(2_000);
        (t, t)
    }

    fn peer(seed: u8) -> PeerId {
        let (_, k) = kaichi_test_support::identity::keys(seed);
        k.ipns().public().to_libp2p().to_peer_id()
    }

    #[test]
    fn each_reader_takes_everything_once_and_it_goes_when_all_have() {
        let (laptop, phone) = (peer(1), peer(2));
        let t = Instant::now();
        let mut m = Mailbox::default();
        m.set_readers(t0(), [laptop, phone]);
        m.hold(vec![1], t, KEEP, (10, usize::MAX));
        m.hold(vec![2], t, KEEP, (10, usize::MAX));
        assert_eq!(m.take(&laptop, t, KEEP), vec![vec![1], vec![2]]);
        assert!(m.take(&laptop, t, KEEP).is_empty());
        assert_eq!(m.len(), 2, "the phone has not taken them");
        m.hold(vec![3], t, KEEP, (10, usize::MAX));
        assert_eq!(m.take(&phone, t, KEEP), vec![vec![1], vec![2], vec![3]]);
        assert_eq!(m.len(), 1, "the laptop has not taken the third");
        assert_eq!(m.take(&laptop, t, KEEP), vec![vec![3]]);
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn strangers_take_nothing_and_a_dropped_reader_holds_nothing_back() {
        let (laptop, phone, stranger) = (peer(1), peer(2), peer(3));
        let t = Instant::now();
        let mut m = Mailbox::default();
        m.set_readers(t0(), [laptop, phone]);
        m.hold(vec![1], t, KEEP, (10, usize::MAX));
        assert!(m.take(&stranger, t, KEEP).is_empty());
        assert_eq!(m.take(&laptop, t, KEEP), vec![vec![1]]);
        // The phone is revoked: no longer a reader, nothing waits for it,
        // and the older document that lists it does not bring it back.
        m.set_readers(t1(), [laptop]);
        assert_eq!(m.len(), 0);
        m.hold(vec![2], t, KEEP, (10, usize::MAX));
        assert!(m.take(&phone, t, KEEP).is_empty());
        m.set_readers(t0(), [laptop, phone]);
        assert!(m.take(&phone, t, KEEP).is_empty());
    }

    #[test]
    fn expiry_and_the_bound_still_apply() {
        let reader = peer(1);
        let t = Instant::now();
        let mut m = Mailbox::default();
        m.add_reader(reader);
        for i in 0..5u8 {
            m.hold(
                vec![i],
                t + Duration::from_secs(u64::from(i)),
                KEEP,
                (3, usize::MAX),
            );
        }
        let later = t + Duration::from_secs(62) + Duration::from_millis(500);
        assert_eq!(m.take(&reader, later, KEEP), vec![vec![3], vec![4]]);
    }

    #[test]
    fn held_bytes_are_bounded_oldest_first() {
        let reader = peer(1);
        let t = Instant::now();
        let mut m = Mailbox::default();
        m.add_reader(reader);
        for i in 0..10u8 {
            m.hold(vec![i; 100], t, KEEP, (1000, 350));
            assert!(m.bytes() <= 350);
        }
        let held = m.take(&reader, t, KEEP);
        assert_eq!(held, vec![vec![7; 100], vec![8; 100], vec![9; 100]]);
        assert_eq!(m.bytes(), 0, "taken by its only reader");
        // One notification larger than the bound is still held alone.
        m.hold(vec![0; 400], t, KEEP, (1000, 350));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn readers_are_bounded() {
        let mut m = Mailbox::default();
        m.set_readers(t0(), (0..=MAX_READERS as u8 + 3).map(peer));
        assert_eq!(m.readers.len(), MAX_READERS);
        m.add_reader(peer(200));
        assert_eq!(m.readers.len(), MAX_READERS);
    }
}
