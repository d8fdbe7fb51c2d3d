//! Storage for atrest: the metadata database and the hash-chained audit log.
//!
//! The database is SQLite (embedded default: WAL, `synchronous=FULL`, so a committed
//! transaction survives `kill -9` and power loss) or PostgreSQL, both through sqlx with one
//! set of portable SQL. Schema changes are the numbered files in `migrations/sqlite` and
//! `migrations/postgres`, kept in step and applied at open. This crate holds no business rules.
//!
//! Blob stores (local files, Azure Blob, S3) are configured and written through [`blob`].

pub mod accounts;
mod audit;
pub mod blob;
mod db;
pub mod directory;
mod error;
mod flag;
pub mod platform_keys;
mod row_cache;
pub mod testing;
pub mod vault;

pub use audit::{AuditEntry, AuditLog, AuditQuery, AuditRecord, ChainBreak};
pub use db::{DatabaseLocation, Db, Engine, WriteTx};
pub use error::Error;
pub use flag::SqlBool;
pub use row_cache::RowCache;

/// Current time as unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
