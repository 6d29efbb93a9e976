//! The merge CRDT: a grow-only set of verified entries with a deterministic
//! total order.
//!
//! The state is the set of entries (plus the set of CIDs rejected for
//! breaking the clock rule). `merge` is set union, so it is commutative,
//! associative and idempotent, and every replica holding the same set shows
//! the same order: (clock, author, CID). Because every entry's clock exceeds
//! its parents', parents always come before children. Entries whose parents
//! are missing are kept; [`LogSet::missing`] reports the gaps for sync.
//!
//! A long log need not stay in memory: [`LogSet::settle`] moves its oldest
//! settled entries out (to a [`ColdEntries`] index, the store that holds
//! them), keeping the heads, what waits for a parent and the newest ones.
//! The set it represents does not change: lookups of a moved entry go to
//! the index.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::ids::EntryCid;

/// The position of an entry in the conversation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderKey {
    /// Lamport clock.
    pub clock: u64,
    /// Author's IPNS public key bytes.
    pub author: [u8; 32],
    /// The entry.
    pub cid: EntryCid,
}

/// What the log keeps per entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// The entry.
    pub cid: EntryCid,
    /// Author's IPNS public key bytes.
    pub author: [u8; 32],
    /// Lamport clock.
    pub clock: u64,
    /// Parents, sorted and unique.
    pub parents: Vec<EntryCid>,
}

impl EntryMeta {
    /// The entry's place in the order.
    pub fn key(&self) -> OrderKey {
        OrderKey {
            clock: self.clock,
            author: self.author,
            cid: self.cid,
        }
    }
}

/// The outcome of inserting one entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inserted {
    /// False when the entry was already present (a duplicate).
    pub new: bool,
    /// Entries removed because this entry, their parent, shows their clock
    /// was wrong (they arrived before it).
    pub evicted: Vec<EntryCid>,
}

/// The clock rule failed for an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockViolation {
    /// The entry's clock.
    pub clock: u64,
    /// The clock its present parents imply (a lower bound while some are missing).
    pub expected: u64,
}

/// Where the entries [`LogSet::settle`] moved out of memory are looked up:
/// the store that holds a conversation's entries (see
/// [`crate::store::SettledEntries`]). It must answer for every entry moved
/// to it, and for no entry the log does not hold.
pub trait ColdEntries: std::fmt::Debug + Send + Sync {
    /// The position of a settled entry, or `None` when the index does not
    /// hold it.
    fn key_of(&self, cid: &EntryCid) -> Result<Option<OrderKey>, ColdError>;
}

/// The index of settled entries could not be read (the store failed).
/// Nothing changed; the same call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the index of settled entries could not be read")]
pub struct ColdError;

/// An entry could not be inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InsertError {
    /// The clock rule fails against the parents present.
    #[error("clock {} breaks the rule (expected {})", .0.clock, .0.expected)]
    ClockRule(ClockViolation),
    /// The entry was evicted earlier for breaking the clock rule.
    #[error("the entry was rejected earlier for breaking the clock rule")]
    PreviouslyRejected,
    /// The index of settled entries failed; nothing changed.
    #[error(transparent)]
    Cold(#[from] ColdError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    author: [u8; 32],
    clock: u64,
    parents: Box<[EntryCid]>,
}

/// A grow-only set of entries with gap tracking and a total order.
#[derive(Debug, Clone, Default)]
pub struct LogSet {
    nodes: HashMap<EntryCid, Node>,
    order: BTreeSet<OrderKey>,
    /// How many present entries name each CID as a parent.
    referenced: HashMap<EntryCid, u32>,
    /// Present entries waiting on each missing parent.
    waiting: HashMap<EntryCid, Vec<EntryCid>>,
    heads: BTreeSet<EntryCid>,
    missing: BTreeSet<EntryCid>,
    rejected: HashSet<EntryCid>,
    /// How many present entries by an author name each CID as a parent.
    referenced_by: HashMap<(EntryCid, [u8; 32]), u32>,
    /// Per author, their entries no entry of theirs names as a parent: the
    /// heads of that author's outbox.
    outbox_heads: HashMap<[u8; 32], BTreeSet<EntryCid>>,
    /// Where settled entries are looked up, once some were moved out.
    cold: Option<Arc<dyn ColdEntries>>,
    /// How many entries were moved out of memory.
    cold_len: usize,
    /// The newest entry moved out of memory.
    settled_below: Option<OrderKey>,
}

impl PartialEq for LogSet {
    /// Replicas are equal when they hold the same entries. (The set of
    /// rejected CIDs is a cache that stops sync from refetching them.)
    /// Settled replicas compare the entries in memory and how many settled.
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order && self.cold_len == other.cold_len
    }
}
impl Eq for LogSet {}

impl LogSet {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries, settled ones included.
    pub fn len(&self) -> usize {
        self.nodes.len() + self.cold_len
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of entries held in memory (all of them until
    /// [`Self::settle`] moves some out).
    pub fn hot_len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the entry is present in memory. Settled entries are not:
    /// [`Self::try_contains`] asks their index too.
    pub fn contains(&self, cid: &EntryCid) -> bool {
        self.nodes.contains_key(cid)
    }

    /// Whether the entry is present, in memory or settled.
    pub fn try_contains(&self, cid: &EntryCid) -> Result<bool, ColdError> {
        Ok(self.nodes.contains_key(cid) || self.cold_key(cid)?.is_some())
    }

    fn cold_key(&self, cid: &EntryCid) -> Result<Option<OrderKey>, ColdError> {
        match &self.cold {
            Some(cold) if !self.rejected.contains(cid) => cold.key_of(cid),
            _ => Ok(None),
        }
    }

    /// Whether the entry was rejected for breaking the clock rule.
    pub fn is_rejected(&self, cid: &EntryCid) -> bool {
        self.rejected.contains(cid)
    }

    /// An entry's clock.
    pub fn clock_of(&self, cid: &EntryCid) -> Option<u64> {
        self.nodes.get(cid).map(|n| n.clock)
    }

    /// An entry's order key, settled entries included (one that cannot be
    /// looked up counts as absent).
    pub fn key_of(&self, cid: &EntryCid) -> Option<OrderKey> {
        match self.nodes.get(cid) {
            Some(n) => Some(OrderKey {
                clock: n.clock,
                author: n.author,
                cid: *cid,
            }),
            None => self.cold_key(cid).ok().flatten(),
        }
    }

    /// Entries no present entry names as a parent.
    pub fn heads(&self) -> impl Iterator<Item = &EntryCid> {
        self.heads.iter()
    }

    /// The heads of one author's outbox: their entries that none of their
    /// own entries names as a parent.
    pub fn outbox_heads(&self, author: &[u8; 32]) -> impl Iterator<Item = &EntryCid> {
        self.outbox_heads.get(author).into_iter().flatten()
    }

    /// Parents named by present entries but not present (and not rejected).
    pub fn missing(&self) -> impl Iterator<Item = &EntryCid> {
        self.missing.iter()
    }

    /// The entries in memory in conversation order, oldest first (all of
    /// them unless some were settled).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &OrderKey> {
        self.order.iter()
    }

    /// Entries in memory strictly before `key`, newest first.
    pub fn before(&self, key: &OrderKey) -> impl Iterator<Item = &OrderKey> {
        self.order.range(..key).rev()
    }

    /// The clock a new entry on top of `parents` must carry.
    pub fn next_clock<'a>(&self, parents: impl IntoIterator<Item = &'a EntryCid>) -> u64 {
        parents
            .into_iter()
            .filter_map(|p| self.clock_of(p))
            .max()
            .map_or(1, |m| m.saturating_add(1))
    }

    /// Checks the clock rule of `meta` against the parents present. A
    /// settled parent that cannot be looked up counts as missing (a looser
    /// bound): [`Self::insert`] decides.
    pub fn check(&self, meta: &EntryMeta) -> Result<(), ClockViolation> {
        self.check_among(meta, |p| self.key_of(p).map(|k| k.clock))
    }

    /// The clock rule, with `clock_of` giving the clock of each parent
    /// present.
    fn check_among(
        &self,
        meta: &EntryMeta,
        clock_of: impl Fn(&EntryCid) -> Option<u64>,
    ) -> Result<(), ClockViolation> {
        let present: Vec<u64> = meta.parents.iter().filter_map(clock_of).collect();
        let expected = present.iter().max().map_or(1, |m| m.saturating_add(1));
        let all_present = present.len() == meta.parents.len();
        let ok = if meta.parents.is_empty() {
            meta.clock == 1
        } else if all_present {
            meta.clock == expected
        } else {
            meta.clock >= expected.max(2)
        };
        if ok {
            Ok(())
        } else {
            Err(ClockViolation {
                clock: meta.clock,
                expected,
            })
        }
    }

    /// The clock of a parent: in memory, or among the settled ones looked up.
    fn clock_among(&self, settled: &HashMap<EntryCid, u64>, p: &EntryCid) -> Option<u64> {
        self.clock_of(p).or_else(|| settled.get(p).copied())
    }

    /// Inserts a verified entry. Errors when the entry breaks the clock rule
    /// against the parents present or was rejected before; the entry is not
    /// added, and its CID is remembered as rejected so sync does not fetch it
    /// again. Errors too, changing nothing, when settled entries it needs
    /// cannot be looked up.
    pub fn insert(&mut self, meta: EntryMeta) -> Result<Inserted, InsertError> {
        if self.nodes.contains_key(&meta.cid) {
            return Ok(Inserted::default());
        }
        if self.rejected.contains(&meta.cid) {
            return Err(InsertError::PreviouslyRejected);
        }
        if self.cold_key(&meta.cid)?.is_some() {
            return Ok(Inserted::default());
        }
        let cid = meta.cid;
        let waiting = self.waiting.get(&cid).cloned().unwrap_or_default();
        // Every settled entry this insert reads is looked up first, so a
        // failing index changes nothing.
        let settled = self.settled_parents(
            meta.parents.iter().chain(
                waiting
                    .iter()
                    .filter_map(|c| self.nodes.get(c))
                    .flat_map(|n| n.parents.iter()),
            ),
        )?;
        if let Err(v) = self.check_among(&meta, |p| self.clock_among(&settled, p)) {
            // The rule only tightens as parents arrive: this entry can never
            // become valid, so remember not to fetch it again.
            self.rejected.insert(meta.cid);
            return Err(InsertError::ClockRule(v));
        }
        // Entries that arrived before this parent must still obey the rule.
        self.add(meta, &settled);
        let mut evicted = Vec::new();
        for child in waiting {
            if let Some(child_meta) = self.meta(&child)
                && self
                    .check_among(&child_meta, |p| self.clock_among(&settled, p))
                    .is_err()
            {
                self.remove(&child);
                self.rejected.insert(child);
                evicted.push(child);
            }
        }
        Ok(Inserted { new: true, evicted })
    }

    /// The clocks of the settled entries among `parents`.
    fn settled_parents<'a>(
        &self,
        parents: impl Iterator<Item = &'a EntryCid>,
    ) -> Result<HashMap<EntryCid, u64>, ColdError> {
        let mut settled = HashMap::new();
        if self.cold.is_none() {
            return Ok(settled);
        }
        for p in parents {
            if !self.nodes.contains_key(p)
                && !settled.contains_key(p)
                && let Some(k) = self.cold_key(p)?
            {
                settled.insert(*p, k.clock);
            }
        }
        Ok(settled)
    }

    /// Adds an entry whose settled parents are `settled`.
    fn add(&mut self, meta: EntryMeta, settled: &HashMap<EntryCid, u64>) {
        let cid = meta.cid;
        self.missing.remove(&cid);
        self.waiting.remove(&cid);
        if self.referenced.get(&cid).copied().unwrap_or(0) == 0 {
            self.heads.insert(cid);
        }
        if !self.referenced_by.contains_key(&(cid, meta.author)) {
            self.outbox_heads
                .entry(meta.author)
                .or_default()
                .insert(cid);
        }
        for p in &meta.parents {
            if settled.contains_key(p) {
                // A settled entry is referenced for good (see `settle`):
                // it is no head and keeps no counts.
                continue;
            }
            *self.referenced.entry(*p).or_insert(0) += 1;
            *self.referenced_by.entry((*p, meta.author)).or_insert(0) += 1;
            if let Some(own) = self.outbox_heads.get_mut(&meta.author) {
                own.remove(p);
            }
            self.heads.remove(p);
            if !self.nodes.contains_key(p) {
                if !self.rejected.contains(p) {
                    self.missing.insert(*p);
                }
                self.waiting.entry(*p).or_default().push(cid);
            }
        }
        self.order.insert(meta.key());
        self.nodes.insert(
            cid,
            Node {
                author: meta.author,
                clock: meta.clock,
                parents: meta.parents.into_boxed_slice(),
            },
        );
    }

    fn remove(&mut self, cid: &EntryCid) {
        let Some(node) = self.nodes.remove(cid) else {
            return;
        };
        self.order.remove(&OrderKey {
            clock: node.clock,
            author: node.author,
            cid: *cid,
        });
        self.heads.remove(cid);
        if let Some(own) = self.outbox_heads.get_mut(&node.author) {
            own.remove(cid);
        }
        for p in node.parents.iter() {
            let by = (*p, node.author);
            if let Some(n) = self.referenced_by.get_mut(&by) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.referenced_by.remove(&by);
                    if self.nodes.get(p).is_some_and(|n| n.author == node.author) {
                        self.outbox_heads.entry(node.author).or_default().insert(*p);
                    }
                }
            }
            if let Some(n) = self.referenced.get_mut(p) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.referenced.remove(p);
                    if self.nodes.contains_key(p) {
                        self.heads.insert(*p);
                    } else {
                        self.missing.remove(p);
                    }
                }
            }
            if let Some(w) = self.waiting.get_mut(p) {
                w.retain(|c| c != cid);
                if w.is_empty() {
                    self.waiting.remove(p);
                }
            }
        }
        if self.referenced.get(cid).copied().unwrap_or(0) > 0 {
            // Its own children now wait on it again, but it is rejected.
            self.missing.remove(cid);
        }
    }

    /// Metadata of a present entry.
    pub fn meta(&self, cid: &EntryCid) -> Option<EntryMeta> {
        self.nodes.get(cid).map(|n| EntryMeta {
            cid: *cid,
            author: n.author,
            clock: n.clock,
            parents: n.parents.to_vec(),
        })
    }

    /// Moves entries older than the newest `keep` out of memory, and from
    /// then on looks settled entries up in `cold`, which must hold every
    /// entry moved (the caller's store) and answer for no entry this log
    /// does not hold. Returns the keys moved, oldest first.
    ///
    /// Moved are only entries that stay as they are whatever arrives later:
    /// nothing happens while an entry waits for a parent that may still
    /// come, and no head, outbox head or entry for which `hold` says true
    /// is moved. (An entry is removed later only when a parent it waited
    /// for proves its clock wrong; an entry waiting for nothing stays, so
    /// what it references stays referenced.) The set the log represents,
    /// its order and every answer about it do not change, except that
    /// [`Self::iter`], [`Self::before`] and [`Self::merge`] see the entries
    /// in memory only: every entry after [`Self::settled_below`] is among
    /// them.
    pub fn settle(
        &mut self,
        cold: Arc<dyn ColdEntries>,
        keep: usize,
        mut hold: impl FnMut(&OrderKey) -> bool,
    ) -> Vec<OrderKey> {
        self.cold = Some(cold);
        let settled = self.waiting.keys().all(|p| self.rejected.contains(p));
        if !settled || self.nodes.len() <= keep {
            return Vec::new();
        }
        let candidates = self.order.len().saturating_sub(keep);
        let moving: Vec<OrderKey> = self
            .order
            .iter()
            .take(candidates)
            .filter(|k| {
                !self.heads.contains(&k.cid)
                    && !self
                        .outbox_heads
                        .get(&k.author)
                        .is_some_and(|h| h.contains(&k.cid))
            })
            .filter(|k| !hold(k))
            .copied()
            .collect();
        let authors: Vec<[u8; 32]> = self.outbox_heads.keys().copied().collect();
        for k in &moving {
            self.order.remove(k);
            self.nodes.remove(&k.cid);
            self.referenced.remove(&k.cid);
            for a in &authors {
                self.referenced_by.remove(&(k.cid, *a));
            }
        }
        self.cold_len += moving.len();
        if let Some(newest) = moving.last() {
            self.settled_below = self.settled_below.max(Some(*newest));
        }
        moving
    }

    /// The newest entry ever moved out of memory: every entry after it is
    /// in memory ([`Self::iter`] shows all of them), older ones may not be.
    pub fn settled_below(&self) -> Option<OrderKey> {
        self.settled_below
    }

    /// Adds every entry of `other` (set union). Entries that break the clock
    /// rule against this replica's entries are skipped.
    pub fn merge(&mut self, other: &LogSet) -> Vec<EntryCid> {
        let mut added = Vec::new();
        for key in &other.order {
            if self.nodes.contains_key(&key.cid) {
                continue;
            }
            if let Some(meta) = other.meta(&key.cid)
                && let Ok(ins) = self.insert(meta)
                && ins.new
            {
                added.push(key.cid);
            }
        }
        added
    }
}
