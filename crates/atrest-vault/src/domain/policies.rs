//! Access-policy edits (`PUT .../vaults/{name}/accessPolicies/{add|replace|remove}`) and the
//! vault's audit trail.

use atrest_identity::{Principal, Role};
use atrest_store::{AuditEntry, AuditQuery};

use super::Vaults;
use crate::events::VaultEventKind;
use crate::model::{audit_resource, AccessPolicy, KeyPermission};
use crate::Error;

/// How an access-policy edit applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyEdit {
    /// Add the listed permissions to each principal's entry (creating it if needed).
    Add,
    /// Replace each listed principal's permissions.
    Replace,
    /// Remove the listed permissions from each principal's entry (dropping emptied entries).
    Remove,
}

impl PolicyEdit {
    /// Parses the path segment `add`, `replace` or `remove`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "add" => Some(Self::Add),
            "replace" => Some(Self::Replace),
            "remove" => Some(Self::Remove),
            _ => None,
        }
    }
}

const MAX_POLICIES: usize = 1024;

impl Vaults {
    /// Edits a vault's access policies; returns the policies as they now stand.
    pub async fn edit_access_policies(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
        name: &str,
        edit: PolicyEdit,
        policies: Vec<AccessPolicy>,
    ) -> Result<Vec<AccessPolicy>, Error> {
        let result = async {
            self.authorize_mgmt(
                caller,
                subscription,
                Role::Contributor,
                "write",
                group,
                name,
            )
            .await?;
            check_policies(&policies)?;
            let mut tx = self.write_tx().await?;
            let mut vault = self
                .vault_in(&mut tx, name)
                .await?
                .filter(|v| {
                    v.deleted_at.is_none()
                        && v.subscription_id.eq_ignore_ascii_case(subscription)
                        && v.resource_group.eq_ignore_ascii_case(group)
                })
                .ok_or_else(|| Error::ResourceNotFound {
                    resource: format!(
                        "Microsoft.KeyVault/vaults/{name}' under resource group '{group}"
                    ),
                })?;
            let before = vault.access_policies.clone();
            for policy in policies {
                apply_edit(&mut vault.access_policies, edit, policy);
            }
            check_policies(&vault.access_policies)?;
            vault.updated = self.now();
            self.save_vault(&mut tx, &vault).await?;
            tx.commit().await?;
            if before != vault.access_policies {
                self.emit(VaultEventKind::AccessPolicyChanged, &vault, None, None);
            }
            Ok(vault)
        }
        .await;
        self.audit_mgmt(caller, name, "VaultAccessPolicyChange", result.as_ref())
            .await?;
        result.map(|vault| vault.access_policies)
    }

    /// The vault's audit records after sequence number `after`, at most `top` (1–1000,
    /// default 100). Needs Contributor or Owner on the subscription.
    pub async fn audit_records(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
        name: &str,
        after: Option<i64>,
        top: Option<u32>,
    ) -> Result<Vec<AuditEntry>, Error> {
        // The audit trail is for the vault's owners (not every Contributor), as the issue and
        // Key Vault's own logging (diagnostic settings are an Owner's business) have it.
        self.authorize_mgmt(
            caller,
            subscription,
            Role::Owner,
            "auditRecords/read",
            group,
            name,
        )
        .await?;
        let vault = self.vault_in_group(subscription, group, name).await?;
        let query =
            AuditQuery::page(audit_resource(&vault.name), after, top).map_err(Error::bad)?;
        Ok(self.inner.audit.list(&query).await?)
    }
}

fn apply_edit(current: &mut Vec<AccessPolicy>, edit: PolicyEdit, policy: AccessPolicy) {
    let position = current.iter().position(|p| {
        p.object_id.eq_ignore_ascii_case(&policy.object_id)
            && p.tenant_id.eq_ignore_ascii_case(&policy.tenant_id)
    });
    match (edit, position) {
        (PolicyEdit::Add, Some(i)) => {
            let entry = &mut current[i];
            for permission in policy.keys {
                if !entry.keys.contains(&permission) {
                    entry.keys.push(permission);
                }
            }
            merge_strings(&mut entry.secrets, policy.secrets);
            merge_strings(&mut entry.certificates, policy.certificates);
            merge_strings(&mut entry.storage, policy.storage);
        }
        (PolicyEdit::Add | PolicyEdit::Replace, None) => current.push(policy),
        (PolicyEdit::Replace, Some(i)) => current[i] = policy,
        (PolicyEdit::Remove, Some(i)) => {
            let entry = &mut current[i];
            entry.keys.retain(|p| !policy.keys.contains(p));
            entry
                .secrets
                .retain(|p| !policy.secrets.iter().any(|q| q.eq_ignore_ascii_case(p)));
            entry.certificates.retain(|p| {
                !policy
                    .certificates
                    .iter()
                    .any(|q| q.eq_ignore_ascii_case(p))
            });
            entry
                .storage
                .retain(|p| !policy.storage.iter().any(|q| q.eq_ignore_ascii_case(p)));
            let emptied = entry.keys.is_empty()
                && entry.secrets.is_empty()
                && entry.certificates.is_empty()
                && entry.storage.is_empty();
            let remove_all = policy.keys.is_empty()
                && policy.secrets.is_empty()
                && policy.certificates.is_empty()
                && policy.storage.is_empty();
            if emptied || remove_all {
                current.remove(i);
            }
        }
        (PolicyEdit::Remove, None) => {}
    }
}

fn merge_strings(into: &mut Vec<String>, add: Vec<String>) {
    for value in add {
        if !into.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
            into.push(value);
        }
    }
}

/// Checks ids are present and the list is of sane size.
pub(super) fn check_policies(policies: &[AccessPolicy]) -> Result<(), Error> {
    if policies.len() > MAX_POLICIES {
        return Err(Error::bad(format!(
            "A vault can have at most {MAX_POLICIES} access policies"
        )));
    }
    for policy in policies {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !ok(&policy.tenant_id) || !ok(&policy.object_id) {
            return Err(Error::bad(
                "Each access policy needs a tenantId and an objectId (GUIDs)",
            ));
        }
    }
    Ok(())
}

/// Parses ARM permission names; `all` means every key permission.
pub fn parse_key_permissions(names: &[String]) -> Result<Vec<KeyPermission>, Error> {
    let mut out = Vec::new();
    for name in names {
        if name.eq_ignore_ascii_case("all") {
            for p in KeyPermission::ALL {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            continue;
        }
        let p = KeyPermission::parse(name)
            .ok_or_else(|| Error::bad(format!("Unknown key permission '{name}'")))?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}
