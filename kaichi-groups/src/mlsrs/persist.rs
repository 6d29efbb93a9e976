//! The mls-rs engine's state in the group database: each group's state
//! (without its tree), its past epochs, its ratchet tree (written only when
//! a commit changed it) and the KeyPackages' private keys; written inside
//! the operation's transaction from the [`RsStore`] journal.

use super::{RsWrite, StoreError};
use crate::storage::{DatabaseError, GroupDatabase};
use zeroize::Zeroizing;

/// The tables (created with the others when the database opens).
pub(crate) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS kaichi_mlsrs_state (
        group_id BLOB PRIMARY KEY NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS kaichi_mlsrs_epochs (
        group_id BLOB NOT NULL,
        epoch INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (group_id, epoch)
    );
    CREATE TABLE IF NOT EXISTS kaichi_mlsrs_trees (
        group_id BLOB PRIMARY KEY NOT NULL,
        tree BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS kaichi_mlsrs_key_packages (
        id BLOB PRIMARY KEY NOT NULL,
        data BLOB NOT NULL
    );";

fn epoch_i64(e: u64) -> i64 {
    i64::try_from(e).unwrap_or(i64::MAX)
}

impl GroupDatabase {
    /// Applies the mls-rs engine's journaled writes (call inside
    /// [`GroupDatabase::transaction`]).
    pub fn write_mlsrs(&self, writes: &[RsWrite]) -> Result<(), DatabaseError> {
        let conn = self.conn();
        for w in writes {
            match w {
                RsWrite::State { group, data } => {
                    conn.execute(
                        "INSERT INTO kaichi_mlsrs_state (group_id, data) VALUES (?1, ?2)
                         ON CONFLICT (group_id) DO UPDATE SET data = excluded.data",
                        rusqlite::params![group, data.as_slice()],
                    )?;
                }
                RsWrite::Epoch { group, epoch, data } => {
                    conn.execute(
                        "INSERT INTO kaichi_mlsrs_epochs (group_id, epoch, data) VALUES (?1, ?2, ?3)
                         ON CONFLICT (group_id, epoch) DO UPDATE SET data = excluded.data",
                        rusqlite::params![group, epoch_i64(*epoch), data.as_slice()],
                    )?;
                }
                RsWrite::DropEpochsBefore { group, epoch } => {
                    conn.execute(
                        "DELETE FROM kaichi_mlsrs_epochs WHERE group_id = ?1 AND epoch < ?2",
                        rusqlite::params![group, epoch_i64(*epoch)],
                    )?;
                }
                RsWrite::KeyPackage { id, data: Some(d) } => {
                    conn.execute(
                        "INSERT INTO kaichi_mlsrs_key_packages (id, data) VALUES (?1, ?2)
                         ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                        rusqlite::params![id, d.as_slice()],
                    )?;
                }
                RsWrite::KeyPackage { id, data: None } => {
                    conn.execute("DELETE FROM kaichi_mlsrs_key_packages WHERE id = ?1", [id])?;
                }
            }
        }
        Ok(())
    }

    /// Everything the mls-rs engine stored, as writes to restore its store.
    pub fn mlsrs_contents(&self) -> Result<Vec<RsWrite>, DatabaseError> {
        let mut out = self.mlsrs_states(None)?;
        out.extend(self.mlsrs_key_packages()?);
        Ok(out)
    }

    /// One group's stored state and past epochs (or every group's, for
    /// `None`), as writes to restore the engine's store.
    pub fn mlsrs_states(&self, group: Option<&[u8]>) -> Result<Vec<RsWrite>, DatabaseError> {
        let conn = self.conn();
        // SQLite: `?1 IS NULL` selects every group.
        let mut out = Vec::new();
        let mut stmt = conn.prepare(
            "SELECT group_id, data FROM kaichi_mlsrs_state WHERE ?1 IS NULL OR group_id = ?1",
        )?;
        for row in stmt.query_map([group], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })? {
            let (group, data) = row?;
            out.push(RsWrite::State {
                group,
                data: Zeroizing::new(data),
            });
        }
        let mut stmt = conn.prepare(
            "SELECT group_id, epoch, data FROM kaichi_mlsrs_epochs
             WHERE ?1 IS NULL OR group_id = ?1",
        )?;
        for row in stmt.query_map([group], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })? {
            let (group, epoch, data) = row?;
            let epoch =
                u64::try_from(epoch).map_err(|_| DatabaseError::Corrupt("kaichi_mlsrs_epochs"))?;
            out.push(RsWrite::Epoch {
                group,
                epoch,
                data: Zeroizing::new(data),
            });
        }
        Ok(out)
    }

    /// The stored KeyPackages' private keys, as writes to restore the
    /// engine's store.
    pub fn mlsrs_key_packages(&self) -> Result<Vec<RsWrite>, DatabaseError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id, data FROM kaichi_mlsrs_key_packages")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, data) = row?;
            out.push(RsWrite::KeyPackage {
                id,
                data: Some(Zeroizing::new(data)),
            });
        }
        Ok(out)
    }

    /// Stores a group's ratchet tree (TLS-serialised).
    pub fn set_mlsrs_tree(&self, group: &[u8], tree: &[u8]) -> Result<(), DatabaseError> {
        self.conn().execute(
            "INSERT INTO kaichi_mlsrs_trees (group_id, tree) VALUES (?1, ?2)
             ON CONFLICT (group_id) DO UPDATE SET tree = excluded.tree",
            rusqlite::params![group, tree],
        )?;
        Ok(())
    }

    /// A group's ratchet tree, when stored.
    pub fn mlsrs_tree(&self, group: &[u8]) -> Result<Option<Vec<u8>>, DatabaseError> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .conn()
            .query_row(
                "SELECT tree FROM kaichi_mlsrs_trees WHERE group_id = ?1",
                [group],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Deletes a group's mls-rs state (a group left for good).
    pub fn forget_mlsrs_group(&self, group: &[u8]) -> Result<(), DatabaseError> {
        let conn = self.conn();
        for table in [
            "kaichi_mlsrs_state",
            "kaichi_mlsrs_epochs",
            "kaichi_mlsrs_trees",
        ] {
            conn.execute(&format!("DELETE FROM {table} WHERE group_id = ?1"), [group])?;
        }
        Ok(())
    }
}

impl From<StoreError> for DatabaseError {
    fn from(_: StoreError) -> Self {
        Self::Corrupt("the mls-rs state store")
    }
}
