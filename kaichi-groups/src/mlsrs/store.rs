//! mls-rs' group state and KeyPackage storage for one member: kept in
//! memory for the engine, and every write journaled so that the session
//! puts it in the group database inside the same SQLite transaction as the
//! rest of the operation ([`RsStore::take_journal`]). At start the session
//! loads what the database holds ([`RsStore::restore`]).
//!
//! Past epochs are kept up to [`MAX_EPOCHS_KEPT`] per group (mls-rs asks for
//! them to decrypt late application messages); older ones are dropped, in
//! memory and, through the journal, on disk.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use mls_rs::mls_rs_codec::{MlsDecode as _, MlsEncode as _};
use mls_rs_core::group::{EpochRecord, GroupState, GroupStateStorage};
use mls_rs_core::key_package::{KeyPackageData, KeyPackageStorage};
use zeroize::Zeroizing;

/// Most past epochs kept per group.
pub const MAX_EPOCHS_KEPT: usize = crate::DEFAULT_PAST_EPOCHS + 1;

/// One write the database must apply.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RsWrite {
    /// A group's state (without its ratchet tree).
    State {
        /// The MLS group id.
        group: Vec<u8>,
        /// The encoded state.
        data: Zeroizing<Vec<u8>>,
    },
    /// A past epoch's record, inserted or updated.
    Epoch {
        /// The MLS group id.
        group: Vec<u8>,
        /// The epoch.
        epoch: u64,
        /// The encoded record.
        data: Zeroizing<Vec<u8>>,
    },
    /// Drop a group's epoch records before this epoch.
    DropEpochsBefore {
        /// The MLS group id.
        group: Vec<u8>,
        /// The first epoch kept.
        epoch: u64,
    },
    /// A KeyPackage's private keys, stored (`Some`) or used up (`None`).
    KeyPackage {
        /// The KeyPackage reference.
        id: Vec<u8>,
        /// The encoded `KeyPackageData`.
        data: Option<Zeroizing<Vec<u8>>>,
    },
}

impl std::fmt::Debug for RsWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: they hold secrets.
        match self {
            Self::State { data, .. } => write!(f, "State({} bytes)", data.len()),
            Self::Epoch { epoch, .. } => write!(f, "Epoch({epoch})"),
            Self::DropEpochsBefore { epoch, .. } => write!(f, "DropEpochsBefore({epoch})"),
            Self::KeyPackage { data, .. } => write!(f, "KeyPackage(stored: {})", data.is_some()),
        }
    }
}

/// The store was used after a thread panicked holding it.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the mls-rs state store is poisoned")]
pub struct StoreError;

impl mls_rs::error::IntoAnyError for StoreError {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}

#[derive(Default)]
struct Inner {
    states: HashMap<Vec<u8>, Zeroizing<Vec<u8>>>,
    epochs: HashMap<Vec<u8>, BTreeMap<u64, Zeroizing<Vec<u8>>>>,
    key_packages: HashMap<Vec<u8>, Zeroizing<Vec<u8>>>,
    /// KeyPackages that stay after a join (last resort: the published one).
    kept: HashSet<Vec<u8>>,
    journal: Vec<RsWrite>,
}

/// The storage an [`super::RsMember`]'s mls-rs client writes to.
#[derive(Clone, Default)]
pub struct RsStore {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for RsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsStore").finish_non_exhaustive()
    }
}

impl RsStore {
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError)
    }

    /// The writes since the last call, in order, for the database.
    pub fn take_journal(&self) -> Vec<RsWrite> {
        self.lock()
            .map(|mut i| std::mem::take(&mut i.journal))
            .unwrap_or_default()
    }

    /// Puts back what the database holds (nothing is journaled).
    pub fn restore(&self, writes: impl IntoIterator<Item = RsWrite>) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for w in writes {
            apply(&mut inner, w);
        }
        Ok(())
    }

    /// Keeps KeyPackage `id` after it is used (a last-resort KeyPackage,
    /// which any number of Welcomes may name).
    pub fn keep(&self, id: Vec<u8>) -> Result<(), StoreError> {
        self.lock()?.kept.insert(id);
        Ok(())
    }

    /// Whether the private keys of KeyPackage `id` are here.
    pub fn has_key_package(&self, id: &[u8]) -> bool {
        self.lock().is_ok_and(|i| i.key_packages.contains_key(id))
    }

    /// Forgets everything about group `id` in memory (the caller restores
    /// it from the database after a failed transaction).
    pub fn forget_group(&self, id: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.states.remove(id);
        inner.epochs.remove(id);
        Ok(())
    }

    fn record(&self, w: RsWrite) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        apply(&mut inner, w.clone());
        inner.journal.push(w);
        Ok(())
    }
}

fn apply(inner: &mut Inner, w: RsWrite) {
    match w {
        RsWrite::State { group, data } => {
            inner.states.insert(group, data);
        }
        RsWrite::Epoch { group, epoch, data } => {
            inner.epochs.entry(group).or_default().insert(epoch, data);
        }
        RsWrite::DropEpochsBefore { group, epoch } => {
            if let Some(e) = inner.epochs.get_mut(&group) {
                *e = e.split_off(&epoch);
            }
        }
        RsWrite::KeyPackage { id, data: Some(d) } => {
            inner.key_packages.insert(id, d);
        }
        RsWrite::KeyPackage { id, data: None } => {
            inner.key_packages.remove(&id);
        }
    }
}

impl GroupStateStorage for RsStore {
    type Error = StoreError;

    fn state(&self, group_id: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        Ok(self.lock()?.states.get(group_id).cloned())
    }

    fn epoch(
        &self,
        group_id: &[u8],
        epoch_id: u64,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        Ok(self
            .lock()?
            .epochs
            .get(group_id)
            .and_then(|e| e.get(&epoch_id))
            .cloned())
    }

    fn write(
        &mut self,
        state: GroupState,
        inserts: Vec<EpochRecord>,
        updates: Vec<EpochRecord>,
    ) -> Result<(), StoreError> {
        let group = state.id.clone();
        self.record(RsWrite::State {
            group: group.clone(),
            data: state.data,
        })?;
        for e in inserts.into_iter().chain(updates) {
            self.record(RsWrite::Epoch {
                group: group.clone(),
                epoch: e.id,
                data: e.data,
            })?;
        }
        let newest = self
            .lock()?
            .epochs
            .get(&group)
            .and_then(|e| e.keys().next_back().copied());
        if let Some(newest) = newest {
            let first_kept = newest.saturating_sub(MAX_EPOCHS_KEPT as u64 - 1);
            let oldest = self
                .lock()?
                .epochs
                .get(&group)
                .and_then(|e| e.keys().next().copied());
            if oldest.is_some_and(|o| o < first_kept) {
                self.record(RsWrite::DropEpochsBefore {
                    group,
                    epoch: first_kept,
                })?;
            }
        }
        Ok(())
    }

    fn max_epoch_id(&self, group_id: &[u8]) -> Result<Option<u64>, StoreError> {
        Ok(self
            .lock()?
            .epochs
            .get(group_id)
            .and_then(|e| e.keys().next_back().copied()))
    }
}

impl KeyPackageStorage for RsStore {
    type Error = StoreError;

    fn delete(&mut self, id: &[u8]) -> Result<(), StoreError> {
        if self.lock()?.kept.contains(id) {
            return Ok(());
        }
        self.record(RsWrite::KeyPackage {
            id: id.to_vec(),
            data: None,
        })
    }

    fn insert(&mut self, id: Vec<u8>, pkg: KeyPackageData) -> Result<(), StoreError> {
        let data = Zeroizing::new(pkg.mls_encode_to_vec().map_err(|_| StoreError)?);
        self.record(RsWrite::KeyPackage {
            id,
            data: Some(data),
        })
    }

    fn get(&self, id: &[u8]) -> Result<Option<KeyPackageData>, StoreError> {
        let inner = self.lock()?;
        let Some(bytes) = inner.key_packages.get(id) else {
            return Ok(None);
        };
        KeyPackageData::mls_decode(&mut bytes.as_slice())
            .map(Some)
            .map_err(|_| StoreError)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn state(id: u8, n: u8) -> GroupState {
        GroupState {
            id: vec![id],
            data: Zeroizing::new(vec![n]),
        }
    }

    #[test]
    fn writes_are_journaled_in_order_and_restore_the_same_view() {
        let mut s = RsStore::default();
        s.write(
            state(1, 1),
            vec![EpochRecord::new(1, vec![1].into())],
            vec![],
        )
        .unwrap();
        let journal = s.take_journal();
        assert_eq!(journal.len(), 2);
        assert!(s.take_journal().is_empty());
        let t = RsStore::default();
        t.restore(journal).unwrap();
        assert_eq!(t.state(&[1]).unwrap(), s.state(&[1]).unwrap());
        assert_eq!(t.epoch(&[1], 1).unwrap().as_deref(), Some(&vec![1]));
        assert_eq!(t.max_epoch_id(&[1]).unwrap(), Some(1));
    }

    #[test]
    fn past_epochs_are_bounded() {
        let mut s = RsStore::default();
        for e in 0..(MAX_EPOCHS_KEPT as u64 + 4) {
            s.write(
                state(2, e as u8),
                vec![EpochRecord::new(e, vec![0].into())],
                vec![],
            )
            .unwrap();
        }
        let newest = MAX_EPOCHS_KEPT as u64 + 3;
        assert_eq!(s.max_epoch_id(&[2]).unwrap(), Some(newest));
        assert!(
            s.epoch(&[2], newest - MAX_EPOCHS_KEPT as u64)
                .unwrap()
                .is_none()
        );
        assert!(
            s.epoch(&[2], newest + 1 - MAX_EPOCHS_KEPT as u64)
                .unwrap()
                .is_some()
        );
        // The drops are journaled too: a restore holds the same epochs.
        let t = RsStore::default();
        t.restore(s.take_journal()).unwrap();
        assert!(t.epoch(&[2], 0).unwrap().is_none());
        assert!(t.epoch(&[2], newest).unwrap().is_some());
    }

    #[test]
    fn kept_key_packages_survive_their_use() {
        use mls_rs_core::crypto::HpkeSecretKey;
        let mut s = RsStore::default();
        let data = || {
            KeyPackageData::new(
                vec![1],
                HpkeSecretKey::from(vec![2]),
                HpkeSecretKey::from(vec![3]),
                0,
            )
        };
        s.insert(vec![9], data()).unwrap();
        s.insert(vec![8], data()).unwrap();
        s.keep(vec![9]).unwrap();
        s.delete(&[9]).unwrap();
        s.delete(&[8]).unwrap();
        assert!(s.has_key_package(&[9]));
        assert!(!s.has_key_package(&[8]));
        assert!(s.get(&[9]).unwrap().is_some());
    }

    #[test]
    fn forgetting_a_group_drops_its_state_only() {
        let mut s = RsStore::default();
        s.write(state(3, 1), vec![], vec![]).unwrap();
        s.write(state(4, 1), vec![], vec![]).unwrap();
        s.forget_group(&[3]).unwrap();
        assert!(s.state(&[3]).unwrap().is_none());
        assert!(s.state(&[4]).unwrap().is_some());
    }

    #[test]
    fn the_debug_form_shows_no_secret_bytes() {
        let w = RsWrite::KeyPackage {
            id: vec![1],
            data: Some(Zeroizing::new(vec![0xAB; 4])),
        };
        assert!(!format!("{w:?}").contains("171"));
    }
}
