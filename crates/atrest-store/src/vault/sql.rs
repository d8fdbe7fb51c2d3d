//! [`VaultStore`] on the metadata database.

use super::{KeyRow, SchedulerCandidate, VaultRow, VaultStore, VersionRow};
use crate::{Db, Error, SqlBool, WriteTx};

const VAULT_COLUMNS: &str = "id, name, subscription_id, resource_group, location, tenant_id, \
    sku, retention_days, purge_protection, access_policies, tags, created, updated, deleted_at, \
    scheduled_purge";

const VAULT_NAME: &str = "SELECT name FROM vaults WHERE id = $1";

const VERSION: &str =
    "SELECT * FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2 AND version = $3";

/// Vault rows in the metadata database (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct SqlVaultStore {
    db: Db,
}

impl SqlVaultStore {
    /// The vault rows of `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Runs `$query` (a sqlx query) with `$fetch` inside `$tx` when given, else on the pool.
macro_rules! in_tx_or_pool {
    ($self:ident, $tx:ident, $query:expr, $fetch:ident) => {
        match $tx {
            Some(tx) => $query.$fetch(&mut **tx).await?,
            None => $query.$fetch($self.db.pool()).await?,
        }
    };
}

#[async_trait::async_trait]
impl VaultStore for SqlVaultStore {
    async fn vault_by_name(
        &self,
        tx: Option<&mut WriteTx>,
        name: &str,
    ) -> Result<Option<VaultRow>, Error> {
        let sql = format!("SELECT {VAULT_COLUMNS} FROM vaults WHERE name = $1");
        let query = sqlx::query_as(&sql).bind(name);
        Ok(in_tx_or_pool!(self, tx, query, fetch_optional))
    }

    async fn vault_name(&self, tx: &mut WriteTx, id: &str) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(VAULT_NAME)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.map(|(name,)| name))
    }

    async fn vaults_in_group(
        &self,
        subscription: &str,
        group: &str,
    ) -> Result<Vec<VaultRow>, Error> {
        Ok(sqlx::query_as(&format!(
            "SELECT {VAULT_COLUMNS} FROM vaults WHERE subscription_id = $1 AND resource_group = $2 COLLATE NOCASE \
             AND deleted_at IS NULL ORDER BY name"
        ))
        .bind(subscription)
        .bind(group)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn deleted_vaults(&self, subscription: &str) -> Result<Vec<VaultRow>, Error> {
        Ok(sqlx::query_as(&format!(
            "SELECT {VAULT_COLUMNS} FROM vaults WHERE subscription_id = $1 AND deleted_at IS NOT NULL ORDER BY name"
        ))
        .bind(subscription)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn vaults_due_for_purge(&self, now: i64) -> Result<Vec<VaultRow>, Error> {
        Ok(sqlx::query_as(&format!(
            "SELECT {VAULT_COLUMNS} FROM vaults WHERE deleted_at IS NOT NULL AND scheduled_purge <= $1"
        ))
        .bind(now)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn save_vault(&self, tx: &mut WriteTx, vault: &VaultRow) -> Result<(), Error> {
        sqlx::query(&format!(
            "INSERT INTO vaults ({VAULT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, subscription_id = excluded.subscription_id, \
             resource_group = excluded.resource_group, location = excluded.location, \
             tenant_id = excluded.tenant_id, sku = excluded.sku, retention_days = excluded.retention_days, \
             purge_protection = excluded.purge_protection, access_policies = excluded.access_policies, \
             tags = excluded.tags, updated = excluded.updated, deleted_at = excluded.deleted_at, \
             scheduled_purge = excluded.scheduled_purge"
        ))
        .bind(&vault.id)
        .bind(&vault.name)
        .bind(&vault.subscription_id)
        .bind(&vault.resource_group)
        .bind(&vault.location)
        .bind(&vault.tenant_id)
        .bind(&vault.sku)
        .bind(vault.retention_days)
        .bind(SqlBool::from(vault.purge_protection))
        .bind(&vault.access_policies)
        .bind(&vault.tags)
        .bind(vault.created)
        .bind(vault.updated)
        .bind(vault.deleted_at)
        .bind(vault.scheduled_purge)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn purge_vault(&self, tx: &mut WriteTx, id: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM vault_key_versions WHERE vault_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM vault_keys WHERE vault_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM vaults WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn key(
        &self,
        tx: Option<&mut WriteTx>,
        vault_id: &str,
        name: &str,
    ) -> Result<Option<KeyRow>, Error> {
        let query = sqlx::query_as("SELECT * FROM vault_keys WHERE vault_id = $1 AND name = $2")
            .bind(vault_id)
            .bind(name);
        Ok(in_tx_or_pool!(self, tx, query, fetch_optional))
    }

    async fn keys_page(
        &self,
        vault_id: &str,
        deleted: bool,
        after: &str,
        limit: i64,
    ) -> Result<Vec<KeyRow>, Error> {
        let state = if deleted { "IS NOT NULL" } else { "IS NULL" };
        Ok(sqlx::query_as(&format!(
            "SELECT * FROM vault_keys WHERE vault_id = $1 AND deleted_at {state} AND name > $2 \
             ORDER BY name LIMIT $3"
        ))
        .bind(vault_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn keys_due_for_purge(&self, now: i64) -> Result<Vec<KeyRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT * FROM vault_keys WHERE deleted_at IS NOT NULL AND scheduled_purge <= $1",
        )
        .bind(now)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn scheduler_candidates(&self) -> Result<Vec<SchedulerCandidate>, Error> {
        let pool = self.db.pool();
        let keys: Vec<KeyRow> = sqlx::query_as(
            "SELECT k.* FROM vault_keys k JOIN vaults v ON v.id = k.vault_id \
             JOIN vault_key_versions kv ON kv.vault_id = k.vault_id AND kv.key_name = k.name \
               AND kv.version = k.current_version \
             WHERE k.deleted_at IS NULL AND v.deleted_at IS NULL \
               AND (k.rotation_policy IS NOT NULL OR kv.exp IS NOT NULL)",
        )
        .fetch_all(pool)
        .await?;
        let mut out = Vec::with_capacity(keys.len());
        let mut conn = pool.acquire().await?;
        for key in keys {
            let (vault_name,): (String,) = sqlx::query_as(VAULT_NAME)
                .bind(&key.vault_id)
                .fetch_one(&mut *conn)
                .await?;
            let current: Option<VersionRow> = sqlx::query_as(VERSION)
                .bind(&key.vault_id)
                .bind(&key.name)
                .bind(&key.current_version)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(current) = current {
                out.push((vault_name, key, current));
            }
        }
        Ok(out)
    }

    async fn insert_key(&self, tx: &mut WriteTx, key: &KeyRow) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO vault_keys (vault_id, name, current_version, created, deleted_at, scheduled_purge, \
             rotation_policy, policy_created, policy_updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&key.vault_id)
        .bind(&key.name)
        .bind(&key.current_version)
        .bind(key.created)
        .bind(key.deleted_at)
        .bind(key.scheduled_purge)
        .bind(&key.rotation_policy)
        .bind(key.policy_created)
        .bind(key.policy_updated)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn set_current_version(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
        version: &str,
    ) -> Result<(), Error> {
        sqlx::query("UPDATE vault_keys SET current_version = $1 WHERE vault_id = $2 AND name = $3")
            .bind(version)
            .bind(vault_id)
            .bind(name)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn set_key_deleted(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
        deleted_at: Option<i64>,
        scheduled_purge: Option<i64>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE vault_keys SET deleted_at = $1, scheduled_purge = $2 WHERE vault_id = $3 AND name = $4",
        )
        .bind(deleted_at)
        .bind(scheduled_purge)
        .bind(vault_id)
        .bind(name)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn set_rotation_policy(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
        policy: &str,
        created: i64,
        updated: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE vault_keys SET rotation_policy = $1, policy_created = $2, policy_updated = $3 \
             WHERE vault_id = $4 AND name = $5",
        )
        .bind(policy)
        .bind(created)
        .bind(updated)
        .bind(vault_id)
        .bind(name)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn purge_key(&self, tx: &mut WriteTx, vault_id: &str, name: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2")
            .bind(vault_id)
            .bind(name)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM vault_keys WHERE vault_id = $1 AND name = $2")
            .bind(vault_id)
            .bind(name)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn version(
        &self,
        tx: Option<&mut WriteTx>,
        vault_id: &str,
        name: &str,
        version_id: &str,
    ) -> Result<Option<VersionRow>, Error> {
        let query = sqlx::query_as(VERSION)
            .bind(vault_id)
            .bind(name)
            .bind(version_id);
        Ok(in_tx_or_pool!(self, tx, query, fetch_optional))
    }

    async fn live_version(
        &self,
        vault_id: &str,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<VersionRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT v.* FROM vault_key_versions v JOIN vault_keys k \
             ON k.vault_id = v.vault_id AND k.name = v.key_name \
             WHERE v.vault_id = $1 AND v.key_name = $2 AND k.deleted_at IS NULL \
             AND v.version = COALESCE($3, k.current_version)",
        )
        .bind(vault_id)
        .bind(name)
        .bind(version)
        .fetch_optional(self.db.pool())
        .await?)
    }

    async fn versions_page(
        &self,
        vault_id: &str,
        name: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<VersionRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT * FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2 AND seq > $3 ORDER BY seq LIMIT $4",
        )
        .bind(vault_id)
        .bind(name)
        .bind(after)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn last_version_seq(
        &self,
        tx: &mut WriteTx,
        vault_id: &str,
        name: &str,
    ) -> Result<Option<i64>, Error> {
        let (max,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(seq) FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2",
        )
        .bind(vault_id)
        .bind(name)
        .fetch_one(&mut **tx)
        .await?;
        Ok(max)
    }

    async fn insert_version(&self, tx: &mut WriteTx, v: &VersionRow) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO vault_key_versions (vault_id, key_name, version, seq, kty, key_ops, n, e, \
             sealed_private, enabled, nbf, exp, created, updated, tags, near_expiry_sent, expired_sent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&v.vault_id)
        .bind(&v.key_name)
        .bind(&v.version)
        .bind(v.seq)
        .bind(&v.kty)
        .bind(&v.key_ops)
        .bind(&v.n)
        .bind(&v.e)
        .bind(&v.sealed_private)
        .bind(SqlBool::from(v.enabled))
        .bind(v.nbf)
        .bind(v.exp)
        .bind(v.created)
        .bind(v.updated)
        .bind(&v.tags)
        .bind(SqlBool::from(v.near_expiry_sent))
        .bind(SqlBool::from(v.expired_sent))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn update_version(&self, tx: &mut WriteTx, v: &VersionRow) -> Result<(), Error> {
        sqlx::query(
            "UPDATE vault_key_versions SET key_ops = $1, enabled = $2, nbf = $3, exp = $4, updated = $5, tags = $6, \
             near_expiry_sent = $7, expired_sent = $8 WHERE vault_id = $9 AND key_name = $10 AND version = $11",
        )
        .bind(&v.key_ops)
        .bind(SqlBool::from(v.enabled))
        .bind(v.nbf)
        .bind(v.exp)
        .bind(v.updated)
        .bind(&v.tags)
        .bind(SqlBool::from(v.near_expiry_sent))
        .bind(SqlBool::from(v.expired_sent))
        .bind(&v.vault_id)
        .bind(&v.key_name)
        .bind(&v.version)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
