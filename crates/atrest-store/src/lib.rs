//! Storage for atrest: the metadata database and the hash-chained audit log.
//!
//! The database is SQLite through sqlx, opened in WAL mode with `synchronous=FULL`, so a
//! transaction that has committed survives `kill -9` and power loss. Schema changes are the
//! numbered files in `migrations/`, applied at open. Domain crates keep their own queries (in
//! their `repo` modules) and use [`Db::pool`]; this crate holds no business rules.

mod audit;
mod db;
mod error;
mod row_cache;

pub use audit::{AuditEntry, AuditLog, AuditQuery, AuditRecord, ChainBreak};
pub use db::Db;
pub use error::Error;
pub use row_cache::RowCache;

/// Current time as unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
