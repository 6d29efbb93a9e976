//! The embedded on-disk store: SQLite (bundled), WAL mode, one file per
//! profile, shared with the MLS layer's tables.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use cid::Cid;
use kaichi_identity::{DmPublicKey, IdentityPublic, IpnsPublicKey, KeyEpoch, WalletAddress};
use rusqlite::{Connection, OptionalExtension, params};

use super::{BlockStore, LogStore, StoredConversation};
use crate::entry::Entry;
use crate::ids::{ConversationId, EntryCid};
use crate::log::OrderKey;

use super::schema::MIGRATIONS;
pub use super::schema::SCHEMA_VERSION;

/// How hard commits push to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is fsynced (`synchronous = FULL`): acknowledged entries
    /// survive power loss. The default.
    #[default]
    Full,
    /// Commits survive a process crash but the last ones may be lost on power
    /// loss (`synchronous = NORMAL` in WAL mode). Faster.
    Normal,
}

/// The SQLite store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer version of Kaichi.
    #[error("database schema version {found} is newer than this Kaichi supports ({supported})")]
    NewerSchema {
        /// Version in the file.
        found: i64,
        /// Newest version this crate knows.
        supported: i64,
    },
    /// A stored row is malformed (the file was modified outside Kaichi).
    #[error("corrupt row in {0}")]
    Corrupt(&'static str),
    /// A thread panicked while holding the connection.
    #[error("the store's lock is poisoned")]
    Poisoned,
}

/// A [`LogStore`] in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        Self::setup(Connection::open(path)?, durability)
    }

    /// A private in-memory database (for tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?, Durability::Full)
    }

    fn setup(conn: Connection, durability: Durability) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            match durability {
                Durability::Full => "FULL",
                Durability::Normal => "NORMAL",
            },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Self {
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let conn = self.conn.get_mut().map_err(|_| StoreError::Poisoned)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let tx = conn.transaction()?;
        for (from, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", from as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .lock()?
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs SQLite's `PRAGMA integrity_check`; true when the file is sound.
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows == ["ok"])
    }

    /// Runs `f` with the connection, for layers that share the file (the MLS
    /// storage). Their tables must not use the `kaichi_` prefix.
    pub fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> T,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        Ok(f(&mut conn))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

impl BlockStore for SqliteStore {
    type Error = StoreError;

    fn put(&self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error> {
        self.lock()?.execute(
            "INSERT OR IGNORE INTO kaichi_blocks (cid, data) VALUES (?1, ?2)",
            params![cid.to_bytes(), block],
        )?;
        Ok(())
    }

    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT data FROM kaichi_blocks WHERE cid = ?1",
                params![cid.to_bytes()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn has(&self, cid: &Cid) -> Result<bool, Self::Error> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT 1 FROM kaichi_blocks WHERE cid = ?1",
                params![cid.to_bytes()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn pin(&self, cid: &Cid) -> Result<(), Self::Error> {
        self.lock()?.execute(
            "UPDATE kaichi_blocks SET pinned = 1 WHERE cid = ?1",
            params![cid.to_bytes()],
        )?;
        Ok(())
    }

    fn unpin(&self, cid: &Cid) -> Result<(), Self::Error> {
        self.lock()?.execute(
            "UPDATE kaichi_blocks SET pinned = 0 WHERE cid = ?1",
            params![cid.to_bytes()],
        )?;
        Ok(())
    }

    fn is_pinned(&self, cid: &Cid) -> Result<bool, Self::Error> {
        let pinned: Option<i64> = self
            .lock()?
            .query_row(
                "SELECT pinned FROM kaichi_blocks WHERE cid = ?1",
                params![cid.to_bytes()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(pinned == Some(1))
    }
}

impl LogStore for SqliteStore {
    fn save_conversation(&self, c: &StoredConversation) -> Result<(), Self::Error> {
        self.lock()?.execute(
            "INSERT OR REPLACE INTO kaichi_conversations (id, peer_wallet, peer_epoch, peer_ipns, peer_dm)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                c.id.as_bytes().as_slice(),
                c.peer.wallet.to_bytes().as_slice(),
                c.peer.epoch.get(),
                c.peer.ipns.to_bytes().as_slice(),
                c.peer.dm.to_bytes().as_slice(),
            ],
        )?;
        Ok(())
    }

    fn conversations(&self) -> Result<Vec<StoredConversation>, Self::Error> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT id, peer_wallet, peer_epoch, peer_ipns, peer_dm FROM kaichi_conversations ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, wallet, epoch, ipns, dm) = row?;
            let bad = || StoreError::Corrupt("kaichi_conversations");
            out.push(StoredConversation {
                id: ConversationId::try_from_slice(&id).ok_or_else(bad)?,
                peer: IdentityPublic {
                    wallet: WalletAddress::try_from_slice(&wallet).map_err(|_| bad())?,
                    epoch: KeyEpoch::new(epoch),
                    ipns: IpnsPublicKey::from_bytes(&ipns).map_err(|_| bad())?,
                    dm: DmPublicKey::from_bytes(&dm).map_err(|_| bad())?,
                },
            });
        }
        Ok(out)
    }

    fn add_entries(
        &self,
        conversation: &ConversationId,
        entries: &[&Entry],
    ) -> Result<(), Self::Error> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        {
            let mut block = tx.prepare_cached(
                "INSERT INTO kaichi_blocks (cid, data, pinned) VALUES (?1, ?2, 1)
                 ON CONFLICT (cid) DO UPDATE SET pinned = 1",
            )?;
            let mut index = tx.prepare_cached(
                "INSERT OR IGNORE INTO kaichi_log_entries (conversation, clock, author, cid)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for e in entries {
                let cid = e.cid().to_bytes();
                block.execute(params![cid.as_slice(), e.block()])?;
                // SQLite integers are signed; clocks past i64::MAX never occur
                // in practice (2^63 appends) and are stored saturated.
                let clock = i64::try_from(e.clock()).unwrap_or(i64::MAX);
                index.execute(params![
                    conversation.as_bytes().as_slice(),
                    clock,
                    e.author().to_bytes().as_slice(),
                    cid.as_slice()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn for_each_entry_block(
        &self,
        conversation: &ConversationId,
        f: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), Self::Error> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT b.data FROM kaichi_log_entries e JOIN kaichi_blocks b ON b.cid = e.cid
             WHERE e.conversation = ?1 ORDER BY e.clock, e.author, e.cid",
        )?;
        let mut rows = stmt.query(params![conversation.as_bytes().as_slice()])?;
        while let Some(row) = rows.next()? {
            let block = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            if !f(block) {
                break;
            }
        }
        Ok(())
    }

    fn entries_after(
        &self,
        conversation: &ConversationId,
        after: Option<&OrderKey>,
        limit: usize,
    ) -> Result<Vec<(OrderKey, Vec<u8>)>, Self::Error> {
        let conn = self.lock()?;
        let (clock, author, cid) = match after {
            Some(k) => (
                i64::try_from(k.clock).unwrap_or(i64::MAX),
                k.author.to_vec(),
                k.cid.to_bytes().to_vec(),
            ),
            // Before every entry: clocks start at 1.
            None => (i64::MIN, Vec::new(), Vec::new()),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT e.clock, e.author, e.cid, b.data FROM kaichi_log_entries e
             JOIN kaichi_blocks b ON b.cid = e.cid
             WHERE e.conversation = ?1 AND (e.clock, e.author, e.cid) > (?2, ?3, ?4)
             ORDER BY e.clock, e.author, e.cid LIMIT ?5",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![
            conversation.as_bytes().as_slice(),
            clock,
            author,
            cid,
            limit
        ])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let key = order_key(
                row.get(0)?,
                &row.get::<_, Vec<u8>>(1)?,
                &row.get::<_, Vec<u8>>(2)?,
            )?;
            out.push((key, row.get(3)?));
        }
        Ok(out)
    }

    fn entry_key(
        &self,
        conversation: &ConversationId,
        cid: &EntryCid,
    ) -> Result<Option<OrderKey>, Self::Error> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT clock, author, cid FROM kaichi_log_entries WHERE conversation = ?1 AND cid = ?2",
        )?;
        let mut rows = stmt.query(params![
            conversation.as_bytes().as_slice(),
            cid.to_bytes().as_slice()
        ])?;
        match rows.next()? {
            Some(row) => Ok(Some(order_key(
                row.get(0)?,
                &row.get::<_, Vec<u8>>(1)?,
                &row.get::<_, Vec<u8>>(2)?,
            )?)),
            None => Ok(None),
        }
    }

    fn entry_count(&self, conversation: &ConversationId) -> Result<u64, Self::Error> {
        let n: i64 = self.lock()?.query_row(
            "SELECT COUNT(*) FROM kaichi_log_entries WHERE conversation = ?1",
            params![conversation.as_bytes().as_slice()],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn mark_delivered(
        &self,
        conversation: &ConversationId,
        cids: &[EntryCid],
    ) -> Result<(), Self::Error> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO kaichi_delivered (conversation, cid) VALUES (?1, ?2)",
            )?;
            for cid in cids {
                insert.execute(params![
                    conversation.as_bytes().as_slice(),
                    cid.to_bytes().as_slice()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn delivered(&self, conversation: &ConversationId) -> Result<Vec<EntryCid>, Self::Error> {
        let conn = self.lock()?;
        let mut stmt =
            conn.prepare_cached("SELECT cid FROM kaichi_delivered WHERE conversation = ?1")?;
        let rows = stmt.query_map(params![conversation.as_bytes().as_slice()], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        let mut out = Vec::new();
        for row in rows {
            let bytes = row?;
            out.push(
                EntryCid::from_bytes(&bytes)
                    .map_err(|_| StoreError::Corrupt("kaichi_delivered"))?,
            );
        }
        Ok(out)
    }

    fn set_request(&self, conversation: &ConversationId, request: bool) -> Result<(), Self::Error> {
        let sql = if request {
            "INSERT OR IGNORE INTO kaichi_requests (conversation) VALUES (?1)"
        } else {
            "DELETE FROM kaichi_requests WHERE conversation = ?1"
        };
        self.lock()?
            .execute(sql, params![conversation.as_bytes().as_slice()])?;
        Ok(())
    }

    fn requests(&self) -> Result<Vec<ConversationId>, Self::Error> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached("SELECT conversation FROM kaichi_requests")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(
                ConversationId::try_from_slice(&row?)
                    .ok_or(StoreError::Corrupt("kaichi_requests"))?,
            );
        }
        Ok(out)
    }

    fn hold_invitation(
        &self,
        conversation: &ConversationId,
        invitation: &[u8],
    ) -> Result<(), Self::Error> {
        self.lock()?.execute(
            "INSERT INTO kaichi_held_invitations (conversation, seq, invitation)
             SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2 FROM kaichi_held_invitations
             WHERE conversation = ?1",
            params![conversation.as_bytes().as_slice(), invitation],
        )?;
        Ok(())
    }

    fn held_invitations(&self) -> Result<Vec<(ConversationId, Vec<u8>)>, Self::Error> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT conversation, invitation FROM kaichi_held_invitations
             ORDER BY conversation, seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, invitation) = row?;
            let id = ConversationId::try_from_slice(&id)
                .ok_or(StoreError::Corrupt("kaichi_held_invitations"))?;
            out.push((id, invitation));
        }
        Ok(out)
    }

    fn release_invitations(&self, conversation: &ConversationId) -> Result<(), Self::Error> {
        self.lock()?.execute(
            "DELETE FROM kaichi_held_invitations WHERE conversation = ?1",
            params![conversation.as_bytes().as_slice()],
        )?;
        Ok(())
    }

    fn save_peer_document(
        &self,
        conversation: &ConversationId,
        document: &[u8],
    ) -> Result<(), Self::Error> {
        self.lock()?.execute(
            "INSERT INTO kaichi_peer_documents (conversation, document) VALUES (?1, ?2)
             ON CONFLICT (conversation) DO UPDATE SET document = excluded.document",
            params![conversation.as_bytes().as_slice(), document],
        )?;
        Ok(())
    }

    fn peer_document(&self, conversation: &ConversationId) -> Result<Option<Vec<u8>>, Self::Error> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .lock()?
            .query_row(
                "SELECT document FROM kaichi_peer_documents WHERE conversation = ?1",
                params![conversation.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_blocked(&self, wallet: &WalletAddress, blocked: bool) -> Result<(), Self::Error> {
        let sql = if blocked {
            "INSERT OR IGNORE INTO kaichi_blocked (wallet) VALUES (?1)"
        } else {
            "DELETE FROM kaichi_blocked WHERE wallet = ?1"
        };
        self.lock()?
            .execute(sql, params![wallet.to_bytes().as_slice()])?;
        Ok(())
    }

    fn is_blocked(&self, wallet: &WalletAddress) -> Result<bool, Self::Error> {
        Ok(self
            .lock()?
            .prepare_cached("SELECT 1 FROM kaichi_blocked WHERE wallet = ?1")?
            .query_row(params![wallet.to_bytes().as_slice()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn blocked(&self) -> Result<Vec<WalletAddress>, Self::Error> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached("SELECT wallet FROM kaichi_blocked")?;
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(
                WalletAddress::try_from_slice(&row?)
                    .map_err(|_| StoreError::Corrupt("kaichi_blocked"))?,
            );
        }
        Ok(out)
    }
}

/// An index row as an order key (clocks were stored saturated at i64::MAX).
fn order_key(clock: i64, author: &[u8], cid: &[u8]) -> Result<OrderKey, StoreError> {
    let bad = || StoreError::Corrupt("kaichi_log_entries");
    Ok(OrderKey {
        clock: u64::try_from(clock).map_err(|_| bad())?,
        author: author.try_into().map_err(|_| bad())?,
        cid: EntryCid::from_bytes(cid).map_err(|_| bad())?,
    })
}
