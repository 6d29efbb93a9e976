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

use cid::Cid;
use kaichi_groups::{GroupId, RatchetTree};
use kaichi_identity::IdentityPublic;
use kaichi_privatelog::attachment::Manifest;
use kaichi_privatelog::blob::{BlobKind, assemble, kind};
use libp2p::PeerId;
use tokio::sync::oneshot;

use super::tree_stream::TreeStream;
use crate::engine::Engine;
use crate::node::NodeError;

/// Most group fetches in flight; another fails at once.
pub(super) const MAX_GROUP_FETCHES: usize = 64;
/// How long a group fetch waits for its next block (a large group's tree
/// is many chunks: the deadline moves with each one).
pub(super) const GROUP_FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// What a group fetch continues with once its blobs are in.
pub(super) enum GroupBlocksFor {
    /// An invitee's KeyPackage (one blob), for an invite in progress.
    KeyPackage {
        group: GroupId,
        member: IdentityPublic,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    /// A Welcome and its ratchet tree (named by `tree`), for an invitation
    /// received.
    Invitation {
        inviter: PeerId,
        group: GroupId,
        tree: Cid,
    },
    /// A split Welcome's index and the ratchet tree (named by `tree`), for
    /// an invitation received.
    SplitInvitation {
        inviter: PeerId,
        group: GroupId,
        tree: Cid,
    },
    /// A split Welcome's header and this member's shard (two blobs), the
    /// tree already in.
    InvitationShard {
        inviter: PeerId,
        group: GroupId,
        mine: kaichi_groups::KeyPackageRef,
        tree: (Cid, RatchetTree),
    },
    /// A group message sent by reference (one blob).
    Message { group: GroupId },
}

/// A blob a group fetch wants, and how it takes it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wanted {
    /// Its bytes.
    Bytes(Cid),
    /// A ratchet tree, decoded chunk by chunk as it arrives.
    Tree(Cid),
}

impl Wanted {
    fn cid(&self) -> Cid {
        match self {
            Self::Bytes(c) | Self::Tree(c) => *c,
        }
    }
}

/// A blob a group fetch brought.
#[derive(Debug)]
pub(super) enum Fetched {
    /// Its bytes.
    Bytes(Vec<u8>),
    /// A ratchet tree, decoded (its shape checked, not its MLS contents).
    Tree(RatchetTree),
}

/// One blob of a fetch: its root block, then (a chunked blob) its chunks.
enum Slot {
    Root(Wanted),
    Chunks {
        manifest: Manifest,
        chunks: Vec<Option<Vec<u8>>>,
    },
    Tree(TreeStream),
    Done(Fetched),
}

/// Which block of a slot a query brings.
#[derive(Clone, Copy)]
enum Part {
    Root,
    Chunk(usize),
}

/// One fetch: its blobs in order, and the most bytes one may have.
struct Fetch<T> {
    then: T,
    slots: Vec<Slot>,
    max: usize,
    /// When it started or last brought a block.
    last_block: Instant,
}

/// The group fetches in flight and the Bitswap query of each block.
pub(super) struct GroupBlocks<Q, T> {
    next: u64,
    fetches: HashMap<u64, Fetch<T>>,
    queries: HashMap<Q, (u64, usize, Part)>,
}

/// A fetch that ended without all its blobs: what it was for, and the
/// queries still running for it (to cancel).
pub(super) struct Abandoned<Q, T> {
    pub(super) then: T,
    pub(super) cancel: Vec<Q>,
    pub(super) why: String,
}

/// Where a fetch stands after a block arrived.
pub(super) enum Step<Q, T> {
    /// More blocks to come.
    Waiting,
    /// Every blob, in order.
    Done(T, Vec<Fetched>),
    /// It cannot complete.
    Failed(Abandoned<Q, T>),
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

    /// Starts a fetch of the blobs `wanted` (in order; raw CIDs or chunked
    /// blobs' manifests, see [`kaichi_privatelog::blob`]), each at most
    /// `max` bytes, for `then`. `query` asks for one block and returns its
    /// query id, or the block itself when it is already at hand.
    pub(super) fn start(
        &mut self,
        then: T,
        wanted: &[Wanted],
        max: usize,
        now: Instant,
        mut query: impl FnMut(&Cid) -> Result<Q, Vec<u8>>,
    ) -> Step<Q, T> {
        let id = self.next;
        self.next += 1;
        self.fetches.insert(
            id,
            Fetch {
                then,
                slots: wanted.iter().map(|w| Slot::Root(*w)).collect(),
                max,
                last_block: now,
            },
        );
        for (i, w) in wanted.iter().enumerate() {
            let step = match query(&w.cid()) {
                Ok(q) => {
                    self.queries.insert(q, (id, i, Part::Root));
                    continue;
                }
                Err(block) => self.fill(id, i, Part::Root, block, &mut query),
            };
            if !matches!(step, Step::Waiting) {
                return step;
            }
        }
        Step::Waiting
    }

    /// Whether `query` is one of the group fetches'.
    pub(super) fn contains(&self, query: &Q) -> bool {
        self.queries.contains_key(query)
    }

    /// `query` brought `block` (Bitswap checked it against its CID) at
    /// `now`; a manifest's chunks are asked for with `query`.
    pub(super) fn got(
        &mut self,
        q: &Q,
        block: Vec<u8>,
        now: Instant,
        mut query: impl FnMut(&Cid) -> Result<Q, Vec<u8>>,
    ) -> Step<Q, T> {
        let Some((id, slot, part)) = self.queries.remove(q) else {
            return Step::Waiting;
        };
        if let Some(f) = self.fetches.get_mut(&id) {
            f.last_block = now;
        }
        self.fill(id, slot, part, block, &mut query)
    }

    fn fill(
        &mut self,
        id: u64,
        slot: usize,
        part: Part,
        block: Vec<u8>,
        query: &mut impl FnMut(&Cid) -> Result<Q, Vec<u8>>,
    ) -> Step<Q, T> {
        match self.fill_slot(id, slot, part, block, query) {
            Ok(()) => self.settle(id, slot),
            Err(why) => self.fail(id, &why),
        }
    }

    fn fill_slot(
        &mut self,
        id: u64,
        slot: usize,
        part: Part,
        block: Vec<u8>,
        query: &mut impl FnMut(&Cid) -> Result<Q, Vec<u8>>,
    ) -> Result<(), String> {
        let Self {
            fetches, queries, ..
        } = self;
        let Some(fetch) = fetches.get_mut(&id) else {
            return Ok(());
        };
        let max = fetch.max;
        let Some(s) = fetch.slots.get_mut(slot) else {
            return Ok(());
        };
        match (&mut *s, part) {
            (Slot::Root(w), Part::Root) => {
                let w = *w;
                match kind(&w.cid()).map_err(|e| e.to_string())? {
                    BlobKind::Single(_) if block.len() > max => {
                        return Err("a blob over its bound".into());
                    }
                    BlobKind::Single(_) => {
                        *s = Slot::Done(match w {
                            Wanted::Bytes(_) => Fetched::Bytes(block),
                            Wanted::Tree(_) => Fetched::Tree(
                                RatchetTree::from_bytes(&block, max).map_err(|e| e.to_string())?,
                            ),
                        });
                    }
                    BlobKind::Chunked(_) => {
                        let m = Manifest::decode(&block).map_err(|e| e.to_string())?;
                        if m.size() > max as u64 {
                            return Err("a blob over its bound".into());
                        }
                        *s = match w {
                            Wanted::Tree(_) => Slot::Tree(TreeStream::new(m, max)),
                            Wanted::Bytes(_) => {
                                let mut chunks = vec![None; m.chunks().len()];
                                for (i, cid) in m.chunks().iter().enumerate() {
                                    match query(&cid.to_cid()) {
                                        Ok(q) => {
                                            queries.insert(q, (id, slot, Part::Chunk(i)));
                                        }
                                        Err(b) => chunks[i] = Some(b),
                                    }
                                }
                                Slot::Chunks {
                                    manifest: m,
                                    chunks,
                                }
                            }
                        };
                    }
                }
            }
            (Slot::Chunks { chunks, .. }, Part::Chunk(i)) => {
                if let Some(c) = chunks.get_mut(i) {
                    *c = Some(block);
                }
            }
            (Slot::Tree(t), Part::Chunk(i)) => t.got(i, block)?,
            _ => {}
        }
        // A tree asks for its next chunks as the window moves; the ones at
        // hand decode at once.
        if let Slot::Tree(t) = s {
            loop {
                let ask = t.next_wanted();
                if ask.is_empty() {
                    break;
                }
                for (i, cid) in ask {
                    match query(&cid) {
                        Ok(q) => {
                            queries.insert(q, (id, slot, Part::Chunk(i)));
                        }
                        Err(b) => t.got(i, b)?,
                    }
                }
            }
        }
        Ok(())
    }

    /// Completes a slot whose chunks are all in; completes the fetch when
    /// every slot is done.
    fn settle(&mut self, id: u64, slot: usize) -> Step<Q, T> {
        let Some(fetch) = self.fetches.get_mut(&id) else {
            return Step::Waiting;
        };
        let max = fetch.max;
        let done = match fetch.slots.get_mut(slot) {
            Some(Slot::Chunks { manifest, chunks }) if chunks.iter().all(Option::is_some) => {
                let parts: Vec<Vec<u8>> = chunks.iter_mut().filter_map(Option::take).collect();
                Some(
                    assemble(manifest, &parts, max)
                        .map(Fetched::Bytes)
                        .map_err(|e| e.to_string()),
                )
            }
            Some(s) if matches!(&*s, Slot::Tree(t) if t.is_complete()) => {
                match std::mem::replace(s, Slot::Done(Fetched::Bytes(Vec::new()))) {
                    Slot::Tree(t) => Some(t.finish().map(Fetched::Tree)),
                    _ => None,
                }
            }
            _ => None,
        };
        match done {
            Some(Ok(f)) => {
                if let Some(s) = fetch.slots.get_mut(slot) {
                    *s = Slot::Done(f);
                }
            }
            Some(Err(e)) => return self.fail(id, &e),
            None => {}
        }
        if fetch.slots.iter().all(|s| matches!(s, Slot::Done(_))) {
            let fetch = self.fetches.remove(&id).map(|f| {
                let blobs = f
                    .slots
                    .into_iter()
                    .filter_map(|s| match s {
                        Slot::Done(b) => Some(b),
                        _ => None,
                    })
                    .collect();
                (f.then, blobs)
            });
            if let Some((then, blobs)) = fetch {
                return Step::Done(then, blobs);
            }
        }
        Step::Waiting
    }

    fn fail(&mut self, id: u64, why: &str) -> Step<Q, T> {
        match self.abandon(id, why) {
            Some(a) => Step::Failed(a),
            None => Step::Waiting,
        }
    }

    /// `query` failed: its fetch is abandoned.
    pub(super) fn failed(&mut self, query: &Q, why: &str) -> Option<Abandoned<Q, T>> {
        let (id, _, _) = self.queries.remove(query)?;
        self.abandon(id, why)
    }

    /// The fetches that brought no block for [`GROUP_FETCH_TIMEOUT`],
    /// abandoned.
    pub(super) fn expired(&mut self, now: Instant) -> Vec<Abandoned<Q, T>> {
        let old: Vec<u64> = self
            .fetches
            .iter()
            .filter(|(_, f)| now.duration_since(f.last_block) >= GROUP_FETCH_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        old.into_iter()
            .filter_map(|id| self.abandon(id, "no peer served it in time"))
            .collect()
    }

    fn abandon(&mut self, id: u64, why: &str) -> Option<Abandoned<Q, T>> {
        let fetch = self.fetches.remove(&id)?;
        let cancel: Vec<Q> = self
            .queries
            .iter()
            .filter(|(_, (f, _, _))| *f == id)
            .map(|(q, _)| *q)
            .collect();
        for q in &cancel {
            self.queries.remove(q);
        }
        Some(Abandoned {
            then: fetch.then,
            cancel,
            why: why.to_owned(),
        })
    }
}

impl Engine {
    /// Fetches the blobs `wanted` over Bitswap for `then` (each at most
    /// `max` bytes), dialling `peer` (which should hold them) if needed.
    pub(super) fn fetch_group_blocks(
        &mut self,
        peer: PeerId,
        wanted: &[Wanted],
        max: usize,
        then: GroupBlocksFor,
    ) {
        if !self.groups.blocks.has_room() {
            self.group_blocks_abandoned(then, "too many group fetches in flight");
            return;
        }
        let store = &self.store;
        let bitswap = &mut self.swarm.behaviour_mut().bitswap;
        let step = self
            .groups
            .blocks
            .start(then, wanted, max, Instant::now(), |cid| {
                local_or_want(store, bitswap, cid)
            });
        if matches!(step, Step::Waiting) {
            self.dial_peer(peer);
        }
        self.group_step(step);
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
        let step = match result {
            Ok(block) => {
                let store = &self.store;
                let bitswap = &mut self.swarm.behaviour_mut().bitswap;
                self.groups.blocks.got(query, block, Instant::now(), |cid| {
                    local_or_want(store, bitswap, cid)
                })
            }
            Err(e) => match self.groups.blocks.failed(query, &e.to_string()) {
                Some(a) => Step::Failed(a),
                None => Step::Waiting,
            },
        };
        self.group_step(step);
        true
    }

    /// Runs on the retry timer: fetches past their deadline are cancelled.
    pub(crate) fn check_group_fetches(&mut self) {
        for a in self.groups.blocks.expired(Instant::now()) {
            self.group_step(Step::Failed(a));
        }
    }

    fn group_step(&mut self, step: Step<beetswap::QueryId, GroupBlocksFor>) {
        match step {
            Step::Waiting => {}
            Step::Done(then, blobs) => self.group_blocks_fetched(then, blobs),
            Step::Failed(a) => {
                for q in a.cancel {
                    self.swarm.behaviour_mut().bitswap.cancel(q);
                }
                self.group_blocks_abandoned(a.then, &a.why);
            }
        }
    }

    fn group_blocks_fetched(&mut self, then: GroupBlocksFor, blobs: Vec<Fetched>) {
        // Owned, so that a blob kept further (a KeyPackage, a tree) moves on
        // instead of being copied.
        let mut blobs = blobs.into_iter();
        match (then, blobs.next(), blobs.next(), blobs.next()) {
            (
                GroupBlocksFor::KeyPackage {
                    group,
                    member,
                    reply,
                },
                Some(Fetched::Bytes(kp)),
                None,
                None,
            ) => {
                let result = self.finish_invite(group, &member, kp);
                let _ = reply.send(result);
            }
            (
                GroupBlocksFor::Invitation {
                    inviter,
                    group,
                    tree: root,
                },
                Some(Fetched::Bytes(welcome)),
                Some(Fetched::Tree(tree)),
                None,
            ) => self.join_group(inviter, group, &welcome, (root, &tree)),
            (
                GroupBlocksFor::SplitInvitation {
                    inviter,
                    group,
                    tree: root,
                },
                Some(Fetched::Bytes(index)),
                Some(Fetched::Tree(tree)),
                None,
            ) => self.split_invitation(inviter, group, &index, (root, tree)),
            (
                GroupBlocksFor::InvitationShard {
                    inviter,
                    group,
                    mine,
                    tree: (root, tree),
                },
                Some(Fetched::Bytes(header)),
                Some(Fetched::Bytes(shard)),
                None,
            ) => self.join_from_shard(inviter, group, (&header, &shard), mine, (root, &tree)),
            (GroupBlocksFor::Message { group }, Some(Fetched::Bytes(message)), None, None) => {
                self.referenced_message(group, &message);
            }
            _ => tracing::warn!("a group fetch ended with the wrong blobs"),
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
            GroupBlocksFor::Invitation { group, .. }
            | GroupBlocksFor::SplitInvitation { group, .. }
            | GroupBlocksFor::InvitationShard { group, .. } => {
                tracing::debug!(%group, why, "could not fetch an invitation's Welcome and tree");
            }
            GroupBlocksFor::Message { group } => {
                tracing::debug!(%group, why, "could not fetch a group message sent by reference");
            }
        }
    }
}

/// A block from the store, or a Bitswap query for it.
fn local_or_want(
    store: &std::sync::Arc<kaichi_privatelog::store::SqliteStore>,
    bitswap: &mut crate::bitswap::Bitswap,
    cid: &Cid,
) -> Result<beetswap::QueryId, Vec<u8>> {
    use kaichi_privatelog::store::BlockStore as _;
    match store.get(cid) {
        Ok(Some(block)) => Err(block),
        _ => Ok(bitswap.get(cid)),
    }
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
