//! openmls providers: crypto and randomness from `openmls_rust_crypto`,
//! group state in memory or in SQLite (the profile's database file).

use std::path::Path;

use openmls_rust_crypto::RustCrypto;
use openmls_sqlite_storage::{Codec, SqliteStorageProvider};
use openmls_traits::OpenMlsProvider;

/// Everything in memory (tests, benches, short-lived tools).
pub type MemoryProvider = openmls_rust_crypto::OpenMlsRustCrypto;

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

/// Group state in a SQLite database through `openmls_sqlite_storage` (its
/// own tables, beside any others in the same file).
pub struct SqliteProvider {
    crypto: RustCrypto,
    storage: SqliteStorageProvider<JsonCodec, rusqlite::Connection>,
}

impl std::fmt::Debug for SqliteProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteProvider")
    }
}

/// The database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema migration failed.
    #[error("migrating the MLS tables: {0}")]
    Migration(String),
}

impl SqliteProvider {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        Self::with_connection(rusqlite::Connection::open(path)?)
    }

    /// A private in-memory database.
    pub fn open_in_memory() -> Result<Self, OpenError> {
        Self::with_connection(rusqlite::Connection::open_in_memory()?)
    }

    fn with_connection(connection: rusqlite::Connection) -> Result<Self, OpenError> {
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut storage = SqliteStorageProvider::new(connection);
        storage
            .run_migrations()
            .map_err(|e| OpenError::Migration(e.to_string()))?;
        Ok(Self {
            crypto: RustCrypto::default(),
            storage,
        })
    }
}

impl OpenMlsProvider for SqliteProvider {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = SqliteStorageProvider<JsonCodec, rusqlite::Connection>;

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
