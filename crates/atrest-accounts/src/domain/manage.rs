//! Account management (the ARM `Microsoft.CognitiveServices/accounts` resource): create,
//! read, update, list, delete (crypto-shred), and the data-plane API keys.

use atrest_crypto::SecretKey;
use atrest_identity::{Principal, Role};

use super::spec::{AccountPatch, AccountSpec, IdentityType};
use super::Accounts;
use crate::config::normalize_location;
use crate::error::Error;
use crate::model::{
    valid_account_name, Account, Encryption, KeyState, OnKeyLoss, KEY_SOURCE_CMK, KINDS,
};
use crate::repo::{self, Wrapped};

pub(super) fn scope(sub: &str, group: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/{name}")
}

impl Accounts {
    /// Creates an account (always on platform-managed keys) or updates an existing one.
    /// Returns the account and whether it was created.
    pub async fn put_account(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
        name: &str,
        spec: AccountSpec,
    ) -> Result<(Account, bool), Error> {
        let subscription = self
            .authorize_mgmt(
                caller,
                sub,
                write_role(spec.user_owned_storage.as_ref()),
                "Microsoft.CognitiveServices/accounts/write",
                scope(sub, group, name),
            )
            .await?;
        if let Some(existing) = repo::by_name(self.store(), name).await? {
            if !existing.subscription_id.eq_ignore_ascii_case(sub)
                || !existing.resource_group.eq_ignore_ascii_case(group)
            {
                return Err(Error::Conflict {
                    what: "account name",
                    name: name.to_owned(),
                });
            }
            if normalize_location(&spec.location) != existing.location || spec.kind != existing.kind
            {
                return Err(Error::BadRequest(format!(
                    "the location ('{}') and kind ('{}') of account '{name}' cannot be changed",
                    existing.location, existing.kind
                )));
            }
            let patch = AccountPatch {
                sku: Some(spec.sku),
                tags: spec.tags,
                identity: spec.identity,
                encryption: spec.encryption,
                on_key_loss: spec.on_key_loss,
                user_owned_storage: spec.user_owned_storage,
                infrastructure_encryption: spec.infrastructure_encryption,
            };
            return self
                .apply_patch(caller, existing, patch)
                .await
                .map(|a| (a, false));
        }
        if !valid_account_name(name) {
            return Err(Error::BadRequest(format!(
                "account name '{name}' is invalid: use 2-64 letters, digits and hyphens, starting and ending with a letter or digit"
            )));
        }
        let location = normalize_location(&spec.location);
        if location.is_empty() || !location.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::BadRequest(
                "location is required, e.g. westeurope".into(),
            ));
        }
        let regions = &self.inner.config.regions;
        if !regions.is_empty() && !regions.contains(&location) && location != "global" {
            return Err(Error::BadRequest(format!(
                "region '{location}' is not offered here; use one of: {}",
                regions.join(", ")
            )));
        }
        if !KINDS.contains(&spec.kind.as_str()) {
            return Err(Error::BadRequest(format!(
                "kind '{}' is not supported; use one of: {}",
                spec.kind,
                KINDS.join(", ")
            )));
        }
        self.check_sku(&spec.sku)?;
        if spec.encryption.as_ref().is_some_and(|e| {
            e.key_source.eq_ignore_ascii_case(KEY_SOURCE_CMK) || e.key_vault.is_some()
        }) {
            return Err(Error::CmkOnCreate);
        }
        let now = self.now();
        let mut account = Account {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            subscription_id: subscription.subscription_id.clone(),
            resource_group: group.to_owned(),
            tenant_id: subscription.tenant_id.clone(),
            location,
            kind: spec.kind,
            sku: spec.sku.to_ascii_uppercase(),
            tags: spec.tags.unwrap_or_default(),
            identity: None,
            encryption: Encryption::Platform,
            key_vault_name: None,
            cmk_wrapped_version: None,
            cmk_principal: None,
            mmk_version: None,
            key_state: KeyState::Active,
            key_state_reason: None,
            key_state_since: None,
            key_warning: None,
            on_key_loss: spec.on_key_loss.unwrap_or(OnKeyLoss::Block),
            data_deleted_at: None,
            user_owned_storage: None,
            infrastructure_encryption: spec.infrastructure_encryption.unwrap_or(false),
            created: now,
            updated: now,
        };
        if let Some(ids) = &spec.user_owned_storage {
            account.user_owned_storage = self.check_user_storage(&account, ids).await?;
        }
        let ak = SecretKey::generate()?;
        let (version, bytes) = self.inner.ring.wrap(&ak, &account.id)?;
        account.mmk_version = Some(version);
        let wrapped = Wrapped {
            wrapped_ak: bytes,
            mmk_version: Some(version),
            cmk_wrapped_version: None,
        };
        if spec.identity == Some(IdentityType::SystemAssigned) {
            let mi = self
                .inner
                .directory
                .create_managed_identity(&account.tenant_id, &account.resource_id())
                .await?;
            account.identity = Some((mi.object_id, mi.client_id));
        }
        let (h1, h2) = (self.new_key_hash()?, self.new_key_hash()?);
        let inserted = async {
            let mut tx = self.inner.db.begin_write().await?;
            repo::insert(self.store(), &mut tx, &account, &wrapped, (&h1, &h2)).await?;
            tx.commit().await?;
            Ok::<(), Error>(())
        }
        .await;
        if let Err(err) = inserted {
            if let Some((oid, _)) = &account.identity {
                let _ = self.inner.directory.delete_managed_identity(oid).await;
            }
            return Err(if repo::by_name(self.store(), name).await?.is_some() {
                Error::Conflict {
                    what: "account name",
                    name: name.to_owned(),
                }
            } else {
                err
            });
        }
        self.inner.cache.put(&account.id, ak);
        self.audit(&account, &caller.object_id, "AccountCreate", Ok(()), None)
            .await?;
        Ok((account, true))
    }

    /// Reads an account.
    pub async fn get_account(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
        name: &str,
    ) -> Result<Account, Error> {
        self.authorize_mgmt(
            caller,
            sub,
            Role::Reader,
            "Microsoft.CognitiveServices/accounts/read",
            scope(sub, group, name),
        )
        .await?;
        self.account_in_group(sub, group, name).await
    }

    /// Lists the accounts of a resource group.
    pub async fn list_accounts(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
    ) -> Result<Vec<Account>, Error> {
        self.authorize_mgmt(
            caller,
            sub,
            Role::Reader,
            "Microsoft.CognitiveServices/accounts/read",
            scope(sub, group, ""),
        )
        .await?;
        repo::in_group(self.store(), sub, group).await
    }

    /// Updates an account.
    pub async fn patch_account(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
        name: &str,
        patch: AccountPatch,
    ) -> Result<Account, Error> {
        self.authorize_mgmt(
            caller,
            sub,
            write_role(patch.user_owned_storage.as_ref()),
            "Microsoft.CognitiveServices/accounts/write",
            scope(sub, group, name),
        )
        .await?;
        let account = self.account_in_group(sub, group, name).await?;
        self.apply_patch(caller, account, patch).await
    }

    /// Deletes an account: destroys the wrapped key first (crypto-shredding everything stored
    /// under it), then the blobs, then its managed identity. Returns whether it existed.
    pub async fn delete_account(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
        name: &str,
    ) -> Result<bool, Error> {
        self.authorize_mgmt(
            caller,
            sub,
            Role::Contributor,
            "Microsoft.CognitiveServices/accounts/delete",
            scope(sub, group, name),
        )
        .await?;
        let Ok(account) = self.account_in_group(sub, group, name).await else {
            return Ok(false);
        };
        let blob_keys = self.store().object_blob_keys(&account.id).await?;
        // Overwrite the wrapped key before deleting the row (and on SQLite zero the freed
        // pages): the account key cannot be recovered from the database afterwards.
        let mut tx = self.inner.db.begin_write().await?;
        self.store().shred_account(&mut tx, &account.id).await?;
        tx.commit().await?;
        self.inner.cache.forget(&account.id);
        self.undeploy_all(&account.id).await;
        for key in blob_keys {
            let _ = self.inner.blobs.delete(&account, &key).await;
        }
        if let Some((oid, _)) = &account.identity {
            self.inner.directory.delete_managed_identity(oid).await?;
        }
        self.audit(
            &account,
            &caller.object_id,
            "AccountDelete",
            Ok(()),
            Some("account key destroyed (crypto-shredded)".into()),
        )
        .await?;
        Ok(true)
    }

    fn check_sku(&self, sku: &str) -> Result<(), Error> {
        match self.inner.config.sku_allows_cmk(sku) {
            Some(_) => Ok(()),
            None => Err(Error::BadRequest(format!(
                "sku '{sku}' is not offered; use one of: {}",
                self.inner
                    .config
                    .skus
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub(super) async fn account_in_group(
        &self,
        sub: &str,
        group: &str,
        name: &str,
    ) -> Result<Account, Error> {
        repo::by_name(self.store(), name)
            .await?
            .filter(|a| {
                a.subscription_id.eq_ignore_ascii_case(sub)
                    && a.resource_group.eq_ignore_ascii_case(group)
            })
            .ok_or_else(|| Error::NotFound {
                what: "account",
                name: name.to_owned(),
            })
    }
}

/// The role an account write needs: Contributor, or Owner when it changes where the account's
/// data is stored (`userOwnedStorage`, as Azure requires for Speech BYOS).
fn write_role(user_owned_storage: Option<&Vec<String>>) -> Role {
    if user_owned_storage.is_some() {
        Role::Owner
    } else {
        Role::Contributor
    }
}
