//! [`AccountStore`] on the metadata database.

use sqlx::Row;

use super::{
    AccountObjectRow, AccountRow, AccountStore, BlocklistItemRow, BlocklistRow, DeploymentRow,
    PlatformWrappedRow, WrappedKeyRow,
};
use crate::{Db, Error, SqlBool, WriteTx};

const COLUMNS: &str = "id, name, subscription_id, resource_group, tenant_id, location, kind, sku, \
    tags, identity_principal, identity_client, key_source, key_vault_uri, key_vault_name, key_name, \
    key_version, identity_client_req, mmk_version, cmk_wrapped_version, cmk_principal, key_state, \
    key_state_reason, key_state_since, key_warning, on_key_loss, data_deleted_at, created, updated, \
    user_owned_storage, infrastructure_encryption";

/// Accounts and their data in the metadata database (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct SqlAccountStore {
    db: Db,
}

impl SqlAccountStore {
    /// The store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl AccountStore for SqlAccountStore {
    async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>, Error> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE name = $1"))
                .bind(name)
                .fetch_optional(self.db.pool())
                .await?,
        )
    }

    async fn account_by_id(&self, id: &str) -> Result<Option<AccountRow>, Error> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?,
        )
    }

    async fn accounts_in_group(
        &self,
        subscription_id: &str,
        resource_group: &str,
    ) -> Result<Vec<AccountRow>, Error> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE subscription_id = $1 AND resource_group = $2 COLLATE NOCASE ORDER BY name"
        ))
        .bind(subscription_id)
        .bind(resource_group)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn account_ids_by_key_source(
        &self,
        key_source: &str,
        vault: Option<&str>,
        identity: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM accounts WHERE key_source = $1 \
             AND ($2 IS NULL OR key_vault_name = $2 COLLATE NOCASE) AND ($3 IS NULL OR identity_principal = $3)",
        )
        .bind(key_source)
        .bind(vault)
        .bind(identity)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn inaccessible_account_ids(
        &self,
        on_key_loss: &str,
        since: i64,
    ) -> Result<Vec<String>, Error> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM accounts WHERE key_state = 'KeyInaccessible' AND on_key_loss = $1 \
             AND data_deleted_at IS NULL AND key_state_since <= $2",
        )
        .bind(on_key_loss)
        .bind(since)
        .fetch_all(self.db.pool())
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn wrapped_key(&self, id: &str) -> Result<WrappedKeyRow, Error> {
        let row = sqlx::query(
            "SELECT wrapped_ak, mmk_version, cmk_wrapped_version FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_one(self.db.pool())
        .await?;
        Ok(WrappedKeyRow {
            wrapped_ak: row.try_get("wrapped_ak")?,
            mmk_version: row.try_get("mmk_version")?,
            cmk_wrapped_version: row.try_get("cmk_wrapped_version")?,
        })
    }

    async fn insert_account(
        &self,
        tx: &mut WriteTx,
        account: &AccountRow,
        wrapped: &WrappedKeyRow,
        key1_hash: &str,
        key2_hash: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO accounts (id, name, subscription_id, resource_group, tenant_id, location, kind, sku, \
             tags, key_source, wrapped_ak, mmk_version, key1_hash, key2_hash, on_key_loss, created, updated, \
             identity_principal, identity_client, user_owned_storage, infrastructure_encryption) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(&account.id)
        .bind(&account.name)
        .bind(&account.subscription_id)
        .bind(&account.resource_group)
        .bind(&account.tenant_id)
        .bind(&account.location)
        .bind(&account.kind)
        .bind(&account.sku)
        .bind(&account.tags)
        .bind(&account.key_source)
        .bind(&wrapped.wrapped_ak)
        .bind(wrapped.mmk_version)
        .bind(key1_hash)
        .bind(key2_hash)
        .bind(&account.on_key_loss)
        .bind(account.created)
        .bind(account.updated)
        .bind(&account.identity_principal)
        .bind(&account.identity_client)
        .bind(&account.user_owned_storage)
        .bind(SqlBool::from(account.infrastructure_encryption))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn save_account(
        &self,
        tx: &mut WriteTx,
        account: &AccountRow,
        expected_updated: i64,
        wrapped: Option<&WrappedKeyRow>,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE accounts SET sku = $1, tags = $2, identity_principal = $3, identity_client = $4, \
             key_source = $5, key_vault_uri = $6, key_vault_name = $7, key_name = $8, key_version = $9, \
             identity_client_req = $10, key_state = $11, key_state_reason = $12, key_state_since = $13, \
             key_warning = $14, on_key_loss = $15, data_deleted_at = $16, updated = $17, cmk_principal = $18, \
             user_owned_storage = $19, \
             wrapped_ak = COALESCE($20, wrapped_ak), \
             mmk_version = CASE WHEN $21 THEN $22 ELSE mmk_version END, \
             cmk_wrapped_version = CASE WHEN $23 THEN $24 ELSE cmk_wrapped_version END \
             WHERE id = $25 AND updated = $26",
        )
        .bind(&account.sku)
        .bind(&account.tags)
        .bind(&account.identity_principal)
        .bind(&account.identity_client)
        .bind(&account.key_source)
        .bind(&account.key_vault_uri)
        .bind(&account.key_vault_name)
        .bind(&account.key_name)
        .bind(&account.key_version)
        .bind(&account.identity_client_req)
        .bind(&account.key_state)
        .bind(&account.key_state_reason)
        .bind(account.key_state_since)
        .bind(&account.key_warning)
        .bind(&account.on_key_loss)
        .bind(account.data_deleted_at)
        .bind(account.updated)
        .bind(&account.cmk_principal)
        .bind(&account.user_owned_storage)
        .bind(wrapped.map(|w| w.wrapped_ak.clone()))
        // A real boolean: PostgreSQL wants one after CASE WHEN.
        .bind(wrapped.is_some())
        .bind(wrapped.and_then(|w| w.mmk_version))
        .bind(wrapped.is_some())
        .bind(wrapped.and_then(|w| w.cmk_wrapped_version.clone()))
        .bind(&account.id)
        .bind(expected_updated)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_key_hashes(
        &self,
        id: &str,
        key1_hash: Option<&str>,
        key2_hash: Option<&str>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE accounts SET key1_hash = COALESCE($1, key1_hash), key2_hash = COALESCE($2, key2_hash) WHERE id = $3",
        )
        .bind(key1_hash)
        .bind(key2_hash)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn key_hashes(&self, id: &str) -> Result<(String, String), Error> {
        Ok(
            sqlx::query_as("SELECT key1_hash, key2_hash FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_one(self.db.pool())
                .await?,
        )
    }

    async fn shred_account(&self, tx: &mut WriteTx, id: &str) -> Result<(), Error> {
        // Overwrite the wrapped key before deleting the row (and on SQLite zero the freed
        // pages): the account key cannot be recovered from the database afterwards.
        self.db
            .scrub_and_delete(tx, "accounts", "wrapped_ak", id)
            .await
    }

    async fn delete_account_data(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        deleted_at: i64,
    ) -> Result<Vec<String>, Error> {
        let blobs: Vec<(String,)> =
            sqlx::query_as("DELETE FROM account_objects WHERE account_id = $1 RETURNING blob_key")
                .bind(account_id)
                .fetch_all(&mut **tx)
                .await?;
        for table in ["blocklist_items", "deployments"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
                .bind(account_id)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("UPDATE accounts SET data_deleted_at = $1 WHERE id = $2")
            .bind(deleted_at)
            .bind(account_id)
            .execute(&mut **tx)
            .await?;
        Ok(blobs.into_iter().map(|(blob,)| blob).collect())
    }

    async fn keys_under_older_platform_key(
        &self,
        current: i64,
        limit: i64,
    ) -> Result<Vec<PlatformWrappedRow>, Error> {
        let rows = sqlx::query(
            "SELECT id, wrapped_ak, mmk_version FROM accounts \
             WHERE mmk_version IS NOT NULL AND mmk_version < $1 LIMIT $2",
        )
        .bind(current)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PlatformWrappedRow {
                    id: row.try_get("id")?,
                    wrapped_ak: row.try_get("wrapped_ak")?,
                    mmk_version: row.try_get("mmk_version")?,
                })
            })
            .collect()
    }

    async fn blocklists_under_older_platform_key(
        &self,
        current: i64,
        limit: i64,
    ) -> Result<Vec<BlocklistRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT account_id, name_index, name_sealed, mmk_version, created FROM blocklists \
             WHERE mmk_version < $1 LIMIT $2",
        )
        .bind(current)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn rewrap_account_key(
        &self,
        tx: &mut WriteTx,
        id: &str,
        old_version: i64,
        wrapped_ak: &[u8],
        mmk_version: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE accounts SET wrapped_ak = $1, mmk_version = $2 WHERE id = $3 AND mmk_version = $4",
        )
        .bind(wrapped_ak)
        .bind(mmk_version)
        .bind(id)
        .bind(old_version)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn reseal_blocklist_name(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        name_index: &str,
        old_version: i64,
        name_sealed: &[u8],
        mmk_version: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE blocklists SET name_sealed = $1, mmk_version = $2 \
             WHERE account_id = $3 AND name_index = $4 AND mmk_version = $5",
        )
        .bind(name_sealed)
        .bind(mmk_version)
        .bind(account_id)
        .bind(name_index)
        .bind(old_version)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn pending_platform_rewraps(&self, current: i64) -> Result<i64, Error> {
        let (pending,): (i64,) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM accounts WHERE mmk_version IS NOT NULL AND mmk_version < $1) \
             + (SELECT count(*) FROM blocklists WHERE mmk_version < $1)",
        )
        .bind(current)
        .fetch_one(self.db.pool())
        .await?;
        Ok(pending)
    }

    async fn object_blob_keys(&self, account_id: &str) -> Result<Vec<String>, Error> {
        let keys: Vec<(String,)> =
            sqlx::query_as("SELECT blob_key FROM account_objects WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(self.db.pool())
                .await?;
        Ok(keys.into_iter().map(|(key,)| key).collect())
    }

    async fn object_by_index(
        &self,
        account_id: &str,
        kind: &str,
        name_index: &str,
    ) -> Result<Option<AccountObjectRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT * FROM account_objects WHERE account_id = $1 AND kind = $2 AND name_index = $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(name_index)
        .fetch_optional(self.db.pool())
        .await?)
    }

    async fn objects_of_kind(
        &self,
        account_id: &str,
        kind: &str,
    ) -> Result<Vec<AccountObjectRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT * FROM account_objects WHERE account_id = $1 AND kind = $2 ORDER BY created, id",
        )
        .bind(account_id)
        .bind(kind)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn delete_object(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        kind: &str,
        name_index: &str,
    ) -> Result<Option<String>, Error> {
        let old: Option<(String,)> = sqlx::query_as("DELETE FROM account_objects WHERE account_id = $1 AND kind = $2 AND name_index = $3 RETURNING blob_key")
            .bind(account_id)
            .bind(kind)
            .bind(name_index)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(old.map(|(blob,)| blob))
    }

    async fn insert_object(
        &self,
        tx: &mut WriteTx,
        object: &AccountObjectRow,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO account_objects (account_id, id, kind, name_index, name_sealed, blob_key, size, stored_size, sha256, meta, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&object.account_id)
        .bind(&object.id)
        .bind(&object.kind)
        .bind(&object.name_index)
        .bind(&object.name_sealed)
        .bind(&object.blob_key)
        .bind(object.size)
        .bind(object.stored_size)
        .bind(&object.sha256)
        .bind(&object.meta)
        .bind(object.created)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn deploy_model(
        &self,
        account_id: &str,
        name: &str,
        model_id: &str,
        created: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO deployments (account_id, name, model_id, status, created) VALUES ($1, $2, $3, 'Deployed', $4) \
             ON CONFLICT (account_id, name) DO UPDATE SET model_id = excluded.model_id, status = 'Deployed'",
        )
        .bind(account_id)
        .bind(name)
        .bind(model_id)
        .bind(created)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn deployments(&self, account_id: &str) -> Result<Vec<DeploymentRow>, Error> {
        Ok(sqlx::query_as(
            "SELECT account_id, name, model_id, status, created FROM deployments WHERE account_id = $1 ORDER BY name",
        )
        .bind(account_id)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn delete_deployment(&self, account_id: &str, name: &str) -> Result<bool, Error> {
        let done = sqlx::query("DELETE FROM deployments WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(name)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() != 0)
    }

    async fn undeploy_all(&self, account_id: &str) -> Result<(), Error> {
        sqlx::query("UPDATE deployments SET status = 'Undeployed' WHERE account_id = $1")
            .bind(account_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn insert_blocklist(&self, blocklist: &BlocklistRow) -> Result<(), Error> {
        sqlx::query("INSERT INTO blocklists (account_id, name_index, name_sealed, mmk_version, created) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
            .bind(&blocklist.account_id)
            .bind(&blocklist.name_index)
            .bind(&blocklist.name_sealed)
            .bind(blocklist.mmk_version)
            .bind(blocklist.created)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn blocklists(&self, account_id: &str) -> Result<Vec<BlocklistRow>, Error> {
        Ok(sqlx::query_as("SELECT account_id, name_index, name_sealed, mmk_version, created FROM blocklists WHERE account_id = $1 ORDER BY created")
            .bind(account_id)
            .fetch_all(self.db.pool())
            .await?)
    }

    async fn blocklist_exists(&self, account_id: &str, name_index: &str) -> Result<bool, Error> {
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT name_index FROM blocklists WHERE account_id = $1 AND name_index = $2",
        )
        .bind(account_id)
        .bind(name_index)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(found.is_some())
    }

    async fn delete_blocklist(
        &self,
        tx: &mut WriteTx,
        account_id: &str,
        name_index: &str,
    ) -> Result<bool, Error> {
        sqlx::query("DELETE FROM blocklist_items WHERE account_id = $1 AND blocklist = $2")
            .bind(account_id)
            .bind(name_index)
            .execute(&mut **tx)
            .await?;
        let done = sqlx::query("DELETE FROM blocklists WHERE account_id = $1 AND name_index = $2")
            .bind(account_id)
            .bind(name_index)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() != 0)
    }

    async fn insert_blocklist_item(
        &self,
        tx: &mut WriteTx,
        item: &BlocklistItemRow,
    ) -> Result<(), Error> {
        sqlx::query("INSERT INTO blocklist_items (account_id, blocklist, id, text_sealed, created) VALUES ($1, $2, $3, $4, $5)")
            .bind(&item.account_id)
            .bind(&item.blocklist)
            .bind(&item.id)
            .bind(&item.text_sealed)
            .bind(item.created)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn blocklist_items(
        &self,
        account_id: &str,
        blocklist: &str,
    ) -> Result<Vec<BlocklistItemRow>, Error> {
        Ok(sqlx::query_as("SELECT account_id, blocklist, id, text_sealed, created FROM blocklist_items WHERE account_id = $1 AND blocklist = $2 ORDER BY created, id")
            .bind(account_id)
            .bind(blocklist)
            .fetch_all(self.db.pool())
            .await?)
    }

    async fn put_speech_endpoint(
        &self,
        account_id: &str,
        name: &str,
        logging: bool,
        created: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO speech_endpoints (account_id, name, logging, created) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, name) DO UPDATE SET logging = excluded.logging",
        )
        .bind(account_id)
        .bind(name)
        .bind(SqlBool::from(logging))
        .bind(created)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn speech_endpoint_logging(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<bool>, Error> {
        let logging: Option<(SqlBool,)> = sqlx::query_as(
            "SELECT logging FROM speech_endpoints WHERE account_id = $1 AND name = $2",
        )
        .bind(account_id)
        .bind(name)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(logging.map(|(flag,)| flag.into()))
    }
}
