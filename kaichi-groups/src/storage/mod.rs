//! openmls providers: crypto and randomness from `openmls_rust_crypto`,
//! group state in memory, or (feature `sqlite`, the default) in SQLite: the
//! profile's database file, with a registry of groups and their messages.

#[cfg(feature = "sqlite")]
mod database;

#[cfg(feature = "sqlite")]
pub use database::*;

/// Everything in memory (the browser, tests, benches, short-lived tools).
pub type MemoryProvider = openmls_rust_crypto::OpenMlsRustCrypto;
