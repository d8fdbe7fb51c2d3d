//! [`DirectoryStore`] on the metadata database (SQLite or PostgreSQL).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{
    AccountKeySourceRow, DirectoryStore, NewPrincipalRow, PrincipalCredentialsRow, PrincipalRow,
    SigningKeyRow, SubscriptionHoldings, SubscriptionRow, TenantRow,
};
use crate::{Db, Error, SqlBool, WriteTx};

const PRINCIPAL_COLUMNS: &str =
    "object_id, tenant_id, client_id, kind, display_name, enabled, owner_resource";

/// The directory's rows in the metadata database.
#[derive(Debug, Clone)]
pub struct SqlDirectoryStore {
    db: Db,
}

impl SqlDirectoryStore {
    /// The directory store on `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl DirectoryStore for SqlDirectoryStore {
    async fn insert_tenant(&self, id: &str, display_name: &str, created: i64) -> Result<(), Error> {
        sqlx::query("INSERT INTO tenants (id, display_name, created) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(display_name)
            .bind(created)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn tenants(&self) -> Result<Vec<TenantRow>, Error> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT id, display_name FROM tenants ORDER BY created")
                .fetch_all(self.db.pool())
                .await?;
        Ok(rows.into_iter().map(tenant_from_pair).collect())
    }

    async fn tenant_by_id(&self, id: &str) -> Result<Option<TenantRow>, Error> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT id, display_name FROM tenants WHERE id = $1")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(tenant_from_pair))
    }

    async fn subscription_count_of_tenant(
        &self,
        tx: &mut WriteTx,
        tenant_id: &str,
    ) -> Result<i64, Error> {
        let (subscriptions,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM subscriptions WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_one(&mut **tx)
                .await?;
        Ok(subscriptions)
    }

    async fn delete_tenant(&self, tx: &mut WriteTx, id: &str) -> Result<bool, Error> {
        let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_subscription(
        &self,
        tx: &mut WriteTx,
        id: &str,
        tenant_id: &str,
        display_name: &str,
        created: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO subscriptions (id, tenant_id, display_name, created) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(display_name)
        .bind(created)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn subscription_by_id(&self, id: &str) -> Result<Option<SubscriptionRow>, Error> {
        let row = sqlx::query(
            "SELECT id, tenant_id, display_name, cmk_approved FROM subscriptions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| subscription_from_row(&r)).transpose()
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>, Error> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, display_name, cmk_approved FROM subscriptions ORDER BY created",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    async fn subscriptions_of_principal(
        &self,
        principal_id: &str,
    ) -> Result<Vec<SubscriptionRow>, Error> {
        let rows = sqlx::query(
            "SELECT s.id, s.tenant_id, s.display_name, s.cmk_approved FROM subscriptions s \
             JOIN role_assignments r ON r.subscription_id = s.id WHERE r.principal_id = $1 ORDER BY s.created",
        )
        .bind(principal_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    async fn set_cmk_approved(&self, id: &str, approved: bool) -> Result<bool, Error> {
        let done = sqlx::query("UPDATE subscriptions SET cmk_approved = $1 WHERE id = $2")
            .bind(SqlBool::from(approved))
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn subscription_holdings(
        &self,
        tx: &mut WriteTx,
        subscription_id: &str,
    ) -> Result<SubscriptionHoldings, Error> {
        // `vaults` and `accounts` belong to the vault and accounts services; the directory
        // reads them directly because they share this database.
        let (vaults, accounts): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM vaults WHERE subscription_id = $1), \
                    (SELECT count(*) FROM accounts WHERE subscription_id = $1)",
        )
        .bind(subscription_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(SubscriptionHoldings { vaults, accounts })
    }

    async fn account_key_sources(
        &self,
        tx: &mut WriteTx,
        subscription_id: &str,
    ) -> Result<Vec<AccountKeySourceRow>, Error> {
        let accounts: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, key_source FROM accounts WHERE subscription_id = $1 ORDER BY name",
        )
        .bind(subscription_id)
        .fetch_all(&mut **tx)
        .await?;
        Ok(accounts
            .into_iter()
            .map(|(name, key_source)| AccountKeySourceRow { name, key_source })
            .collect())
    }

    async fn set_subscription_tenant(
        &self,
        tx: &mut WriteTx,
        id: &str,
        tenant_id: &str,
    ) -> Result<bool, Error> {
        let done = sqlx::query("UPDATE subscriptions SET tenant_id = $1 WHERE id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_subscription(&self, tx: &mut WriteTx, id: &str) -> Result<bool, Error> {
        let done = sqlx::query("DELETE FROM subscriptions WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn role_assignment(
        &self,
        principal_id: &str,
        subscription_id: &str,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT role FROM role_assignments WHERE principal_id = $1 AND subscription_id = $2",
        )
        .bind(principal_id)
        .bind(subscription_id)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|(role,)| role))
    }

    async fn insert_owner_assignment(
        &self,
        tx: &mut WriteTx,
        principal_id: &str,
        subscription_id: &str,
    ) -> Result<(), Error> {
        sqlx::query("INSERT INTO role_assignments (principal_id, subscription_id, role) VALUES ($1, $2, 'Owner')")
            .bind(principal_id)
            .bind(subscription_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn save_role_assignment(
        &self,
        principal_id: &str,
        subscription_id: &str,
        role: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO role_assignments (principal_id, subscription_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (principal_id, subscription_id) DO UPDATE SET role = excluded.role",
        )
        .bind(principal_id)
        .bind(subscription_id)
        .bind(role)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn delete_role_assignments_of_subscription(
        &self,
        tx: &mut WriteTx,
        subscription_id: &str,
    ) -> Result<(), Error> {
        sqlx::query("DELETE FROM role_assignments WHERE subscription_id = $1")
            .bind(subscription_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn operator_principal_id(&self) -> Result<Option<String>, Error> {
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT object_id FROM principals WHERE kind = 'operator'")
                .fetch_optional(self.db.pool())
                .await?;
        Ok(existing.map(|(object_id,)| object_id))
    }

    async fn insert_principal(&self, principal: &NewPrincipalRow) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO principals (object_id, tenant_id, kind, client_id, display_name, secret_hash, \
             enabled, owner_resource, created) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)",
        )
        .bind(&principal.object_id)
        .bind(&principal.tenant_id)
        .bind(&principal.kind)
        .bind(&principal.client_id)
        .bind(&principal.display_name)
        .bind(&principal.secret_hash)
        .bind(principal.owner_resource.as_deref())
        .bind(principal.created)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn principal_by_id(&self, object_id: &str) -> Result<Option<PrincipalRow>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE object_id = $1"
        ))
        .bind(object_id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| principal_from_row(&r)).transpose()
    }

    async fn principal_tenant(
        &self,
        tx: &mut WriteTx,
        object_id: &str,
    ) -> Result<Option<String>, Error> {
        let tenant: Option<(String,)> =
            sqlx::query_as("SELECT tenant_id FROM principals WHERE object_id = $1")
                .bind(object_id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(tenant.map(|(t,)| t))
    }

    async fn principals_of_tenant(&self, tenant_id: &str) -> Result<Vec<PrincipalRow>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant_id = $1 ORDER BY created"
        ))
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(principal_from_row).collect()
    }

    async fn principal_ids_of_tenant(
        &self,
        tx: &mut WriteTx,
        tenant_id: &str,
    ) -> Result<Vec<String>, Error> {
        let principals: Vec<(String,)> =
            sqlx::query_as("SELECT object_id FROM principals WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_all(&mut **tx)
                .await?;
        Ok(principals.into_iter().map(|(id,)| id).collect())
    }

    async fn principal_credentials(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<PrincipalCredentialsRow>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS}, secret_hash FROM principals WHERE client_id = $1 AND tenant_id = $2"
        ))
        .bind(client_id)
        .bind(tenant_id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| {
            Ok(PrincipalCredentialsRow {
                secret_hash: r.try_get("secret_hash")?,
                principal: principal_from_row(&r)?,
            })
        })
        .transpose()
    }

    async fn set_secret_hash(&self, object_id: &str, secret_hash: &str) -> Result<bool, Error> {
        let done = sqlx::query("UPDATE principals SET secret_hash = $1 WHERE object_id = $2")
            .bind(secret_hash)
            .bind(object_id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_principal_enabled(&self, object_id: &str, enabled: bool) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE principals SET enabled = $1 WHERE object_id = $2 AND kind != 'operator'",
        )
        .bind(SqlBool::from(enabled))
        .bind(object_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_service_principal(&self, object_id: &str) -> Result<bool, Error> {
        let done = sqlx::query(
            "DELETE FROM principals WHERE object_id = $1 AND kind = 'servicePrincipal'",
        )
        .bind(object_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_managed_identity(&self, object_id: &str) -> Result<bool, Error> {
        let done =
            sqlx::query("DELETE FROM principals WHERE object_id = $1 AND kind = 'managedIdentity'")
                .bind(object_id)
                .execute(self.db.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn latest_signing_key(&self) -> Result<Option<SigningKeyRow>, Error> {
        let row: Option<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT kid, sealed_key FROM signing_keys ORDER BY created DESC LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|(kid, sealed_key)| SigningKeyRow { kid, sealed_key }))
    }

    async fn insert_signing_key(
        &self,
        kid: &str,
        sealed_key: &[u8],
        created: i64,
    ) -> Result<(), Error> {
        sqlx::query("INSERT INTO signing_keys (kid, sealed_key, created) VALUES ($1, $2, $3)")
            .bind(kid)
            .bind(sealed_key)
            .bind(created)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

fn tenant_from_pair((id, display_name): (String, String)) -> TenantRow {
    TenantRow { id, display_name }
}

fn principal_from_row(row: &AnyRow) -> Result<PrincipalRow, Error> {
    Ok(PrincipalRow {
        object_id: row.try_get("object_id")?,
        tenant_id: row.try_get("tenant_id")?,
        client_id: row.try_get("client_id")?,
        kind: row.try_get("kind")?,
        display_name: row.try_get("display_name")?,
        enabled: row.try_get::<SqlBool, _>("enabled")?.into(),
        owner_resource: row.try_get("owner_resource")?,
    })
}

fn subscription_from_row(row: &AnyRow) -> Result<SubscriptionRow, Error> {
    Ok(SubscriptionRow {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        display_name: row.try_get("display_name")?,
        cmk_approved: row.try_get::<SqlBool, _>("cmk_approved")?.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rows_read_back_as_written_on_this_engine() {
        let (_dir, db) = crate::testing::temp_database().await;
        let store = SqlDirectoryStore::new(db.clone());
        store.insert_tenant("t1", "contoso", 1).await.unwrap();
        let principal = NewPrincipalRow {
            object_id: "o1".into(),
            tenant_id: "t1".into(),
            kind: "servicePrincipal".into(),
            client_id: "c1".into(),
            display_name: "app".into(),
            secret_hash: "hash".into(),
            owner_resource: None,
            created: 2,
        };
        store.insert_principal(&principal).await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        store
            .insert_subscription(&mut tx, "s1", "t1", "prod", 3)
            .await
            .unwrap();
        store
            .insert_owner_assignment(&mut tx, "o1", "s1")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let found = store.principal_credentials("t1", "c1").await.unwrap();
        let found = found.expect("the principal is found by client id");
        assert_eq!(found.secret_hash.as_deref(), Some("hash"));
        assert!(found.principal.enabled);
        assert!(store
            .principal_credentials("t2", "c1")
            .await
            .unwrap()
            .is_none());
        assert!(store.set_principal_enabled("o1", false).await.unwrap());
        assert!(!store.principal_by_id("o1").await.unwrap().unwrap().enabled);
        assert!(!store.set_principal_enabled("nobody", false).await.unwrap());

        let owned = store.subscriptions_of_principal("o1").await.unwrap();
        assert_eq!(owned.len(), 1);
        assert!(!owned[0].cmk_approved);
        assert!(store.set_cmk_approved("s1", true).await.unwrap());
        assert!(
            store
                .subscription_by_id("s1")
                .await
                .unwrap()
                .unwrap()
                .cmk_approved
        );
        assert_eq!(
            store.role_assignment("o1", "s1").await.unwrap().as_deref(),
            Some("Owner")
        );

        store
            .insert_signing_key("k1", &[0, 1, 255], 4)
            .await
            .unwrap();
        let key = store.latest_signing_key().await.unwrap().unwrap();
        assert_eq!(
            (key.kid.as_str(), key.sealed_key.as_slice()),
            ("k1", &[0, 1, 255][..])
        );
    }
}
