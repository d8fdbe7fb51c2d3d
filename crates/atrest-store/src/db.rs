//! The metadata database on one of two engines: SQLite (embedded default) or PostgreSQL.
//!
//! Both are reached through sqlx's `Any` driver with one set of portable SQL (`$n`
//! parameters, `COLLATE NOCASE`, 64-bit integers for flags and times). What differs between
//! the engines stays in this module: how a database is opened, how writers are serialised
//! ([`Db::begin_write`]) and how a row's secret column is scrubbed ([`Db::scrub_and_delete`]).

use std::path::Path;
use std::sync::Once;
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

use crate::Error;

/// Which engine holds the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// One SQLite file (WAL, `synchronous=FULL`).
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// Where the metadata lives: a SQLite file or a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite database file (created if missing).
    Sqlite(std::path::PathBuf),
    /// `postgres://user[:password]@host[:port]/database[?sslmode=…]` (database created if
    /// missing, when the user may).
    Postgres(String),
}

impl DatabaseLocation {
    /// Parses `postgres://…` / `postgresql://…`, `sqlite:PATH`, or a plain file path.
    pub fn parse(value: &str) -> Self {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Self::Postgres(value.to_owned())
        } else {
            let path = value
                .strip_prefix("sqlite://")
                .or_else(|| value.strip_prefix("sqlite:"))
                .unwrap_or(value);
            Self::Sqlite(path.into())
        }
    }

    /// The location with any password replaced by `***`, for logs and banners.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparseable URL)".to_owned(),
            },
        }
    }
}

/// Advisory-lock key (PostgreSQL) serialising metadata writers, like SQLite's `BEGIN
/// IMMEDIATE`: "atrest-w" as a big-endian integer.
const WRITE_LOCK: i64 = 0x6174_7265_7374_2d77;
/// Advisory-lock key held for the whole life of a node: "atrest-n".
const NODE_LOCK: i64 = 0x6174_7265_7374_2d6e;

/// The metadata database: a connection pool and its engine.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// PostgreSQL: how to connect, for the node lock.
    options: Option<AnyConnectOptions>,
    /// PostgreSQL: the connection holding the node lock (released when it closes).
    node_lock: Option<std::sync::Arc<tokio::sync::Mutex<sqlx::AnyConnection>>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// A write transaction ("unit of work"): writers are serialised by the database on both
/// engines, so a read-then-write inside it sees no concurrent writer. Dropped without
/// [`WriteTx::commit`], it rolls back.
pub struct WriteTx(sqlx::Transaction<'static, sqlx::Any>);

impl WriteTx {
    /// Commits the unit of work; durable when this returns.
    pub async fn commit(self) -> Result<(), Error> {
        Ok(self.0.commit().await?)
    }
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx").finish_non_exhaustive()
    }
}

// The storage implementations run their statements on the transaction's connection.
impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Db {
    /// Opens (creating if needed) the SQLite database at `path` and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, Error> {
        Self::connect(&DatabaseLocation::Sqlite(path.to_owned())).await
    }

    /// Opens the database at `location` (creating it if missing) and applies migrations.
    pub async fn connect(location: &DatabaseLocation) -> Result<Self, Error> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        match location {
            DatabaseLocation::Sqlite(path) => Self::open_sqlite(path).await,
            DatabaseLocation::Postgres(url) => Self::open_postgres(url).await,
        }
    }

    async fn open_sqlite(path: &Path) -> Result<Self, Error> {
        // sqlx percent-decodes the file name; escape what would otherwise be read as syntax.
        let name = path
            .to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3F")
            .replace('#', "%23");
        let options: AnyConnectOptions = format!("sqlite://{name}?mode=rwc").parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            // sqlx pings a connection before handing it out by default: a round trip to the
            // connection's worker thread per query, for a file that cannot drop a connection.
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL + FULL: a commit is on disk before it returns, so an acknowledged
                    // write survives a crash.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool,
            engine: Engine::Sqlite,
            options: None,
            node_lock: None,
        })
    }

    async fn open_postgres(url: &str) -> Result<Self, Error> {
        create_postgres_database_if_missing(url).await?;
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool,
            engine: Engine::Postgres,
            options: Some(options),
            node_lock: None,
        })
    }

    /// Claims the database for this node, for as long as this handle (or a clone) lives.
    /// Caches in a node assume no other node writes the same database (until cluster events
    /// exist); SQLite's equivalent is the data directory's lock file, so this is a no-op there.
    pub async fn claim_single_node(&mut self) -> Result<(), Error> {
        if let Some(options) = &self.options {
            let conn = hold_node_lock(options).await?;
            self.node_lock = Some(std::sync::Arc::new(tokio::sync::Mutex::new(conn)));
        }
        Ok(())
    }

    /// The engine behind this database.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The connection pool: only for the storage implementations in this crate (and tests,
    /// through [`crate::testing::pool`]).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction. SQLite: `BEGIN IMMEDIATE` (concurrent writers queue instead
    /// of failing to upgrade a read lock). PostgreSQL: `BEGIN` and a transaction-scoped
    /// advisory lock, the same "one writer at a time" on every node.
    pub async fn begin_write(&self) -> Result<WriteTx, Error> {
        match self.engine {
            Engine::Sqlite => Ok(WriteTx(self.pool.begin_with("BEGIN IMMEDIATE").await?)),
            Engine::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(WriteTx(tx))
            }
        }
    }

    /// Starts an audit append: SQLite's write lock; on PostgreSQL a plain transaction whose
    /// `SELECT … FOR UPDATE` of the chain head serialises appenders without holding up other
    /// writers.
    pub(crate) async fn begin_audit(&self) -> Result<WriteTx, Error> {
        match self.engine {
            Engine::Sqlite => Ok(WriteTx(self.pool.begin_with("BEGIN IMMEDIATE").await?)),
            Engine::Postgres => Ok(WriteTx(self.pool.begin().await?)),
        }
    }

    /// Starts a read-only snapshot: every query in it sees the database as of one moment.
    pub async fn begin_snapshot(&self) -> Result<WriteTx, Error> {
        match self.engine {
            // A deferred transaction in WAL mode reads one snapshot from its first read on.
            Engine::Sqlite => Ok(WriteTx(self.pool.begin().await?)),
            Engine::Postgres => Ok(WriteTx(
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            )),
        }
    }

    /// Overwrites `column` of the rows `WHERE id = $1` in `table` with zero bytes of the same
    /// length and deletes them, inside `tx`, so the secret is not left in the row's old
    /// version. SQLite also zeroes freed pages (`secure_delete`); PostgreSQL keeps old row
    /// versions until VACUUM (docs/OPERATIONS.md, "Crypto-shredding on PostgreSQL").
    pub async fn scrub_and_delete(
        &self,
        tx: &mut WriteTx,
        table: &'static str,
        column: &'static str,
        id: &str,
    ) -> Result<(), Error> {
        let zeroes = match self.engine {
            Engine::Sqlite => {
                sqlx::query("PRAGMA secure_delete = ON")
                    .execute(&mut **tx)
                    .await?;
                format!("zeroblob(length({column}))")
            }
            Engine::Postgres => format!("decode(repeat('00', length({column})), 'hex')"),
        };
        sqlx::query(&format!(
            "UPDATE {table} SET {column} = {zeroes} WHERE id = $1"
        ))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Closes every connection (checkpointing SQLite's WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Connects to the server's `postgres` database and creates the target database if it does
/// not exist yet, as SQLite creates its file.
async fn create_postgres_database_if_missing(url: &str) -> Result<(), Error> {
    let parsed = url::Url::parse(url).map_err(|e| Error::Config(format!("database URL: {e}")))?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() || name == "postgres" {
        return Ok(());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::Config(format!(
            "database name '{name}': use letters, digits, '_' and '-' (or create it yourself)"
        )));
    }
    let mut admin = parsed.clone();
    admin.set_path("/postgres");
    let mut conn = sqlx::AnyConnection::connect(admin.as_str()).await?;
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        match conn.execute(&*format!("CREATE DATABASE \"{name}\"")).await {
            Ok(_) => tracing::info!(database = %name, "created the PostgreSQL database"),
            // Another node created it in the meantime.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    let _ = conn.close().await;
    Ok(())
}

/// Takes the node lock: caches in this process assume no other node writes the same database
/// (until cluster events exist). A node that was just killed may hold it for a moment more,
/// until PostgreSQL notices its connection is gone.
async fn hold_node_lock(options: &AnyConnectOptions) -> Result<sqlx::AnyConnection, Error> {
    let mut conn = options.connect().await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(NODE_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if locked {
            return Ok(conn);
        }
        if Instant::now() >= deadline {
            return Err(Error::Config(
                "another atrest node is serving this PostgreSQL database; one node per database \
                 until cluster events are available (stop the other node or use another database)"
                    .to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_have_the_same_migrations() {
        let sqlite = sqlx::migrate!("./migrations/sqlite");
        let postgres = sqlx::migrate!("./migrations/postgres");
        let names = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&sqlite),
            names(&postgres),
            "every migration needs its twin in migrations/sqlite and migrations/postgres"
        );
        assert!(!names(&sqlite).is_empty());
    }

    #[test]
    fn locations_parse_and_hide_passwords() {
        assert_eq!(
            DatabaseLocation::parse("postgres://u:secret@db:5432/atrest"),
            DatabaseLocation::Postgres("postgres://u:secret@db:5432/atrest".into())
        );
        assert_eq!(
            DatabaseLocation::parse("sqlite:/var/lib/atrest/meta.db"),
            DatabaseLocation::Sqlite("/var/lib/atrest/meta.db".into())
        );
        assert_eq!(
            DatabaseLocation::parse("meta.db"),
            DatabaseLocation::Sqlite("meta.db".into())
        );
        let shown = DatabaseLocation::parse("postgresql://u:secret@db/atrest").redacted();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("u:***@db"), "{shown}");
    }

    async fn insert_vault(db: &Db, id: &str, name: &str) -> Result<(), Error> {
        let mut tx = db.begin_write().await?;
        sqlx::query(
            "INSERT INTO vaults (id, name, subscription_id, resource_group, location, tenant_id, \
             sku, retention_days, purge_protection, access_policies, tags, created, updated) \
             VALUES ($1, $2, 's', 'g', 'westeurope', 't', 'standard', 90, 0, '[]', '{}', 0, 0)",
        )
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tokio::test]
    async fn names_are_case_insensitive_on_this_engine() {
        let (_dir, db) = crate::testing::temp_database().await;
        insert_vault(&db, "1", "Demo-Vault").await.unwrap();
        assert!(
            insert_vault(&db, "2", "demo-VAULT").await.is_err(),
            "a name differing only in case is taken"
        );
        let (id,): (String,) = sqlx::query_as("SELECT id FROM vaults WHERE name = $1")
            .bind("DEMO-vault")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(id, "1");
        let (group,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM vaults WHERE resource_group = $1 COLLATE NOCASE")
                .bind("G")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(group, 1);
    }

    #[tokio::test]
    async fn scrubbed_rows_leave_no_secret_behind_in_the_table() {
        let (dir, db) = crate::testing::temp_database().await;
        let secret = [0xA7u8; 40];
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO platform_keys (version, sealed, created) VALUES (1, $1, 0)")
            .bind(secret.to_vec())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        sqlx::query(
            "INSERT INTO accounts (id, name, subscription_id, resource_group, tenant_id, \
             location, kind, sku, key_source, wrapped_ak, key1_hash, key2_hash, created, updated) \
             VALUES ('a1', 'acct', 's', 'g', 't', 'westeurope', 'TextTranslation', 'S0', \
             'Microsoft.CognitiveServices', $1, 'h1', 'h2', 0, 0)",
        )
        .bind(secret.to_vec())
        .execute(db.pool())
        .await
        .unwrap();
        let mut tx = db.begin_write().await.unwrap();
        db.scrub_and_delete(&mut tx, "accounts", "wrapped_ak", "a1")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM accounts")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(left, 0);
        match db.engine() {
            Engine::Sqlite => {
                // secure_delete zeroes the freed cells: after a checkpoint the wrapped key is
                // nowhere in the file except the platform key row, which holds it once.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(db.pool())
                    .await
                    .unwrap();
                let file = std::fs::read(dir.path().join("meta.db")).unwrap();
                let copies = file.windows(secret.len()).filter(|w| *w == secret).count();
                assert_eq!(
                    copies, 1,
                    "the scrubbed copy is gone from the database file"
                );
            }
            Engine::Postgres => {
                // The zeroed version replaced the row; after VACUUM (autovacuum in production)
                // no live or dead tuple of `accounts` holds the key.
                sqlx::query("VACUUM accounts")
                    .execute(db.pool())
                    .await
                    .unwrap();
                sqlx::query("CREATE EXTENSION IF NOT EXISTS pageinspect")
                    .execute(db.pool())
                    .await
                    .unwrap();
                let (hits,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM generate_series(0, \
                     (pg_relation_size('accounts') / current_setting('block_size')::bigint) - 1) AS blk, \
                     LATERAL heap_page_items(get_raw_page('accounts', blk::int)) AS t \
                     WHERE position($1 IN t.t_data) > 0",
                )
                .bind(secret.to_vec())
                .fetch_one(db.pool())
                .await
                .unwrap();
                assert_eq!(hits, 0, "no tuple of accounts holds the wrapped key");
            }
        }
    }
}
