//! [`PlatformKeyStore`] on the metadata database.

use super::{PlatformKeyRow, PlatformKeyStore};
use crate::{Db, Error, WriteTx};

/// The platform key versions in the metadata database (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct SqlPlatformKeyStore {
    db: Db,
}

impl SqlPlatformKeyStore {
    /// The store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl PlatformKeyStore for SqlPlatformKeyStore {
    async fn platform_keys(&self) -> Result<Vec<PlatformKeyRow>, Error> {
        Ok(
            sqlx::query_as("SELECT version, sealed, created FROM platform_keys ORDER BY version")
                .fetch_all(self.db.pool())
                .await?,
        )
    }

    async fn next_platform_key_version(&self, tx: &mut WriteTx) -> Result<i64, Error> {
        let (next,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) + 1 FROM platform_keys")
                .fetch_one(&mut **tx)
                .await?;
        Ok(next)
    }

    async fn insert_platform_key(
        &self,
        tx: &mut WriteTx,
        key: &PlatformKeyRow,
    ) -> Result<(), Error> {
        sqlx::query("INSERT INTO platform_keys (version, sealed, created) VALUES ($1, $2, $3)")
            .bind(key.version)
            .bind(&key.sealed)
            .bind(key.created)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
