//! The blocks groups fetch by CID over Bitswap: an invitee's KeyPackage
//! (for an invite in progress) and a Welcome with its ratchet tree (for an
//! invitation received). The peer that should hold them (the invitee's
//! node, the inviter's) is dialled, found in the DHT first when its
//! addresses are unknown; Bitswap asks every connected peer, so a relay or
//! IPFS node holding the blocks serves them as well.
//!
//! [`GroupBlocks`] is the state, sans-IO (time as an [`Instant`], the
//! Bitswap query id generic); the `impl Engine` block is the glue.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use kaichi_groups::GroupId;
use kaichi_identity::IdentityPublic;
use kaichi_privatelog::BlockCid;
use libp2p::PeerId;
use tokio::sync::oneshot;

use crate::engine::Engine;
use crate::node::NodeError;

/// Most group fetches in flight; another fails at once.
pub(super) const MAX_GROUP_FETCHES: usize = 64;
/// How long a group fetch waits for all its blocks.
pub(super) const GROUP_FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// What a group fetch continues with once its blocks are in.
pub(super) enum GroupBlocksFor {
    /// An invitee's KeyPackage (one block), for an invite in progress.
    KeyPackage {
        group: GroupId,
        member: IdentityPublic,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    /// A Welcome and its ratchet tree (two blocks, in that order), for an
    /// invitation received.
    Invitation { inviter: PeerId, group: GroupId },
}

/// One fetch: its blocks in order, each `None` until it arrives.
struct Fetch<T> {
    then: T,
    blocks: Vec<(BlockCid, Option<Vec<u8>>)>,
    since: Instant,
}

/// The group fetches in flight and the Bitswap query of each block.
pub(super) struct GroupBlocks<Q, T> {
    next: u64,
    fetches: HashMap<u64, Fetch<T>>,
    queries: HashMap<Q, (u64, usize)>,
}

/// A fetch that ended without all its blocks: what it was for, and the
/// queries still running for it (to cancel).
pub(super) struct Abandoned<Q, T> {
    pub(super) then: T,
    pub(super) cancel: Vec<Q>,
}

impl<Q: Hash + Eq + Copy, T> GroupBlocks<Q, T> {
    /// None in flight.
    pub(super) fn new() -> Self {
        Self {
            next: 0,
            fetches: HashMap::new(),
            queries: HashMap::new(),
        }
    }

    /// Whether another fetch may start.
    pub(super) fn has_room(&self) -> bool {
        self.fetches.len() < MAX_GROUP_FETCHES
    }

    /// Starts a fetch of `blocks` (in order) for `then`; `query` asks for
    /// one block and returns its query id, or the block itself when it is
    /// already at hand. Returns the blocks when all were at hand.
    pub(super) fn start(
        &mut self,
        then: T,
        blocks: &[BlockCid],
        now: Instant,
        mut query: impl FnMut(&BlockCid) -> Result<Q, Vec<u8>>,
    ) -> Option<(T, Vec<Vec<u8>>)> {
        let id = self.next;
        self.next += 1;
        let mut fetch = Fetch {
            then,
            blocks: Vec::with_capacity(blocks.len()),
            since: now,
        };
        for (i, cid) in blocks.iter().enumerate() {
            match query(cid) {
                Ok(q) => {
                    self.queries.insert(q, (id, i));
                    fetch.blocks.push((*cid, None));
                }
                Err(block) => fetch.blocks.push((*cid, Some(block))),
            }
        }
        if fetch.blocks.iter().all(|(_, b)| b.is_some()) {
            return Some(complete(fetch));
        }
        self.fetches.insert(id, fetch);
        None
    }

    /// Whether `query` is one of the group fetches'.
    pub(super) fn contains(&self, query: &Q) -> bool {
        self.queries.contains_key(query)
    }

    /// `query` brought `block` (Bitswap checked it against its CID).
    /// Returns the fetch's blocks, in order, once all are in.
    pub(super) fn got(&mut self, query: &Q, block: Vec<u8>) -> Option<(T, Vec<Vec<u8>>)> {
        let (id, i) = self.queries.remove(query)?;
        let fetch = self.fetches.get_mut(&id)?;
        fetch.blocks.get_mut(i)?.1 = Some(block);
        if fetch.blocks.iter().all(|(_, b)| b.is_some()) {
            return self.fetches.remove(&id).map(complete);
        }
        None
    }

    /// `query` failed: its fetch is abandoned.
    pub(super) fn failed(&mut self, query: &Q) -> Option<Abandoned<Q, T>> {
        let (id, _) = self.queries.remove(query)?;
        self.abandon(id)
    }

    /// The fetches older than [`GROUP_FETCH_TIMEOUT`], abandoned.
    pub(super) fn expired(&mut self, now: Instant) -> Vec<Abandoned<Q, T>> {
        let old: Vec<u64> = self
            .fetches
            .iter()
            .filter(|(_, f)| now.duration_since(f.since) >= GROUP_FETCH_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        old.into_iter().filter_map(|id| self.abandon(id)).collect()
    }

    fn abandon(&mut self, id: u64) -> Option<Abandoned<Q, T>> {
        let fetch = self.fetches.remove(&id)?;
        let cancel: Vec<Q> = self
            .queries
            .iter()
            .filter(|(_, (f, _))| *f == id)
            .map(|(q, _)| *q)
            .collect();
        for q in &cancel {
            self.queries.remove(q);
        }
        Some(Abandoned {
            then: fetch.then,
            cancel,
        })
    }
}

fn complete<T>(fetch: Fetch<T>) -> (T, Vec<Vec<u8>>) {
    let blocks = fetch.blocks.into_iter().filter_map(|(_, b)| b).collect();
    (fetch.then, blocks)
}

impl Engine {
    /// Fetches `blocks` over Bitswap for `then`, dialling `peer` (which
    /// should hold them) if needed.
    pub(super) fn fetch_group_blocks(
        &mut self,
        peer: PeerId,
        blocks: &[BlockCid],
        then: GroupBlocksFor,
    ) {
        if !self.groups.blocks.has_room() {
            self.group_blocks_abandoned(then, "too many group fetches in flight");
            return;
        }
        let store = &self.store;
        let bitswap = &mut self.swarm.behaviour_mut().bitswap;
        let done = self
            .groups
            .blocks
            .start(then, blocks, Instant::now(), |cid| {
                use kaichi_privatelog::store::BlockStore as _;
                match store.get(&cid.to_cid()) {
                    Ok(Some(block)) => Err(block),
                    _ => Ok(bitswap.get(&cid.to_cid())),
                }
            });
        match done {
            Some((then, blocks)) => self.group_blocks_fetched(then, blocks),
            None => self.dial_peer(peer),
        }
    }

    /// Whether a Bitswap query is a group fetch's.
    pub(crate) fn is_group_block_query(&self, query: &beetswap::QueryId) -> bool {
        self.groups.blocks.contains(query)
    }

    /// A Bitswap query ended; `false` when it was not a group fetch's.
    pub(crate) fn group_block_got(
        &mut self,
        query: &beetswap::QueryId,
        result: Result<Vec<u8>, &beetswap::Error>,
    ) -> bool {
        if !self.groups.blocks.contains(query) {
            return false;
        }
        match result {
            Ok(block) => {
                if let Some((then, blocks)) = self.groups.blocks.got(query, block) {
                    self.group_blocks_fetched(then, blocks);
                }
            }
            Err(e) => {
                if let Some(a) = self.groups.blocks.failed(query) {
                    for q in a.cancel {
                        self.swarm.behaviour_mut().bitswap.cancel(q);
                    }
                    self.group_blocks_abandoned(a.then, &e.to_string());
                }
            }
        }
        true
    }

    /// Runs on the retry timer: fetches past their deadline are cancelled.
    pub(crate) fn check_group_fetches(&mut self) {
        for a in self.groups.blocks.expired(Instant::now()) {
            for q in a.cancel {
                self.swarm.behaviour_mut().bitswap.cancel(q);
            }
            self.group_blocks_abandoned(a.then, "no peer served it in time");
        }
    }

    fn group_blocks_fetched(&mut self, then: GroupBlocksFor, blocks: Vec<Vec<u8>>) {
        match (then, blocks.as_slice()) {
            (
                GroupBlocksFor::KeyPackage {
                    group,
                    member,
                    reply,
                },
                [kp],
            ) => {
                let result = self.finish_invite(group, &member, kp.clone());
                let _ = reply.send(result);
            }
            (GroupBlocksFor::Invitation { inviter, group }, [welcome, tree]) => {
                self.join_group(inviter, group, welcome, tree);
            }
            _ => tracing::warn!("a group fetch ended with the wrong number of blocks"),
        }
    }

    fn group_blocks_abandoned(&mut self, then: GroupBlocksFor, why: &str) {
        match then {
            GroupBlocksFor::KeyPackage { member, reply, .. } => {
                let _ = reply.send(Err(NodeError::KeyPackageUnavailable {
                    member: member.ipns_name(),
                    reason: why.to_owned(),
                }));
            }
            GroupBlocksFor::Invitation { group, .. } => {
                tracing::debug!(%group, why, "could not fetch an invitation's Welcome and tree");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cid(n: u8) -> BlockCid {
        BlockCid::of(&[n])
    }

    #[test]
    fn a_fetch_completes_when_all_its_blocks_are_in_and_keeps_their_order() {
        let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
        let t0 = Instant::now();
        let mut q = 0;
        let started = s.start("join", &[cid(1), cid(2)], t0, |_| {
            q += 1;
            Ok(q)
        });
        assert!(started.is_none());
        assert!(s.contains(&1) && s.contains(&2));
        // The tree (second) arrives first; the order stays Welcome, tree.
        assert!(s.got(&2, b"tree".to_vec()).is_none());
        let (then, blocks) = s.got(&1, b"welcome".to_vec()).unwrap();
        assert_eq!(then, "join");
        assert_eq!(blocks, [b"welcome".to_vec(), b"tree".to_vec()]);
        assert!(!s.contains(&1) && s.got(&1, Vec::new()).is_none());
    }

    #[test]
    fn blocks_at_hand_complete_at_once_or_fill_in() {
        let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
        let t0 = Instant::now();
        let all = s.start("kp", &[cid(1)], t0, |_| Err(b"kp".to_vec()));
        assert_eq!(all.unwrap().1, [b"kp".to_vec()]);
        let half = s.start("join", &[cid(1), cid(2)], t0, |c| {
            if *c == cid(1) {
                Err(b"welcome".to_vec())
            } else {
                Ok(7)
            }
        });
        assert!(half.is_none());
        let (_, blocks) = s.got(&7, b"tree".to_vec()).unwrap();
        assert_eq!(blocks, [b"welcome".to_vec(), b"tree".to_vec()]);
    }

    #[test]
    fn a_failed_block_abandons_its_fetch_and_names_the_queries_to_cancel() {
        let mut s: GroupBlocks<u32, &str> = GroupBlocks::new();
        let mut q = 10;
        s.start("join", &[cid(1), cid(2)], Instant::now(), |_| {
            q += 1;
            Ok(q)
        });
        let a = s.failed(&11).unwrap();
        assert_eq!(a.then, "join");
        assert_eq!(a.cancel, [12]);
        assert!(!s.contains(&12));
        assert!(s.failed(&12).is_none());
        assert!(s.got(&12, Vec::new()).is_none());
    }

    #[test]
    fn fetches_expire_after_the_timeout_and_room_is_bounded() {
        let mut s: GroupBlocks<u32, u32> = GroupBlocks::new();
        let t0 = Instant::now();
        let mut q = 0;
        for n in 0..MAX_GROUP_FETCHES as u32 {
            assert!(s.has_room());
            s.start(n, &[cid(1)], t0, |_| {
                q += 1;
                Ok(q)
            });
        }
        assert!(!s.has_room());
        let just_before = t0 + GROUP_FETCH_TIMEOUT - Duration::from_millis(1);
        assert!(s.expired(just_before).is_empty());
        let gone = s.expired(t0 + GROUP_FETCH_TIMEOUT);
        assert_eq!(gone.len(), MAX_GROUP_FETCHES);
        assert!(gone.iter().all(|a| a.cancel.len() == 1));
        assert!(s.has_room() && !s.contains(&1));
    }
}
