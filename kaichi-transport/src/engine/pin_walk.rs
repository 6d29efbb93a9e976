//! Relays pin recursively: when a user pushes its root, the relay walks the
//! DAG the root leads to (document, outbox heads, each entry's `prev` and
//! file links), fetching over Bitswap what it lacks and pinning every
//! block, so whatever the user wrote before it knew the relay is kept too.
//!
//! [`PinWalks`] is the walk state, sans-IO (query type generic): links in,
//! blocks to visit out. A walk that visited everything without a failure
//! marks its blocks complete (their whole ancestry is pinned), and later
//! walks stop there, so a root pushed again costs only its new entries.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use cid::Cid;
use kaichi_privatelog::attachment::Manifest;
use kaichi_privatelog::{DAG_CBOR_CODEC, Root, SealedEntry};
use libp2p::PeerId;

use super::Engine;

/// Most walks at once (one per user).
pub(super) const MAX_WALKS: usize = 64;
/// Most blocks one walk visits.
pub(super) const MAX_WALK_BLOCKS: usize = 65_536;
/// Most blocks being fetched at once, all walks together.
pub(super) const MAX_WALK_FETCHES: usize = 256;
/// Most CIDs remembered as complete (forgotten all at once when full: it
/// only costs walking again).
pub(super) const MAX_COMPLETE: usize = 1_000_000;

/// A walk's number.
pub(super) type WalkId = u64;

struct Walk {
    owner: PeerId,
    todo: Vec<Cid>,
    seen: HashSet<Cid>,
    in_flight: usize,
    failed: bool,
}

/// The walks running.
pub(super) struct PinWalks<Q> {
    walks: HashMap<WalkId, Walk>,
    fetching: HashMap<Q, (WalkId, Cid)>,
    complete: HashSet<Cid>,
    next_id: WalkId,
}

/// The links a block has that a walk follows: an entry's `prev` and files,
/// a root's document and heads, a file manifest's chunks; none for anything
/// else (raw blocks: documents and file chunks have no links).
pub(super) fn links(cid: &Cid, block: &[u8]) -> Vec<Cid> {
    if cid.codec() != DAG_CBOR_CODEC {
        return Vec::new();
    }
    if let Ok(entry) = SealedEntry::decode(block, None) {
        let mut out: Vec<Cid> = entry.prev().iter().map(|c| c.to_cid()).collect();
        out.extend_from_slice(entry.files());
        return out;
    }
    if let Ok(manifest) = Manifest::decode(block) {
        return manifest.chunks().iter().map(|c| c.to_cid()).collect();
    }
    if let Ok(root) = Root::decode(block) {
        return root_links(&root);
    }
    Vec::new()
}

/// A root's links: its document and every outbox head.
pub(super) fn root_links(root: &Root) -> Vec<Cid> {
    let mut out = vec![root.document().to_cid()];
    for (_, heads) in root.outboxes() {
        out.extend(heads.iter().map(|c| c.to_cid()));
    }
    out
}

impl<Q: Hash + Eq + Copy> PinWalks<Q> {
    /// None running.
    pub(super) fn new() -> Self {
        Self {
            walks: HashMap::new(),
            fetching: HashMap::new(),
            complete: HashSet::new(),
            next_id: 0,
        }
    }

    /// Walks from `links` for `owner` (joining its walk if one runs).
    /// `false` when too many walks run.
    pub(super) fn start(&mut self, owner: PeerId, links: Vec<Cid>) -> bool {
        let id = match self.walks.iter().find(|(_, w)| w.owner == owner) {
            Some((id, _)) => *id,
            None => {
                if self.walks.len() >= MAX_WALKS {
                    return false;
                }
                let id = self.next_id;
                self.next_id += 1;
                self.walks.insert(
                    id,
                    Walk {
                        owner,
                        todo: Vec::new(),
                        seen: HashSet::new(),
                        in_flight: 0,
                        failed: false,
                    },
                );
                id
            }
        };
        self.follow(id, links);
        true
    }

    fn follow(&mut self, id: WalkId, links: Vec<Cid>) {
        let Some(walk) = self.walks.get_mut(&id) else {
            return;
        };
        for link in links {
            if self.complete.contains(&link) || walk.seen.contains(&link) {
                continue;
            }
            if walk.seen.len() >= MAX_WALK_BLOCKS {
                walk.failed = true;
                break;
            }
            walk.seen.insert(link);
            walk.todo.push(link);
        }
    }

    /// The blocks to visit next (each is then `visited`, at once when held,
    /// or after a fetch started with `fetching`).
    pub(super) fn next(&mut self) -> Vec<(WalkId, Cid)> {
        let mut out = Vec::new();
        let mut budget = MAX_WALK_FETCHES.saturating_sub(self.fetching.len());
        for (id, walk) in &mut self.walks {
            while budget > 0 {
                let Some(cid) = walk.todo.pop() else { break };
                walk.in_flight += 1;
                budget -= 1;
                out.push((*id, cid));
            }
        }
        out
    }

    /// A block is being fetched for a walk.
    pub(super) fn fetching(&mut self, query: Q, id: WalkId, cid: Cid) {
        self.fetching.insert(query, (id, cid));
    }

    /// The walk and block a fetch was for, if it was a walk's.
    pub(super) fn fetched(&mut self, query: &Q) -> Option<(WalkId, Cid)> {
        self.fetching.remove(query)
    }

    /// A block was visited: its links (`None`: it could not be had).
    pub(super) fn visited(&mut self, id: WalkId, links: Option<Vec<Cid>>) {
        if let Some(walk) = self.walks.get_mut(&id) {
            walk.in_flight = walk.in_flight.saturating_sub(1);
            match links {
                Some(links) => self.follow(id, links),
                None => walk.failed = true,
            }
        }
    }

    /// The walks that ended: their owner, blocks visited and whether all
    /// of them were had. Complete walks' blocks are remembered.
    pub(super) fn finished(&mut self) -> Vec<(PeerId, usize, bool)> {
        let done: Vec<WalkId> = self
            .walks
            .iter()
            .filter(|(_, w)| w.todo.is_empty() && w.in_flight == 0)
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        for id in done {
            let Some(walk) = self.walks.remove(&id) else {
                continue;
            };
            if !walk.failed {
                if self.complete.len() + walk.seen.len() > MAX_COMPLETE {
                    self.complete.clear();
                }
                self.complete.extend(walk.seen.iter().copied());
            }
            out.push((walk.owner, walk.seen.len(), !walk.failed));
        }
        out
    }
}

impl Engine {
    /// Relay: a user pushed its root: pin everything it leads to (`links`,
    /// the root's).
    pub(super) fn walk_pins(&mut self, owner: PeerId, links: Vec<Cid>) {
        if !self.pin_walks.start(owner, links) {
            tracing::debug!(%owner, "too many pin walks: this root is pinned alone");
        }
        self.drive_pin_walks();
    }

    /// Visits what the walks want next: held blocks at once (pinned if
    /// they were not), the others fetched over Bitswap.
    pub(super) fn drive_pin_walks(&mut self) {
        use kaichi_privatelog::store::BlockStore as _;
        // Held blocks are visited at once, which may queue more.
        loop {
            let next = self.pin_walks.next();
            if next.is_empty() {
                break;
            }
            for (id, cid) in next {
                // A held raw block (a document, a file chunk) links nothing:
                // it is pinned without being read.
                let held = if cid.codec() == DAG_CBOR_CODEC {
                    self.store.get(&cid).ok().flatten().map(|b| links(&cid, &b))
                } else {
                    self.store.has(&cid).ok().filter(|h| *h).map(|_| Vec::new())
                };
                match held {
                    Some(links) => {
                        if let Err(e) = self.store.pin(&cid) {
                            tracing::debug!(%e, "could not pin a walked block");
                        }
                        self.pin_walks.visited(id, Some(links));
                    }
                    None => {
                        let query = self.swarm.behaviour_mut().bitswap.get(&cid);
                        self.pin_walks.fetching(query, id, cid);
                    }
                }
            }
        }
        for (owner, blocks, complete) in self.pin_walks.finished() {
            tracing::debug!(%owner, blocks, complete, "a pin walk ended");
        }
    }

    /// A Bitswap query ended; `false` when it was not a walk's. A fetched
    /// block (its CID checked by Bitswap) is stored, pinned and followed.
    pub(super) fn pin_walk_fetched(
        &mut self,
        query: &beetswap::QueryId,
        data: Option<&[u8]>,
    ) -> bool {
        use kaichi_privatelog::store::BlockStore as _;
        let Some((id, cid)) = self.pin_walks.fetched(query) else {
            return false;
        };
        let links = data.and_then(|block| {
            match self
                .store
                .put(&cid, block)
                .and_then(|()| self.store.pin(&cid))
            {
                Ok(()) => Some(links(&cid, block)),
                Err(e) => {
                    tracing::debug!(%e, "could not pin a walked block");
                    None
                }
            }
        });
        self.pin_walks.visited(id, links);
        self.drive_pin_walks();
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use kaichi_privatelog::BlockCid;

    fn cid(n: u8) -> Cid {
        BlockCid::of(&[n]).to_cid()
    }

    #[test]
    fn a_walk_follows_links_once_and_complete_blocks_stop_later_walks() {
        let owner = PeerId::random();
        let mut w = PinWalks::<u32>::new();
        assert!(w.start(owner, vec![cid(1), cid(2), cid(1)]));
        let first = w.next();
        assert_eq!(first.len(), 2);
        // 2 links to 3 (and back to 1, already seen); 1 is fetched.
        w.fetching(7, first[0].0, cid(1));
        w.visited(first[1].0, Some(vec![cid(3), cid(1)]));
        let second = w.next();
        assert_eq!(second.iter().map(|(_, c)| *c).collect::<Vec<_>>(), [cid(3)]);
        w.visited(second[0].0, Some(vec![]));
        assert!(w.finished().is_empty(), "a fetch is still out");
        let (id, c) = w.fetched(&7).unwrap();
        assert_eq!(c, cid(1));
        w.visited(id, Some(vec![]));
        assert_eq!(w.finished(), vec![(owner, 3, true)]);
        // Later walks stop at what is complete.
        assert!(w.start(owner, vec![cid(1), cid(4)]));
        assert_eq!(
            w.next().iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            [cid(4)]
        );
    }

    #[test]
    fn a_failed_walk_is_not_remembered_and_walks_are_bounded() {
        let mut w = PinWalks::<u32>::new();
        let owner = PeerId::random();
        w.start(owner, vec![cid(1)]);
        let (id, _) = w.next()[0];
        w.visited(id, None);
        assert_eq!(w.finished(), vec![(owner, 1, false)]);
        w.start(owner, vec![cid(1)]);
        assert_eq!(w.next().len(), 1, "not complete: walked again");
        for _ in 1..MAX_WALKS {
            assert!(w.start(PeerId::random(), vec![]));
        }
        assert!(!w.start(PeerId::random(), vec![]));
        // A raw block has no links.
        assert!(links(&cid(1), b"raw bytes").is_empty());
    }
}
