//! Changing an account: SKU, tags, identity, key-loss behaviour and — the heart of it — its
//! encryption: enabling CMK, choosing another key, version or vault, and switching back to
//! MMK. Every encryption change is one rewrap of the account key (O(1) in the data), validated
//! with a real wrap/unwrap round trip first, committed in one guarded transaction, audited.

use atrest_identity::Principal;

use super::spec::{AccountPatch, EncryptionSpec, IdentityType};
use super::validate::parse_settings;
use super::Accounts;
use crate::error::{CmkError, Error};

use crate::model::{Account, Encryption, KeyState, KEY_SOURCE_CMK, KEY_SOURCE_MMK};
use crate::repo::{self, Wrapped};

impl Accounts {
    /// Applies a patch atomically. A managed identity this call creates is removed again if
    /// the change fails, so a failure leaves the account exactly as it was.
    pub(super) async fn apply_patch(
        &self,
        caller: &Principal,
        account: Account,
        patch: AccountPatch,
    ) -> Result<Account, Error> {
        let mut created_identity: Option<String> = None;
        let result = self
            .apply_patch_inner(&account, patch, &mut created_identity)
            .await;
        match result {
            Ok((updated, retired_identity, encryption_changed)) => {
                if let Some(oid) = retired_identity {
                    self.inner.directory.delete_managed_identity(&oid).await?;
                }
                let op = if encryption_changed {
                    "EncryptionChange"
                } else {
                    "AccountUpdate"
                };
                let detail = updated.cmk().map(|c| format!("key {}", c.key_id()));
                self.audit(&updated, &caller.object_id, op, Ok(()), detail)
                    .await?;
                if updated.cmk().is_some() && updated.identity != account.identity {
                    // The identity changed under a CMK account: find out now what it may do.
                    let _ = self.revalidate(&updated.id).await;
                }
                Ok(repo::by_id(self.store(), &updated.id)
                    .await?
                    .unwrap_or(updated))
            }
            Err(err) => {
                if let Some(oid) = created_identity {
                    let _ = self.inner.directory.delete_managed_identity(&oid).await;
                }
                self.audit(
                    &account,
                    &caller.object_id,
                    "AccountUpdate",
                    Err(&err),
                    None,
                )
                .await?;
                Err(err)
            }
        }
    }

    /// Returns the saved account, an identity to delete after commit, and whether the
    /// encryption changed.
    async fn apply_patch_inner(
        &self,
        account: &Account,
        patch: AccountPatch,
        created_identity: &mut Option<String>,
    ) -> Result<(Account, Option<String>, bool), Error> {
        let mut next = account.clone();
        if let Some(sku) = &patch.sku {
            self.check_sku_exists(sku)?;
            next.sku = sku.to_ascii_uppercase();
        }
        if let Some(tags) = patch.tags {
            next.tags = tags;
        }
        if let Some(mode) = patch.on_key_loss {
            next.on_key_loss = mode;
        }
        if patch
            .infrastructure_encryption
            .is_some_and(|wanted| wanted != account.infrastructure_encryption)
        {
            return Err(Error::BadRequest(format!(
                "requireInfrastructureEncryption is chosen when an account is created and cannot be changed \
                 ('{}' has it {}); create a new account to change it",
                account.name,
                if account.infrastructure_encryption { "on" } else { "off" }
            )));
        }
        if let Some(ids) = &patch.user_owned_storage {
            next.user_owned_storage = self.check_user_storage(&next, ids).await?;
        }
        let wants_cmk = match &patch.encryption {
            Some(e) => e.key_source.eq_ignore_ascii_case(KEY_SOURCE_CMK),
            None => account.cmk().is_some(),
        };
        if let Some(e) = &patch.encryption {
            if !wants_cmk && !e.key_source.eq_ignore_ascii_case(KEY_SOURCE_MMK) {
                return Err(Error::BadRequest(format!(
                    "keySource '{}' is not valid: use {KEY_SOURCE_MMK} or {KEY_SOURCE_CMK}",
                    e.key_source
                )));
            }
        }
        let mut retired = None;
        match patch.identity {
            Some(IdentityType::None) if patch.encryption.is_some() && wants_cmk => {
                return Err(CmkError::IdentityRequired.into());
            }
            Some(IdentityType::None) => {
                retired = next.identity.take().map(|(oid, _)| oid);
            }
            Some(IdentityType::SystemAssigned) => {}
            None => {}
        }
        let needs_identity = patch.identity == Some(IdentityType::SystemAssigned)
            || (patch.encryption.is_some() && wants_cmk);
        if needs_identity && next.identity.is_none() {
            let mi = self
                .inner
                .directory
                .create_managed_identity(&account.tenant_id, &account.resource_id())
                .await?;
            *created_identity = Some(mi.object_id.clone());
            next.identity = Some((mi.object_id, mi.client_id));
        }
        let mut wrapped = None;
        let mut encryption_changed = false;
        if let Some(spec) = &patch.encryption {
            let (encryption, w) = self
                .new_encryption(account, &mut next, spec, wants_cmk)
                .await?;
            encryption_changed = encryption != account.encryption || w.is_some();
            next.encryption = encryption;
            wrapped = w;
        }
        if patch.sku.is_some() && next.cmk().is_some() {
            self.check_sku_cmk(&next.sku)?;
        }
        next.updated = self.now().max(account.updated + 1);
        let mut tx = self.inner.db.begin_write().await?;
        if !repo::save(
            self.store(),
            &mut tx,
            &next,
            account.updated,
            wrapped.as_ref(),
        )
        .await?
        {
            return Err(Error::Concurrent(account.name.clone()));
        }
        tx.commit().await?;
        Ok((next, retired, encryption_changed))
    }

    /// Works out the new encryption settings and, when they change, the rewrapped key. Also
    /// updates `next`'s CMK bookkeeping.
    async fn new_encryption(
        &self,
        before: &Account,
        next: &mut Account,
        spec: &EncryptionSpec,
        wants_cmk: bool,
    ) -> Result<(Encryption, Option<Wrapped>), Error> {
        if !wants_cmk {
            if before.cmk().is_none() {
                return Ok((Encryption::Platform, None));
            }
            let ak = self.data_key(before).await?;
            let (version, bytes) = self.inner.ring.wrap(&ak, &before.id)?;
            next.key_vault_name = None;
            next.cmk_wrapped_version = None;
            next.cmk_principal = None;
            next.mmk_version = Some(version);
            next.key_warning = None;
            self.inner.cache.put(&before.id, (**ak).clone());
            return Ok((
                Encryption::Platform,
                Some(Wrapped {
                    wrapped_ak: bytes,
                    mmk_version: Some(version),
                    cmk_wrapped_version: None,
                }),
            ));
        }
        let settings = parse_settings(spec)?;
        if let Some(Encryption::Customer(current)) = Some(&before.encryption) {
            if *current == settings
                && before.identity == next.identity
                && before.key_state == KeyState::Active
            {
                return Ok((before.encryption.clone(), None));
            }
        }
        let (principal_id, _) = next.identity.clone().ok_or(CmkError::IdentityRequired)?;
        let identity = self
            .inner
            .directory
            .principal(&principal_id)
            .await?
            .ok_or(CmkError::IdentityRequired)?;
        let ak = self.data_key(before).await?;
        let (key, info, bytes) = self.validate_cmk(next, &settings, &identity, &ak).await?;
        next.key_vault_name = key.vault.name;
        next.cmk_wrapped_version = Some(info.version.clone());
        next.cmk_principal = Some(identity.object_id.clone());
        next.mmk_version = None;
        next.key_state = KeyState::Active;
        next.key_state_reason = None;
        next.key_state_since = None;
        next.key_warning = None;
        self.inner.cache.put(&before.id, (**ak).clone());
        Ok((
            Encryption::Customer(settings),
            Some(Wrapped {
                wrapped_ak: bytes,
                mmk_version: None,
                cmk_wrapped_version: Some(info.version),
            }),
        ))
    }
}
