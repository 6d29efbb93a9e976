//! The merge CRDT: a grow-only set of verified entries with a deterministic
//! total order.
//!
//! The state is the set of entries (plus the set of CIDs rejected for
//! breaking the clock rule). `merge` is set union, so it is commutative,
//! associative and idempotent, and every replica holding the same set shows
//! the same order: (clock, author, CID). Because every entry's clock exceeds
//! its parents', parents always come before children. Entries whose parents
//! are missing are kept; [`LogSet::missing`] reports the gaps for sync.

use std::collections::{BTreeSet, HashMap, HashSet};

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
}

impl PartialEq for LogSet {
    /// Replicas are equal when they hold the same entries. (The set of
    /// rejected CIDs is a cache that stops sync from refetching them.)
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}
impl Eq for LogSet {}

impl LogSet {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether the entry is present.
    pub fn contains(&self, cid: &EntryCid) -> bool {
        self.nodes.contains_key(cid)
    }

    /// Whether the entry was rejected for breaking the clock rule.
    pub fn is_rejected(&self, cid: &EntryCid) -> bool {
        self.rejected.contains(cid)
    }

    /// An entry's clock.
    pub fn clock_of(&self, cid: &EntryCid) -> Option<u64> {
        self.nodes.get(cid).map(|n| n.clock)
    }

    /// An entry's order key.
    pub fn key_of(&self, cid: &EntryCid) -> Option<OrderKey> {
        self.nodes.get(cid).map(|n| OrderKey {
            clock: n.clock,
            author: n.author,
            cid: *cid,
        })
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

    /// The entries in conversation order, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &OrderKey> {
        self.order.iter()
    }

    /// Entries strictly before `key`, newest first.
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

    /// Checks the clock rule of `meta` against the parents present.
    pub fn check(&self, meta: &EntryMeta) -> Result<(), ClockViolation> {
        let present: Vec<u64> = meta
            .parents
            .iter()
            .filter_map(|p| self.clock_of(p))
            .collect();
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

    /// Inserts a verified entry. Errors when the entry breaks the clock rule
    /// against the parents present or was rejected before; the entry is not
    /// added, and its CID is remembered as rejected so sync does not fetch it
    /// again.
    pub fn insert(&mut self, meta: EntryMeta) -> Result<Inserted, InsertError> {
        if self.nodes.contains_key(&meta.cid) {
            return Ok(Inserted::default());
        }
        if self.rejected.contains(&meta.cid) {
            return Err(InsertError::PreviouslyRejected);
        }
        if let Err(v) = self.check(&meta) {
            // The rule only tightens as parents arrive: this entry can never
            // become valid, so remember not to fetch it again.
            self.rejected.insert(meta.cid);
            return Err(InsertError::ClockRule(v));
        }
        let cid = meta.cid;
        // Entries that arrived before this parent must still obey the rule.
        let waiting = self.waiting.get(&cid).cloned().unwrap_or_default();
        self.add(meta);
        let mut evicted = Vec::new();
        for child in waiting {
            if let Some(child_meta) = self.meta(&child)
                && self.check(&child_meta).is_err()
            {
                self.remove(&child);
                self.rejected.insert(child);
                evicted.push(child);
            }
        }
        Ok(Inserted { new: true, evicted })
    }

    fn add(&mut self, meta: EntryMeta) {
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
