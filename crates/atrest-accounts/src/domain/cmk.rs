//! Changing an account: SKU, tags, identity, key-loss behaviour and — the heart of it — its
//! encryption: enabling CMK, choosing another key, version or vault, and switching back to
//! MMK. Every encryption change is one rewrap of the account key (O(1) in the data), validated
//! with a real wrap/unwrap round trip first, committed in one guarded transaction, audited.

use atrest_crypto::SecretKey;
use atrest_identity::Principal;

use super::manage::{AccountPatch, EncryptionSpec, IdentityType};
use super::Accounts;
use crate::error::{CmkError, Error};
use crate::keys::{split_key_uri, KeyInfo, KeyRef, ProviderError};
use crate::model::{Account, CmkSettings, Encryption, KeyState, KEY_SOURCE_CMK, KEY_SOURCE_MMK};
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
                Ok(repo::by_id(self.pool(), &updated.id)
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
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        if !repo::save(&mut tx, &next, account.updated, wrapped.as_ref()).await? {
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
            self.inner.cache.put(&before.id, (*ak).clone());
            return Ok((
                Encryption::Platform,
                Some(Wrapped {
                    bytes,
                    mmk_version: Some(version),
                    cmk_version: None,
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
        self.inner.cache.put(&before.id, (*ak).clone());
        Ok((
            Encryption::Customer(settings),
            Some(Wrapped {
                bytes,
                mmk_version: None,
                cmk_version: Some(info.version),
            }),
        ))
    }

    /// Every rule for a customer-managed key, then a real wrap/unwrap round trip by the
    /// account's identity. Returns the pinned key, its facts and the wrapped account key.
    async fn validate_cmk(
        &self,
        account: &Account,
        settings: &CmkSettings,
        identity: &Principal,
        ak: &SecretKey,
    ) -> Result<(KeyRef, KeyInfo, Vec<u8>), Error> {
        if account.location == "global" {
            return Err(CmkError::GlobalRegion.into());
        }
        self.check_sku_cmk(&account.sku)?;
        if self.inner.config.require_cmk_approval {
            let approved = self
                .inner
                .directory
                .subscription(&account.subscription_id)
                .await?
                .is_some_and(|s| s.cmk_approved);
            if !approved {
                return Err(CmkError::NotApproved {
                    subscription: account.subscription_id.clone(),
                }
                .into());
            }
        }
        let (provider, vault) = self.inner.providers.resolve(&settings.key_vault_uri)?;
        let label = vault.label();
        let vault_info = provider
            .vault_info(&vault)
            .await
            .map_err(|e| cmk_failure(e, &label, settings, identity, account))?;
        if let Some(tenant) = &vault_info.tenant_id {
            if !tenant.eq_ignore_ascii_case(&account.tenant_id) {
                return Err(CmkError::VaultTenant {
                    vault: label,
                    vault_tenant: tenant.clone(),
                    account_tenant: account.tenant_id.clone(),
                }
                .into());
            }
        }
        if let Some(location) = &vault_info.location {
            if *location != account.location {
                return Err(CmkError::VaultRegion {
                    vault: label,
                    vault_location: location.clone(),
                    account_location: account.location.clone(),
                }
                .into());
            }
        }
        let mut key = KeyRef {
            vault,
            name: settings.key_name.clone(),
            version: settings.key_version.clone(),
        };
        let info = provider
            .get_key(identity, &key)
            .await
            .map_err(|e| cmk_failure(e, &label, settings, identity, account))?;
        let level = info.recovery_level.as_str();
        if !vault_info
            .soft_delete
            .unwrap_or(level.contains("Recoverable"))
        {
            return Err(CmkError::SoftDeleteOff { vault: label }.into());
        }
        if !vault_info
            .purge_protection
            .unwrap_or(!level.contains("Purgeable"))
        {
            return Err(CmkError::PurgeProtectionOff { vault: label }.into());
        }
        let key_label = settings.key_id();
        if info.kty != "RSA" && info.kty != "RSA-HSM" {
            return Err(CmkError::KeyNotRsa {
                key: key_label,
                kty: info.kty,
            }
            .into());
        }
        if !info.enabled {
            return Err(CmkError::KeyDisabled {
                vault: label,
                key: key_label,
            }
            .into());
        }
        if info.exp.is_some_and(|exp| exp <= self.now()) {
            return Err(CmkError::KeyExpired {
                vault: label,
                key: key_label,
            }
            .into());
        }
        for op in ["wrapKey", "unwrapKey"] {
            if !info.key_ops.iter().any(|o| o == op) {
                return Err(CmkError::KeyOps { key: key_label, op }.into());
            }
        }
        let sizes = &self.inner.config.rsa_key_sizes;
        if !sizes.contains(&info.bits) {
            let allowed = sizes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or ");
            return Err(CmkError::KeySize {
                key: key_label,
                bits: info.bits,
                allowed,
            }
            .into());
        }
        key.version = Some(info.version.clone());
        let wrapped = provider
            .wrap(identity, &key, ak)
            .await
            .map_err(|e| cmk_failure(e, &label, settings, identity, account))?;
        let back = provider
            .unwrap(identity, &key, &wrapped)
            .await
            .map_err(|e| cmk_failure(e, &label, settings, identity, account))?;
        if back != *ak {
            return Err(CmkError::RoundTrip { key: key_label }.into());
        }
        Ok((key, info, wrapped))
    }

    fn check_sku_exists(&self, sku: &str) -> Result<(), Error> {
        self.inner
            .config
            .sku_allows_cmk(sku)
            .map(|_| ())
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "sku '{sku}' is not offered; use one of: {}",
                    self.inner
                        .config
                        .skus
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    fn check_sku_cmk(&self, sku: &str) -> Result<(), Error> {
        if self.inner.config.sku_allows_cmk(sku) == Some(true) {
            Ok(())
        } else {
            Err(CmkError::SkuNoCmk {
                sku: sku.to_owned(),
                allowed: self.inner.config.cmk_skus(),
            }
            .into())
        }
    }
}

/// Normalizes `keyVaultProperties`: a key URI in `keyVaultUri` supplies name and version.
fn parse_settings(spec: &EncryptionSpec) -> Result<CmkSettings, Error> {
    let kv = spec.key_vault.clone().unwrap_or_default();
    let uri = kv.key_vault_uri.filter(|u| !u.is_empty()).ok_or_else(|| {
        CmkError::BadKeyReference("keyVaultProperties.keyVaultUri is required".into())
    })?;
    let (vault_uri, uri_name, uri_version) = split_key_uri(&uri)?;
    let key_name = kv
        .key_name
        .filter(|n| !n.is_empty())
        .or(uri_name)
        .ok_or_else(|| {
            CmkError::BadKeyReference(
                "keyVaultProperties.keyName is required (or give a key URI)".into(),
            )
        })?;
    if !atrest_vault::valid_key_name(&key_name) {
        return Err(
            CmkError::BadKeyReference(format!("'{key_name}' is not a valid key name")).into(),
        );
    }
    let key_version = kv.key_version.filter(|v| !v.is_empty()).or(uri_version);
    if key_version
        .as_ref()
        .is_some_and(|v| !v.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(CmkError::BadKeyReference("keyVersion must be a key version id".into()).into());
    }
    Ok(CmkSettings {
        key_vault_uri: vault_uri,
        key_name,
        key_version,
        identity_client_id: kv.identity_client_id.filter(|c| !c.is_empty()),
    })
}

/// Maps a vault refusal during validation to the message that says what to do.
pub(super) fn cmk_failure(
    err: ProviderError,
    vault: &str,
    settings: &CmkSettings,
    identity: &Principal,
    account: &Account,
) -> Error {
    let key = settings.key_id();
    match err {
        ProviderError::Forbidden { permission } => CmkError::AccessDenied {
            vault: vault.to_owned(),
            principal_id: identity.object_id.clone(),
            permission,
            hint: new_principal_hint(account, identity),
        }
        .into(),
        ProviderError::VaultNotFound => CmkError::VaultNotFound {
            vault: vault.to_owned(),
        }
        .into(),
        ProviderError::KeyNotFound => CmkError::KeyNotFound {
            vault: vault.to_owned(),
            key,
        }
        .into(),
        ProviderError::KeyDisabled => CmkError::KeyDisabled {
            vault: vault.to_owned(),
            key,
        }
        .into(),
        ProviderError::Invalid(m) => CmkError::BadKeyReference(m).into(),
        ProviderError::Transient(m) => Error::VaultUnreachable(m),
    }
}

/// When the identity was re-created, the old access policy names the old principal id.
pub(super) fn new_principal_hint(account: &Account, identity: &Principal) -> String {
    match &account.cmk_principal {
        Some(old) if *old != identity.object_id => format!(
            " — the identity was disabled and enabled again, so it has a new principal id '{}' (it was '{old}'): access has to be granted again to the new principal id",
            identity.object_id
        ),
        _ => String::new(),
    }
}
