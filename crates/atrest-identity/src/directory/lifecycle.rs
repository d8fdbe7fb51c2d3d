//! Removing and moving directory objects (operator only): deleting tenants and
//! subscriptions, and moving a subscription to another tenant. Each refuses while it would
//! orphan or silently break something, and says what to do first.

use atrest_store::directory::SubscriptionHoldings;

use super::{require_operator, Directory, DirectoryEvent};
use crate::{Error, Principal, Subscription};

impl Directory {
    /// Deletes a subscription and its role assignments (operator only). Refused while it
    /// holds a vault (soft-deleted ones included) or an account, so deleting it never orphans
    /// a key or customer data. (Those tables belong to the vault and accounts services; the
    /// directory store reads them directly because they share this database.)
    pub async fn delete_subscription(
        &self,
        caller: &Principal,
        subscription_id: &str,
    ) -> Result<(), Error> {
        require_operator(caller)?;
        let mut tx = self.db().begin_write().await?;
        let SubscriptionHoldings { vaults, accounts } = self
            .store()
            .subscription_holdings(&mut tx, subscription_id)
            .await?;
        if vaults + accounts > 0 {
            return Err(Error::InUse(format!(
                "subscription '{subscription_id}' still holds {vaults} vault(s) and {accounts} account(s): \
                 delete (and purge) them first"
            )));
        }
        if !self
            .store()
            .delete_subscription(&mut tx, subscription_id)
            .await?
        {
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
        let mut tx = self.db().begin_write().await?;
        let subscriptions = self
            .store()
            .subscription_count_of_tenant(&mut tx, tenant_id)
            .await?;
        if subscriptions > 0 {
            return Err(Error::InUse(format!(
                "tenant '{tenant_id}' still has {subscriptions} subscription(s): delete them first"
            )));
        }
        let principals = self
            .store()
            .principal_ids_of_tenant(&mut tx, tenant_id)
            .await?;
        if !self.store().delete_tenant(&mut tx, tenant_id).await? {
            return Err(Error::NotFound(format!("tenant '{tenant_id}'")));
        }
        tx.commit().await?;
        self.principals_changed();
        for object_id in principals {
            let _ = self
                .inner
                .events
                .send(DirectoryEvent::PrincipalDisabled { object_id });
        }
        Ok(())
    }

    /// Moves a subscription to another tenant (Azure's "change directory"). As in Azure, its
    /// role assignments are removed; its vaults keep their `tenantId` (the owner updates it).
    /// Refused while it holds accounts: an account using a customer-managed key would be cut
    /// off from its vault and identity (the documented Azure behaviour, which atrest refuses),
    /// and every account's stored objects are bound to its tenant (docs/FORMAT.md, object
    /// context), so moving them would make them unreadable.
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
        let mut tx = self.db().begin_write().await?;
        let accounts = self
            .store()
            .account_key_sources(&mut tx, subscription_id)
            .await?;
        let cmk: Vec<&str> = accounts
            .iter()
            .filter(|a| a.key_source == "Microsoft.KeyVault")
            .map(|a| a.name.as_str())
            .collect();
        if !cmk.is_empty() {
            return Err(Error::InUse(format!(
                "subscription '{subscription_id}' has accounts encrypted with customer-managed keys ({}): \
                 moving it to another tenant would cut them off from their key vault and lock their data. \
                 Switch them to Microsoft-managed keys first (atrest account encryption set NAME --microsoft-managed)",
                cmk.join(", ")
            )));
        }
        if !accounts.is_empty() {
            let names: Vec<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
            return Err(Error::InUse(format!(
                "subscription '{subscription_id}' holds accounts ({}) whose stored data is bound to its tenant: \
                 atrest cannot move them to another tenant; delete them (or keep the subscription where it is)",
                names.join(", ")
            )));
        }
        if !self
            .store()
            .set_subscription_tenant(&mut tx, subscription_id, new_tenant)
            .await?
        {
            return Err(Error::NotFound(format!("subscription '{subscription_id}'")));
        }
        self.store()
            .delete_role_assignments_of_subscription(&mut tx, subscription_id)
            .await?;
        tx.commit().await?;
        self.subscription(subscription_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("subscription '{subscription_id}'")))
    }
}
