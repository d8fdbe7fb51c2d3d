//! Validation of a customer-managed key before it is saved: every rule from the service
//! documentation, each failure a distinct error that says what to do, then a real wrap/unwrap
//! round trip by the account's identity.

use atrest_crypto::SecretKey;
use atrest_identity::Principal;

use super::spec::EncryptionSpec;
use super::Accounts;
use crate::error::{CmkError, Error};
use crate::keys::{split_key_uri, KeyInfo, KeyRef, ProviderError};
use crate::model::{Account, CmkSettings};

impl Accounts {
    /// Every rule for a customer-managed key, then a real wrap/unwrap round trip by the
    /// account's identity. Returns the pinned key, its facts and the wrapped account key.
    pub(super) async fn validate_cmk(
        &self,
        account: &Account,
        settings: &CmkSettings,
        identity: &Principal,
        ak: &SecretKey,
    ) -> Result<(KeyRef, KeyInfo, Vec<u8>), Error> {
        if account.location == "global" {
            return Err(CmkError::GlobalRegion.into());
        }
        if let Some(client_id) = &settings.identity_client_id {
            if !client_id.eq_ignore_ascii_case(&identity.client_id) {
                return Err(CmkError::BadKeyReference(format!(
                    "identityClientId '{client_id}' is not this account's system-assigned identity (client id '{}'); only the system-assigned identity can reach the key: omit identityClientId or give that client id",
                    identity.client_id
                ))
                .into());
            }
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

    pub(super) fn check_sku_exists(&self, sku: &str) -> Result<(), Error> {
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

    pub(super) fn check_sku_cmk(&self, sku: &str) -> Result<(), Error> {
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
pub(super) fn parse_settings(spec: &EncryptionSpec) -> Result<CmkSettings, Error> {
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
        ProviderError::Invalid(m) | ProviderError::OperationNotPermitted(m) => {
            CmkError::BadKeyReference(m).into()
        }
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
