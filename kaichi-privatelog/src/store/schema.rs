//! The SQLite store's schema: its version and the migrations to it.

/// The schema version this crate writes (SQLite `user_version`).
pub const SCHEMA_VERSION: i64 = 5;

/// Migrations, in order: `MIGRATIONS[n]` takes the schema from version n to n + 1.
pub(super) const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE kaichi_blocks (
        id INTEGER PRIMARY KEY,
        cid BLOB NOT NULL UNIQUE,
        data BLOB NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE kaichi_conversations (
        id BLOB PRIMARY KEY,
        peer_wallet BLOB NOT NULL,
        peer_epoch INTEGER NOT NULL,
        peer_ipns BLOB NOT NULL,
        peer_dm BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE kaichi_log_entries (
        conversation BLOB NOT NULL,
        clock INTEGER NOT NULL,
        author BLOB NOT NULL,
        cid BLOB NOT NULL,
        PRIMARY KEY (conversation, clock, author, cid)
    ) WITHOUT ROWID;",
    // 1 -> 2: delivery receipts (entries of this side the other side
    // acknowledged storing), message requests, blocked wallets.
    "CREATE TABLE kaichi_delivered (
        conversation BLOB NOT NULL,
        cid BLOB NOT NULL,
        PRIMARY KEY (conversation, cid)
    ) WITHOUT ROWID;
    CREATE TABLE kaichi_requests (conversation BLOB PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE kaichi_blocked (wallet BLOB PRIMARY KEY) WITHOUT ROWID;",
    // 2 -> 3: group invitations a message request sent, held until it is
    // accepted (in arrival order).
    "CREATE TABLE kaichi_held_invitations (
        conversation BLOB NOT NULL,
        seq INTEGER NOT NULL,
        invitation BLOB NOT NULL,
        PRIMARY KEY (conversation, seq)
    ) WITHOUT ROWID;",
    // 3 -> 4: each contact's newest identity document, which self-sync
    // sends this identity's other devices (kept across restarts).
    "CREATE TABLE kaichi_peer_documents (
        conversation BLOB PRIMARY KEY,
        document BLOB NOT NULL
    ) WITHOUT ROWID;",
    // 4 -> 5: settled entries are looked up by CID.
    "CREATE INDEX kaichi_log_entries_by_cid ON kaichi_log_entries (conversation, cid);",
];
