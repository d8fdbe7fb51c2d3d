//! Fresh databases for tests, on the engine the test run is for.
//!
//! `ATREST_TEST_DATABASE_URL` (set by `scripts/test` for its PostgreSQL pass) names a server,
//! e.g. `postgres://atrest@127.0.0.1:5433`; every test then gets a database of its own there.
//! Unset, every test gets a SQLite file in a temporary directory.

use std::path::Path;

use crate::{DatabaseLocation, Db};

/// The variable naming the PostgreSQL server tests use instead of SQLite.
pub const TEST_DATABASE_ENV: &str = "ATREST_TEST_DATABASE_URL";

/// Where a test's database for `data_dir` lives: a SQLite file in it, or a PostgreSQL
/// database named after the directory (so a server restarted on the same data directory
/// finds the same database).
pub fn location_for(data_dir: &Path) -> DatabaseLocation {
    match std::env::var(TEST_DATABASE_ENV) {
        Ok(server) if !server.is_empty() => {
            DatabaseLocation::Postgres(postgres_url_for(&server, data_dir))
        }
        _ => DatabaseLocation::Sqlite(data_dir.join("meta.db")),
    }
}

/// The database URL (`--database` value) for `data_dir` on the PostgreSQL server `server`.
pub fn postgres_url_for(server: &str, data_dir: &Path) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        data_dir.as_os_str().as_encoded_bytes(),
    );
    let name = format!("atrest_t{}", &hex::encode(digest.as_ref())[..24]);
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let base = base.trim_end_matches('/');
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}

/// A fresh, migrated database in `dir` (or for it, on PostgreSQL).
pub async fn fresh_database(dir: &Path) -> Db {
    Db::connect(&location_for(dir))
        .await
        .expect("open the test database")
}

/// A temporary directory and a fresh database for it.
pub async fn temp_database() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = fresh_database(dir.path()).await;
    (dir, db)
}

/// The `database` setting (`--database`, `ATREST_DATABASE_URL`) for a test server on
/// `data_dir`: a PostgreSQL URL in a PostgreSQL test run, `None` (SQLite in the data
/// directory) otherwise.
pub fn database_setting(data_dir: &Path) -> Option<String> {
    match location_for(data_dir) {
        DatabaseLocation::Postgres(url) => Some(url),
        DatabaseLocation::Sqlite(_) => None,
    }
}

/// The database's connection pool, for tests that seed or inspect rows directly (domain code
/// goes through the repository interfaces and never sees it).
pub fn pool(db: &Db) -> &sqlx::AnyPool {
    db.pool()
}
