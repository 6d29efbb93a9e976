//! The group database: openmls state in SQLite (the profile's database
//! file), with a registry of groups and their messages.

use std::path::Path;

use openmls_rust_crypto::RustCrypto;
use openmls_sqlite_storage::{Codec, SqliteStorageProvider};
use openmls_traits::OpenMlsProvider;

/// The codec openmls' state is stored with (JSON, as openmls' own memory
/// storage uses).
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    type Error = serde_json::Error;

    fn to_vec<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Self::Error> {
        serde_json::to_vec(value)
    }

    fn from_slice<T: serde::de::DeserializeOwned>(slice: &[u8]) -> Result<T, Self::Error> {
        serde_json::from_slice(slice)
    }
}

/// The MLS provider over a [`GroupDatabase`]'s connection.
pub struct SqliteProvider<'c> {
    crypto: RustCrypto,
    storage: SqliteStorageProvider<JsonCodec, &'c rusqlite::Connection>,
}

impl std::fmt::Debug for SqliteProvider<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteProvider")
    }
}

impl<'c> OpenMlsProvider for SqliteProvider<'c> {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = SqliteStorageProvider<JsonCodec, &'c rusqlite::Connection>;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}

/// The database could not be opened, migrated or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema migration failed.
    #[error("migrating the MLS tables: {0}")]
    Migration(String),
    /// A stored row is malformed.
    #[error("corrupt row in {0}")]
    Corrupt(&'static str),
}

/// A group this member is in, as recorded locally.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupRecord {
    /// The group.
    pub id: crate::GroupId,
    /// Its name when last seen.
    pub name: String,
    /// The engine holding this member's state of it.
    pub engine: crate::GroupEngine,
}

/// A message kept for reading later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGroupMessage {
    /// The epoch it was sent in.
    pub epoch: u64,
    /// The sender's IPNS name.
    pub sender: String,
    /// The plaintext.
    pub body: Vec<u8>,
    /// When it was stored (Unix milliseconds, the caller's clock).
    pub at_ms: u64,
}

/// Group state in a SQLite file (the profile's database): openmls' tables
/// (through `openmls_sqlite_storage`), a registry of groups and their
/// received messages, and each group's log of MLS messages. Run each group operation in [`Self::transaction`],
/// so that an operation's many writes land together or not at all.
pub struct GroupDatabase {
    conn: rusqlite::Connection,
}

impl std::fmt::Debug for GroupDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupDatabase")
    }
}

/// Most messages kept per group (the oldest go first).
pub const MAX_STORED_MESSAGES: u64 = 100_000;
/// Most MLS messages kept in each group's log (the oldest go first).
pub const MAX_LOG_MESSAGES: u64 = 10_000;

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

impl GroupDatabase {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DatabaseError> {
        Self::with_connection(rusqlite::Connection::open(path)?)
    }

    /// A private in-memory database.
    pub fn open_in_memory() -> Result<Self, DatabaseError> {
        Self::with_connection(rusqlite::Connection::open_in_memory()?)
    }

    fn with_connection(mut conn: rusqlite::Connection) -> Result<Self, DatabaseError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        SqliteStorageProvider::<JsonCodec, &mut rusqlite::Connection>::new(&mut conn)
            .run_migrations()
            .map_err(|e| DatabaseError::Migration(e.to_string()))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kaichi_group_registry (
                 id BLOB PRIMARY KEY NOT NULL,
                 name TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS kaichi_group_messages (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 group_id BLOB NOT NULL,
                 epoch INTEGER NOT NULL,
                 sender TEXT NOT NULL,
                 body BLOB NOT NULL,
                 at_ms INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS kaichi_group_messages_by_group
                 ON kaichi_group_messages (group_id, seq);
             CREATE TABLE IF NOT EXISTS kaichi_group_log (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 group_id BLOB NOT NULL,
                 epoch INTEGER NOT NULL,
                 kind INTEGER NOT NULL,
                 digest BLOB NOT NULL UNIQUE,
                 bytes BLOB NOT NULL,
                 done INTEGER NOT NULL DEFAULT 0
             );
             CREATE TABLE IF NOT EXISTS kaichi_published_key_package (
                 slot INTEGER PRIMARY KEY CHECK (slot = 1),
                 bytes BLOB NOT NULL
             );
             CREATE INDEX IF NOT EXISTS kaichi_group_log_by_epoch
                 ON kaichi_group_log (group_id, epoch, kind, seq);",
        )?;
        conn.execute_batch(crate::mlsrs::SCHEMA)?;
        // Databases from before the mls-rs engine: their groups are openmls'.
        let has_engine = conn
            .prepare("SELECT engine FROM kaichi_group_registry LIMIT 0")
            .is_ok();
        if !has_engine {
            conn.execute_batch(
                "ALTER TABLE kaichi_group_registry ADD COLUMN engine INTEGER NOT NULL DEFAULT 0",
            )?;
        }
        Ok(Self { conn })
    }

    /// The connection (for the mls-rs tables, `mlsrs/persist.rs`).
    pub(crate) fn conn(&self) -> &rusqlite::Connection {
        &self.conn
    }

    /// An openmls provider over this database.
    pub fn provider(&self) -> SqliteProvider<'_> {
        SqliteProvider {
            crypto: RustCrypto::default(),
            storage: SqliteStorageProvider::new(&self.conn),
        }
    }

    /// Runs `f` in one SQLite transaction: committed when it returns `Ok`,
    /// rolled back otherwise (reload any `Group` it changed in memory).
    pub fn transaction<T, E: From<DatabaseError>>(
        &self,
        f: impl FnOnce(&SqliteProvider<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| E::from(e.into()))?;
        let provider = self.provider();
        match f(&provider) {
            Ok(v) => {
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(|e| E::from(e.into()))?;
                Ok(v)
            }
            Err(e) => {
                // The operation's error is the one to report; a failed
                // rollback leaves SQLite to roll back when the connection
                // closes, and the next BEGIN fails loudly.
                self.conn.execute_batch("ROLLBACK").ok();
                Err(e)
            }
        }
    }

    /// Runs `f` in one read transaction: every read in it sees the
    /// database as one writer's commit left it (another process, a node,
    /// may write between two statements otherwise: a group's state from
    /// one epoch and its ratchet tree from the next).
    pub fn read<T, E: From<DatabaseError>>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| E::from(e.into()))?;
        let out = f();
        // Nothing was written: ending it either way releases the snapshot.
        self.conn.execute_batch("COMMIT").ok();
        out
    }

    /// Records (or renames) a group held by openmls.
    pub fn record_group(&self, id: &crate::GroupId, name: &str) -> Result<(), DatabaseError> {
        self.record_group_with(id, name, crate::GroupEngine::OpenMls)
    }

    /// Records (or renames) a group held by `engine`.
    pub fn record_group_with(
        &self,
        id: &crate::GroupId,
        name: &str,
        engine: crate::GroupEngine,
    ) -> Result<(), DatabaseError> {
        self.conn.execute(
            "INSERT INTO kaichi_group_registry (id, name, engine) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, engine = excluded.engine",
            rusqlite::params![id.as_bytes().as_slice(), name, engine.code()],
        )?;
        Ok(())
    }

    /// Forgets a group and its messages (its MLS state is deleted with `Group::delete`).
    pub fn forget_group(&self, id: &crate::GroupId) -> Result<(), DatabaseError> {
        let id = id.as_bytes().as_slice();
        self.conn
            .execute("DELETE FROM kaichi_group_registry WHERE id = ?1", [id])?;
        self.conn.execute(
            "DELETE FROM kaichi_group_messages WHERE group_id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// The recorded groups, by name.
    pub fn groups(&self) -> Result<Vec<GroupRecord>, DatabaseError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, engine FROM kaichi_group_registry ORDER BY name, id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, engine) = row?;
            let id = crate::GroupId::from_slice(&id)
                .map_err(|_| DatabaseError::Corrupt("kaichi_group_registry"))?;
            let engine = crate::GroupEngine::from_code(engine)
                .ok_or(DatabaseError::Corrupt("kaichi_group_registry"))?;
            out.push(GroupRecord { id, name, engine });
        }
        Ok(out)
    }

    /// Keeps a received or sent message.
    pub fn save_message(
        &self,
        id: &crate::GroupId,
        message: &StoredGroupMessage,
    ) -> Result<(), DatabaseError> {
        let gid = id.as_bytes().as_slice();
        self.conn.execute(
            "INSERT INTO kaichi_group_messages (group_id, epoch, sender, body, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                gid,
                i64::try_from(message.epoch).unwrap_or(i64::MAX),
                message.sender,
                message.body,
                i64::try_from(message.at_ms).unwrap_or(i64::MAX)
            ],
        )?;
        self.conn.execute(
            "DELETE FROM kaichi_group_messages WHERE group_id = ?1 AND seq <= (
                 SELECT seq FROM kaichi_group_messages WHERE group_id = ?1
                 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
            rusqlite::params![gid, MAX_STORED_MESSAGES as i64],
        )?;
        Ok(())
    }

    /// Adds an MLS message to its group's log (a grow-only set, keyed by
    /// the SHA-256 of the bytes); `done` marks it as already applied (one's
    /// own messages). Returns whether it was new. Keeps at most
    /// [`MAX_LOG_MESSAGES`] per group.
    pub fn log_message(
        &self,
        info: &crate::MessageInfo,
        bytes: &[u8],
        done: bool,
    ) -> Result<bool, DatabaseError> {
        let digest = sha256(bytes);
        let gid = info.group.as_bytes().as_slice();
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO kaichi_group_log (group_id, epoch, kind, digest, bytes, done)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                gid,
                i64::try_from(info.epoch).unwrap_or(i64::MAX),
                info.kind.code(),
                digest.as_slice(),
                bytes,
                done
            ],
        )?;
        if n > 0 {
            self.conn.execute(
                "DELETE FROM kaichi_group_log WHERE group_id = ?1 AND seq <= (
                     SELECT seq FROM kaichi_group_log WHERE group_id = ?1
                     ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                rusqlite::params![gid, MAX_LOG_MESSAGES as i64],
            )?;
        }
        Ok(n > 0)
    }

    /// Messages of a group's log not applied yet, up to `epoch`, in the
    /// order they apply: by epoch, application messages and proposals
    /// before the commit that ends their epoch.
    pub fn pending_messages(
        &self,
        group: &crate::GroupId,
        epoch: u64,
    ) -> Result<Vec<Vec<u8>>, DatabaseError> {
        let mut stmt = self.conn.prepare(
            "SELECT bytes FROM kaichi_group_log
             WHERE group_id = ?1 AND done = 0 AND epoch <= ?2
             ORDER BY epoch, kind, seq LIMIT 1024",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![
                group.as_bytes().as_slice(),
                i64::try_from(epoch).unwrap_or(i64::MAX)
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks a logged message as applied (or refused for good).
    pub fn message_done(&self, bytes: &[u8]) -> Result<(), DatabaseError> {
        self.conn.execute(
            "UPDATE kaichi_group_log SET done = 1 WHERE digest = ?1",
            [sha256(bytes).as_slice()],
        )?;
        Ok(())
    }

    /// The group's logged messages from `since_epoch` on, oldest first,
    /// at most `max_bytes` in all (what a peer that was away asks for).
    pub fn log_since(
        &self,
        group: &crate::GroupId,
        since_epoch: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, DatabaseError> {
        let mut stmt = self.conn.prepare(
            "SELECT bytes FROM kaichi_group_log WHERE group_id = ?1 AND epoch >= ?2
             ORDER BY epoch, kind, seq",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![
                group.as_bytes().as_slice(),
                i64::try_from(since_epoch).unwrap_or(i64::MAX)
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )?;
        let mut out = Vec::new();
        let mut size = 0;
        for row in rows {
            let bytes = row?;
            size += bytes.len();
            if size > max_bytes {
                break;
            }
            out.push(bytes);
        }
        Ok(out)
    }

    /// The KeyPackage this identity publishes (an `MLSMessage`), if one was
    /// recorded.
    pub fn published_key_package(&self) -> Result<Option<Vec<u8>>, DatabaseError> {
        use rusqlite::OptionalExtension as _;
        Ok(self
            .conn
            .query_row(
                "SELECT bytes FROM kaichi_published_key_package WHERE slot = 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records the KeyPackage this identity publishes.
    pub fn set_published_key_package(&self, bytes: &[u8]) -> Result<(), DatabaseError> {
        self.conn.execute(
            "INSERT INTO kaichi_published_key_package (slot, bytes) VALUES (1, ?1)
             ON CONFLICT (slot) DO UPDATE SET bytes = excluded.bytes",
            [bytes],
        )?;
        Ok(())
    }

    /// The newest `limit` messages of a group, oldest first.
    pub fn messages(
        &self,
        id: &crate::GroupId,
        limit: usize,
    ) -> Result<Vec<StoredGroupMessage>, DatabaseError> {
        let mut stmt = self.conn.prepare(
            "SELECT epoch, sender, body, at_ms FROM kaichi_group_messages
             WHERE group_id = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![
                id.as_bytes().as_slice(),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok(StoredGroupMessage {
                    epoch: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    sender: r.get(1)?,
                    body: r.get(2)?,
                    at_ms: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                })
            },
        )?;
        let mut out = rows.collect::<Result<Vec<_>, _>>()?;
        out.reverse();
        Ok(out)
    }
}
