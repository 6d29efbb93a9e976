//! Syncing a contact's outbox through IPNS (`Node::sync`): resolve the
//! contact's name, fetch its root, then fetch (Bitswap) the heads the root
//! lists for this conversation and every entry they lead to; answered when
//! the conversation has them all, or at the deadline with what is missing.
//!
//! The lookup (name -> record -> root -> document) is the document lookup
//! every other part uses ([`super::lookup`]); [`OutboxSyncs`] is what runs
//! after it, sans-IO (reply type generic).

use std::time::{Duration, Instant};

use kaichi_privatelog::{ConversationId, EntryCid, Root};

use super::Engine;
use crate::node::{NodeError, Reply, SyncReport};
use crate::peer::Peer;

/// How long a sync may fetch before it answers with what is missing.
pub(super) const SYNC_DEADLINE: Duration = Duration::from_secs(60);
/// Most syncs running at once.
pub(super) const MAX_SYNCS: usize = 64;

/// One sync fetching a conversation.
struct Running<R> {
    conversation: ConversationId,
    heads: Vec<EntryCid>,
    /// Entries held when it started.
    before: usize,
    deadline: Instant,
    reply: R,
}

/// Where a conversation stands, as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Progress {
    /// Entries held.
    pub(super) len: usize,
    /// Whether every head the root listed is held.
    pub(super) has_heads: bool,
    /// Parents named but not held.
    pub(super) missing: usize,
}

/// The syncs running.
pub(super) struct OutboxSyncs<R> {
    running: Vec<Running<R>>,
}

/// How a sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Everything the root leads to is held.
    Complete(SyncReport),
    /// The deadline passed first.
    Incomplete {
        /// Entries fetched.
        fetched: u64,
        /// Entries still missing.
        missing: usize,
    },
}

impl<R> OutboxSyncs<R> {
    /// None running.
    pub(super) fn new() -> Self {
        Self {
            running: Vec::new(),
        }
    }

    /// Starts a sync of `conversation` towards `heads`, which held
    /// `before` entries; gives the reply back when too many run.
    pub(super) fn start(
        &mut self,
        conversation: ConversationId,
        heads: Vec<EntryCid>,
        before: usize,
        now: Instant,
        reply: R,
    ) -> Result<(), R> {
        if self.running.len() >= MAX_SYNCS {
            return Err(reply);
        }
        self.running.push(Running {
            conversation,
            heads,
            before,
            deadline: now + SYNC_DEADLINE,
            reply,
        });
        Ok(())
    }

    /// The conversations being synced, with the heads each waits for.
    pub(super) fn waiting(&self) -> impl Iterator<Item = (&ConversationId, &[EntryCid])> {
        self.running
            .iter()
            .map(|r| (&r.conversation, r.heads.as_slice()))
    }

    /// The syncs that ended: complete, or past their deadline.
    pub(super) fn check(
        &mut self,
        now: Instant,
        progress: impl Fn(&ConversationId, &[EntryCid]) -> Option<Progress>,
    ) -> Vec<(R, Outcome)> {
        let mut ended = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            let r = &self.running[i];
            let p = progress(&r.conversation, &r.heads).unwrap_or(Progress {
                len: r.before,
                has_heads: false,
                missing: r.heads.len(),
            });
            let fetched = p.len.saturating_sub(r.before) as u64;
            let outcome = if p.has_heads && p.missing == 0 {
                Some(Outcome::Complete(SyncReport {
                    new_entries: fetched,
                    entries: p.len as u64,
                }))
            } else if now >= r.deadline {
                Some(Outcome::Incomplete {
                    fetched,
                    missing: p.missing.max(usize::from(!p.has_heads)),
                })
            } else {
                None
            };
            match outcome {
                Some(o) => ended.push((self.running.swap_remove(i).reply, o)),
                None => i += 1,
            }
        }
        ended
    }
}

/// What a sync of `conv` towards `heads` still lacks: the heads not held
/// and the parents named but not held.
fn still_wanted(conv: &kaichi_privatelog::Conversation, heads: &[EntryCid]) -> Vec<EntryCid> {
    let mut want: Vec<EntryCid> = heads
        .iter()
        .filter(|h| !conv.contains(h))
        .copied()
        .collect();
    want.extend(conv.missing());
    want
}

impl Engine {
    /// `Node::sync`: a fresh lookup of the contact (its record and root,
    /// whatever is cached), then the fetch.
    pub(super) fn sync_outbox(&mut self, peer: Peer, reply: Reply<SyncReport>) {
        // A known contact is looked up by name (its record), not by wallet.
        let target = match self.find_contact(&peer) {
            Ok(contact) => Peer::Name(contact.peer.ipns_name()),
            Err(_) => peer,
        };
        self.lookup_for_sync(target, reply);
    }

    /// The lookup found the contact (`peer`, now a contact) and its root:
    /// fetch what the root lists for this conversation.
    pub(super) fn sync_found(
        &mut self,
        peer: &Peer,
        root: Option<&Root>,
        reply: Reply<SyncReport>,
    ) {
        let started = (|| {
            let contact = self.find_contact(peer)?;
            let conv = self.conversation(&contact)?;
            let heads: Vec<EntryCid> = root
                .and_then(|r| r.outbox(&conv.peer_tag()))
                .map(<[EntryCid]>::to_vec)
                .unwrap_or_default();
            let want = still_wanted(conv, &heads);
            Ok::<_, NodeError>((contact.id, heads, conv.len(), want))
        })();
        let (id, heads, before, want) = match started {
            Ok(s) => s,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if let Err(reply) = self.syncs.start(id, heads, before, Instant::now(), reply) {
            let _ = reply.send(Err(NodeError::TooManyLookups));
            return;
        }
        self.fetch(id, want);
        self.check_syncs();
    }

    /// Answers the syncs that ended (complete, or past their deadline); runs
    /// on the retry timer and when a sync starts.
    pub(super) fn check_syncs(&mut self) {
        let conversations = &self.conversations;
        let ended = self.syncs.check(Instant::now(), |id, heads| {
            let conv = conversations.get(id)?;
            Some(Progress {
                len: conv.len(),
                has_heads: heads.iter().all(|h| conv.contains(h)),
                missing: conv.missing().len(),
            })
        });
        for (reply, outcome) in ended {
            let _ = reply.send(match outcome {
                Outcome::Complete(report) => Ok(report),
                Outcome::Incomplete { fetched, missing } => {
                    Err(NodeError::SyncIncomplete { fetched, missing })
                }
            });
        }
    }

    /// Wants again what the running syncs still lack (wants expire, peers
    /// come and go).
    pub(super) fn refetch_syncs(&mut self) {
        let pending: Vec<(ConversationId, Vec<EntryCid>)> = self
            .syncs
            .waiting()
            .filter_map(|(id, heads)| {
                let want = still_wanted(self.conversations.get(id)?, heads);
                (!want.is_empty()).then_some((*id, want))
            })
            .collect();
        for (id, want) in pending {
            self.fetch(id, want);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(n: u8) -> ConversationId {
        ConversationId::from_bytes([n; 32])
    }

    #[test]
    fn a_sync_ends_when_everything_is_held_or_at_its_deadline() {
        let t0 = Instant::now();
        let mut s = OutboxSyncs::new();
        let head = EntryCid::of(b"h");
        s.start(conv(1), vec![head], 3, t0, "one").unwrap();
        s.start(conv(2), vec![head], 0, t0, "two").unwrap();
        let progress = |id: &ConversationId, _: &[EntryCid]| {
            Some(if *id == conv(1) {
                Progress {
                    len: 7,
                    has_heads: true,
                    missing: 0,
                }
            } else {
                Progress {
                    len: 2,
                    has_heads: true,
                    missing: 1,
                }
            })
        };
        let ended = s.check(t0, progress);
        assert_eq!(
            ended,
            vec![(
                "one",
                Outcome::Complete(SyncReport {
                    new_entries: 4,
                    entries: 7
                })
            )]
        );
        assert!(s.check(t0 + Duration::from_secs(1), progress).is_empty());
        let ended = s.check(t0 + SYNC_DEADLINE, progress);
        assert_eq!(
            ended,
            vec![(
                "two",
                Outcome::Incomplete {
                    fetched: 2,
                    missing: 1
                }
            )]
        );
        assert_eq!(s.waiting().count(), 0);
    }

    #[test]
    fn syncs_are_bounded() {
        let t0 = Instant::now();
        let mut s = OutboxSyncs::new();
        for i in 0..MAX_SYNCS {
            s.start(conv(1), vec![], 0, t0, i).unwrap();
        }
        assert_eq!(s.start(conv(1), vec![], 0, t0, 99), Err(99));
    }
}
