// Copyright by contributors to this project.
// SPDX-License-Identifier: (Apache-2.0 OR MIT)

//! Kaichi patch: the tree index's maps, shared between clones of a tree.
//!
//! Every commit created or processed clones the ratchet tree (the provisional
//! tree) and the proposal applier clones its index once more (to undo a
//! failed batch). With one entry per leaf in each of three maps, that was
//! 300,000 entries copied, and as many dropped with the prior epoch, for a
//! commit that changes two of them. A [`KeyMap`] keeps its entries in a
//! shared base and its own changes beside it: cloning copies the changes
//! only, and the base is copied only when the changes have grown to a
//! sixteenth of it (or at once when nothing else shares it), so the cost
//! per change stays constant. The encoding is the map's: its live entries,
//! sorted by key, as before.

use alloc::sync::Arc;
use core::borrow::Borrow;
use core::fmt::{self, Debug};
use core::hash::Hash;

use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};

use crate::map::LargeMap;

/// Changes kept beside a shared base before they are folded into a copy of
/// it: at least this many, or a sixteenth of the base.
const MIN_CHANGES: usize = 64;

/// A map whose clones share their entries until changed.
#[derive(Clone)]
pub(crate) struct KeyMap<K, V> {
    /// Entries shared with clones.
    base: Arc<LargeMap<K, V>>,
    /// Entries added since the base was shared (none of them live in it).
    added: LargeMap<K, V>,
    /// Keys of the base that are gone (a key may be added again).
    removed: LargeMap<K, ()>,
}

impl<K, V> Default for KeyMap<K, V>
where
    K: Hash + Ord,
{
    fn default() -> Self {
        Self::from_map(LargeMap::default())
    }
}

impl<K, V> KeyMap<K, V>
where
    K: Hash + Ord,
{
    fn from_map(base: LargeMap<K, V>) -> Self {
        Self {
            base: Arc::new(base),
            added: LargeMap::default(),
            removed: LargeMap::default(),
        }
    }

    /// An empty map with room for `capacity` entries.
    #[cfg(feature = "std")]
    pub fn with_capacity(capacity: usize) -> Self {
        Self::from_map(LargeMap::with_capacity(capacity))
    }

    /// How many entries the map holds.
    pub fn len(&self) -> usize {
        self.base.len() - self.removed.len() + self.added.len()
    }

    /// Whether the map holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        if let Some(value) = self.added.get(key) {
            return Some(value);
        }
        if self.removed.contains_key(key) {
            return None;
        }
        self.base.get(key)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + Clone {
        self.base
            .iter()
            .filter(|(k, _)| !self.removed.contains_key(*k))
            .chain(self.added.iter())
    }
}

impl<K, V> KeyMap<K, V>
where
    K: Hash + Ord + Clone,
    V: Clone,
{
    /// The base to change in place, if nothing else shares it (the changes
    /// kept beside it folded in first).
    fn own_base(&mut self) -> Option<&mut LargeMap<K, V>> {
        let base = Arc::get_mut(&mut self.base)?;
        if !self.removed.is_empty() {
            for (key, ()) in core::mem::take(&mut self.removed) {
                base.remove(&key);
            }
        }
        if !self.added.is_empty() {
            base.extend(core::mem::take(&mut self.added));
        }
        Some(base)
    }

    /// Folds the changes into a copy of the base once they are many.
    fn settle(&mut self) {
        let changes = self.added.len() + self.removed.len();
        if changes > MIN_CHANGES.max(self.base.len() / 16) {
            Arc::make_mut(&mut self.base);
            let _ = self.own_base();
        }
    }

    /// Gives `key` the value `value` unless it has one already; returns
    /// whether it was inserted.
    pub fn insert_if_absent(&mut self, key: K, value: V) -> bool {
        if self.contains_key(&key) {
            return false;
        }
        match self.own_base() {
            Some(base) => {
                base.insert(key, value);
            }
            None => {
                self.added.insert(key, value);
                self.settle();
            }
        }
        true
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        if let Some(base) = self.own_base() {
            return base.remove(key);
        }
        if let Some(value) = self.added.remove(key) {
            return Some(value);
        }
        if self.removed.contains_key(key) {
            return None;
        }
        let (key, value) = self.base.get_key_value(key)?;
        let (key, value) = (key.clone(), value.clone());
        self.removed.insert(key, ());
        self.settle();
        Some(value)
    }
}

impl<K, V> PartialEq for KeyMap<K, V>
where
    K: Hash + Ord,
    V: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K, V> Debug for KeyMap<K, V>
where
    K: Hash + Ord + Debug,
    V: Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, V> MlsSize for KeyMap<K, V>
where
    K: Hash + Ord + MlsSize,
    V: MlsSize,
{
    fn mls_encoded_len(&self) -> usize {
        mls_rs_codec::iter::mls_encoded_len(self.iter())
    }
}

impl<K, V> MlsEncode for KeyMap<K, V>
where
    K: Hash + Ord + MlsEncode,
    V: MlsEncode,
{
    fn mls_encode(&self, writer: &mut alloc::vec::Vec<u8>) -> Result<(), mls_rs_codec::Error> {
        use itertools::Itertools;
        mls_rs_codec::iter::mls_encode(self.iter().sorted_by_key(|(key, _)| *key), writer)
    }
}

impl<K, V> MlsDecode for KeyMap<K, V>
where
    K: Hash + Ord + MlsDecode,
    V: MlsDecode,
    LargeMap<K, V>: MlsDecode,
{
    fn mls_decode(reader: &mut &[u8]) -> Result<Self, mls_rs_codec::Error> {
        LargeMap::<K, V>::mls_decode(reader).map(Self::from_map)
    }
}
