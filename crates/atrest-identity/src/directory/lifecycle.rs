//! Removing and moving directory objects (operator only): deleting tenants and
//! subscriptions, and moving a subscription to another tenant. Each refuses while it would
//! orphan or silently break something, and says what to do first.

use super::{require_operator, Directory, DirectoryEvent};
use crate::{Error, Principal, Subscription};

impl Directory {
    /// Deletes a subscription and its role assignments (operator only). Refused while it
    /// holds a vault (soft-deleted ones included) or an account, so deleting it never orphans
    /// a key or customer data. (Those tables belong to the vault and accounts services; the
    /// check reads them directly because they share this database.)
    pub async fn delete_subscription(
        &self,
        caller: &Principal,
        subscription_id: &str,
    ) -> Result<(), Error> {
        require_operator(caller)?;
        let mut tx = self.db().pool().begin().await?;
        let (vaults, accounts): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM vaults WHERE subscription_id = ?1), \
                    (SELECT count(*) FROM accounts WHERE subscription_id = ?1)",
        )
        .bind(subscription_id)
        .fetch_one(&mut *tx)
        .await?;
        if vaults + accounts > 0 {
            return Err(Error::InUse(format!(
                "subscription '{subscription_id}' still holds {vaults} vault(s) and {accounts} account(s): \
                 delete (and purge) them first"
            )));
        }
        let done = sqlx::query("DELETE FROM subscriptions WHERE id = ?")
            .bind(subscription_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("subscription '{subscription_id}'")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a tenant and its principals (operator only). Refused for the operator's own
    /// tenant and while the tenant has subscriptions.
    pub async fn delete_tenant(&self, caller: &Principal, tenant_id: &str) -> Result<(), Error> {
        require_operator(caller)?;
        if caller.tenant_id == tenant_id {
            return Err(Error::Forbidden(
                "the operator's own tenant cannot be deleted".into(),
            ));
        }
        let mut tx = self.db().pool().begin().await?;
        let (subscriptions,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM subscriptions WHERE tenant_id = ?")
                .bind(tenant_id)
                .fetch_one(&mut *tx)
                .await?;
        if subscriptions > 0 {
            return Err(Error::InUse(format!(
                "tenant '{tenant_id}' still has {subscriptions} subscription(s): delete them first"
            )));
        }
        let principals: Vec<(String,)> =
            sqlx::query_as("SELECT object_id FROM principals WHERE tenant_id = ?")
                .bind(tenant_id)
                .fetch_all(&mut *tx)
                .await?;
        let done = sqlx::query("DELETE FROM tenants WHERE id = ?")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("tenant '{tenant_id}'")));
        }
        tx.commit().await?;
        for (object_id,) in principals {
            let _ = self
                .inner
                .events
                .send(DirectoryEvent::PrincipalDisabled { object_id });
        }
        Ok(())
    }

    /// Moves a subscription to another tenant (Azure's "change directory"). As in Azure,
    /// its role assignments are removed and its accounts' system-assigned identities are
    /// deleted (they belong to the old tenant; re-enable them after the move). Refused while an
    /// account in it uses a customer-managed key: the key's vault and the identity that may
    /// unwrap with it stay in the old tenant, so the account would lose its data — unlike the
    /// documented Azure behaviour, which lets that happen.
    pub async fn move_subscription(
        &self,
        caller: &Principal,
        subscription_id: &str,
        new_tenant: &str,
    ) -> Result<Subscription, Error> {
        require_operator(caller)?;
        self.tenant(new_tenant)
            .await?
            .ok_or_else(|| Error::NotFound(format!("tenant '{new_tenant}'")))?;
        let mut tx = self.db().pool().begin().await?;
        let cmk: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM accounts WHERE subscription_id = ? AND key_source = 'Microsoft.KeyVault' ORDER BY name",
        )
        .bind(subscription_id)
        .fetch_all(&mut *tx)
        .await?;
        if !cmk.is_empty() {
            let names: Vec<String> = cmk.into_iter().map(|(n,)| n).collect();
            return Err(Error::InUse(format!(
                "subscription '{subscription_id}' has accounts encrypted with customer-managed keys ({}): \
                 moving it to another tenant would cut them off from their key vault and lock their data. \
                 Switch them to Microsoft-managed keys first (atrest account encryption set NAME --microsoft-managed), \
                 move the subscription, then set up customer-managed keys again in the new tenant",
                names.join(", ")
            )));
        }
        let identities: Vec<(String,)> = sqlx::query_as(
            "SELECT identity_principal FROM accounts WHERE subscription_id = ? AND identity_principal IS NOT NULL",
        )
        .bind(subscription_id)
        .fetch_all(&mut *tx)
        .await?;
        let done = sqlx::query("UPDATE subscriptions SET tenant_id = ? WHERE id = ?")
            .bind(new_tenant)
            .bind(subscription_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("subscription '{subscription_id}'")));
        }
        sqlx::query(
            "UPDATE accounts SET tenant_id = ?, identity_principal = NULL, identity_client = NULL \
             WHERE subscription_id = ?",
        )
        .bind(new_tenant)
        .bind(subscription_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM role_assignments WHERE subscription_id = ?")
            .bind(subscription_id)
            .execute(&mut *tx)
            .await?;
        for (object_id,) in &identities {
            sqlx::query("DELETE FROM principals WHERE object_id = ? AND kind = 'managedIdentity'")
                .bind(object_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        for (object_id,) in identities {
            let _ = self
                .inner
                .events
                .send(DirectoryEvent::PrincipalDisabled { object_id });
        }
        self.subscription(subscription_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("subscription '{subscription_id}'")))
    }
}
