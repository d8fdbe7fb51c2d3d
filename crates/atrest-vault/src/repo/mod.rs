//! SQL for vaults and keys (sqlx runtime queries over the store's SQLite pool).

pub(crate) mod keys;
pub(crate) mod vaults;
