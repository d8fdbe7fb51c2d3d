//! ARM wire models for `Microsoft.KeyVault/vaults`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ApiError;
use crate::domain::{CreateMode, VaultPatch, VaultSpec};
use crate::model::{AccessPolicy, Vault};
use crate::parse_key_permissions;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PermissionsIn {
    keys: Vec<String>,
    secrets: Vec<String>,
    certificates: Vec<String>,
    storage: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyIn {
    tenant_id: String,
    object_id: String,
    application_id: Option<String>,
    #[serde(default)]
    permissions: PermissionsIn,
}

#[derive(Deserialize)]
pub(crate) struct SkuIn {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PropertiesIn {
    tenant_id: Option<String>,
    sku: Option<SkuIn>,
    access_policies: Option<Vec<PolicyIn>>,
    enable_soft_delete: Option<bool>,
    soft_delete_retention_in_days: Option<i64>,
    enable_purge_protection: Option<bool>,
    enable_rbac_authorization: Option<bool>,
    create_mode: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct VaultPutBody {
    location: String,
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    properties: PropertiesIn,
}

#[derive(Deserialize, Default)]
pub(crate) struct VaultPatchBody {
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    properties: PropertiesIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyPropertiesIn {
    pub(crate) access_policies: Vec<PolicyIn>,
}

#[derive(Deserialize)]
pub(crate) struct AccessPolicyBody {
    pub(crate) properties: PolicyPropertiesIn,
}

impl VaultPutBody {
    pub(crate) fn into_domain(self) -> Result<VaultSpec, ApiError> {
        let p = self.properties;
        check_rbac(p.enable_rbac_authorization)?;
        let create_mode = match p
            .create_mode
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("default") => CreateMode::Default,
            Some("recover") => CreateMode::Recover,
            Some(other) => {
                return Err(ApiError::bad(format!(
                    "Unknown createMode '{other}': use default or recover"
                )))
            }
        };
        Ok(VaultSpec {
            location: self.location,
            tenant_id: p.tenant_id,
            sku: p.sku.map(|s| s.name),
            soft_delete: p.enable_soft_delete,
            retention_days: p.soft_delete_retention_in_days,
            purge_protection: p.enable_purge_protection,
            access_policies: p.access_policies.map(policies).transpose()?,
            tags: self.tags,
            create_mode,
        })
    }
}

impl VaultPatchBody {
    pub(crate) fn into_domain(self) -> Result<VaultPatch, ApiError> {
        let p = self.properties;
        check_rbac(p.enable_rbac_authorization)?;
        Ok(VaultPatch {
            sku: p.sku.map(|s| s.name),
            soft_delete: p.enable_soft_delete,
            retention_days: p.soft_delete_retention_in_days,
            purge_protection: p.enable_purge_protection,
            access_policies: p.access_policies.map(policies).transpose()?,
            tags: self.tags,
        })
    }
}

fn check_rbac(rbac: Option<bool>) -> Result<(), ApiError> {
    if rbac == Some(true) {
        return Err(ApiError::bad(
            "enableRbacAuthorization is not supported: atrest vaults use access policies",
        ));
    }
    Ok(())
}

pub(crate) fn policies(input: Vec<PolicyIn>) -> Result<Vec<AccessPolicy>, ApiError> {
    input
        .into_iter()
        .map(|p| {
            Ok(AccessPolicy {
                tenant_id: p.tenant_id,
                object_id: p.object_id,
                application_id: p.application_id,
                keys: parse_key_permissions(&p.permissions.keys)?,
                secrets: p.permissions.secrets,
                certificates: p.permissions.certificates,
                storage: p.permissions.storage,
            })
        })
        .collect()
}

pub(crate) fn policies_json(policies: &[AccessPolicy]) -> Value {
    Value::Array(
        policies
            .iter()
            .map(|p| {
                let mut entry = json!({
                    "tenantId": p.tenant_id,
                    "objectId": p.object_id,
                    "permissions": {
                        "keys": p.keys.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                        "secrets": p.secrets,
                        "certificates": p.certificates,
                        "storage": p.storage,
                    },
                });
                if let Some(app) = &p.application_id {
                    entry["applicationId"] = json!(app);
                }
                entry
            })
            .collect(),
    )
}

pub(crate) fn vault_json(vault: &Vault, vault_uri: &str) -> Value {
    json!({
        "id": vault.resource_id(),
        "name": vault.name,
        "type": "Microsoft.KeyVault/vaults",
        "location": vault.location,
        "tags": vault.tags,
        "properties": {
            "tenantId": vault.tenant_id,
            "sku": { "family": "A", "name": vault.sku },
            "accessPolicies": policies_json(&vault.access_policies),
            "vaultUri": vault_uri,
            "enabledForDeployment": false,
            "enabledForDiskEncryption": false,
            "enabledForTemplateDeployment": false,
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": vault.retention_days,
            "enablePurgeProtection": vault.purge_protection,
            "enableRbacAuthorization": false,
            "publicNetworkAccess": "Enabled",
            "provisioningState": "Succeeded",
        },
        "systemData": {
            "createdAt": rfc3339(vault.created),
            "lastModifiedAt": rfc3339(vault.updated),
        },
    })
}

pub(crate) fn deleted_vault_json(vault: &Vault) -> Value {
    json!({
        "id": format!(
            "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}",
            vault.subscription_id, vault.location, vault.name
        ),
        "name": vault.name,
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": vault.resource_id(),
            "location": vault.location,
            "deletionDate": vault.deleted_at.map(rfc3339),
            "scheduledPurgeDate": vault.scheduled_purge.map(rfc3339),
            "tags": vault.tags,
            "purgeProtectionEnabled": vault.purge_protection,
        },
    })
}

#[derive(Serialize)]
pub(crate) struct ListWire {
    pub(crate) value: Vec<Value>,
    #[serde(rename = "nextLink")]
    pub(crate) next_link: Option<String>,
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
