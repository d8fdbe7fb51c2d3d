//! Vaults and their access policies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::KeyPermission;

/// A vault (the `Microsoft.KeyVault/vaults` resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// Internal id (a UUID), bound into every sealed key.
    pub id: String,
    /// Globally unique name, 3–24 characters.
    pub name: String,
    /// Owning subscription.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    pub location: String,
    /// Directory whose principals may use the vault.
    pub tenant_id: String,
    /// `standard` or `premium`.
    pub sku: String,
    /// Days a deleted key or vault stays recoverable (7–90).
    pub retention_days: i64,
    /// Purge protection: once on, never off; purge refused until the retention elapses.
    pub purge_protection: bool,
    /// Who may do what with keys.
    pub access_policies: Vec<AccessPolicy>,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
    /// When it was soft-deleted, if it was.
    pub deleted_at: Option<i64>,
    /// When a soft-deleted vault is purged.
    pub scheduled_purge: Option<i64>,
}

impl Vault {
    /// The ARM resource id.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// The audit-log resource name.
    pub fn audit_resource(&self) -> String {
        audit_resource(&self.name)
    }

    /// Key Vault's `recoveryLevel` for keys in this vault.
    pub fn recovery_level(&self) -> &'static str {
        match (self.retention_days < 90, self.purge_protection) {
            (false, false) => "Recoverable+Purgeable",
            (false, true) => "Recoverable",
            (true, false) => "CustomizedRecoverable+Purgeable",
            (true, true) => "CustomizedRecoverable",
        }
    }

    /// Whether the principal `(tenant_id, object_id)` holds `permission`.
    pub fn permits(&self, tenant_id: &str, object_id: &str, permission: KeyPermission) -> bool {
        self.policies_for(tenant_id, object_id)
            .any(|policy| policy.keys.contains(&permission))
    }

    /// Whether the principal has any access policy on the vault.
    pub fn has_policy_for(&self, tenant_id: &str, object_id: &str) -> bool {
        self.policies_for(tenant_id, object_id).next().is_some()
    }

    fn policies_for<'a>(
        &'a self,
        tenant_id: &'a str,
        object_id: &'a str,
    ) -> impl Iterator<Item = &'a AccessPolicy> + 'a {
        self.access_policies.iter().filter(move |policy| {
            policy.object_id.eq_ignore_ascii_case(object_id)
                && policy.tenant_id.eq_ignore_ascii_case(tenant_id)
        })
    }
}

/// The audit-log resource name of vault `name`.
pub(crate) fn audit_resource(name: &str) -> String {
    format!("vault/{}", name.to_ascii_lowercase())
}

/// One access policy entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    /// Tenant of the principal.
    pub tenant_id: String,
    /// Object id of the principal.
    pub object_id: String,
    /// Compound identity's application id (kept, not enforced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// Key permissions.
    pub keys: Vec<KeyPermission>,
    /// Secret permissions (kept and echoed; atrest has no secrets API).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Certificate permissions (kept and echoed).
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Storage permissions (kept and echoed).
    #[serde(default)]
    pub storage: Vec<String>,
}

/// Checks a vault name: 3–24 characters, letters, digits and hyphens, starting with a letter,
/// ending with a letter or digit, no consecutive hyphens.
pub fn valid_vault_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=24).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0].is_ascii_alphabetic()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_names() {
        for ok in ["abc", "demo", "my-vault-1", "a23456789012345678901234"] {
            assert!(valid_vault_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "1abc",
            "abc-",
            "a--b",
            "a_b",
            "a.b",
            "a234567890123456789012345",
            "",
        ] {
            assert!(!valid_vault_name(bad), "{bad}");
        }
    }
}
