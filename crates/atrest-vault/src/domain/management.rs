//! Vault management (the ARM `Microsoft.KeyVault/vaults` resource): create/update, read,
//! list, soft delete, recover and purge. Authorized by the caller's role on the subscription.

use std::collections::BTreeMap;

use atrest_identity::{Principal, Role, Subscription};
use atrest_store::AuditRecord;

use super::Vaults;
use crate::clock::DAY;
use crate::events::VaultEventKind;
use crate::model::{audit_resource, valid_vault_name, AccessPolicy, Vault};
use crate::repo::vaults as rows;
use crate::Error;

/// `properties.createMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreateMode {
    /// Create or update.
    #[default]
    Default,
    /// Recover a soft-deleted vault of the same name.
    Recover,
}

/// The body of `PUT .../vaults/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultSpec {
    /// Region.
    pub location: String,
    /// Tenant (must be the subscription's).
    pub tenant_id: Option<String>,
    /// `standard` or `premium`.
    pub sku: Option<String>,
    /// `enableSoftDelete` (only `true` is accepted).
    pub soft_delete: Option<bool>,
    /// `softDeleteRetentionInDays`, 7–90 (default 90).
    pub retention_days: Option<i64>,
    /// `enablePurgeProtection`.
    pub purge_protection: Option<bool>,
    /// Access policies (replace all).
    pub access_policies: Option<Vec<AccessPolicy>>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// `createMode`.
    pub create_mode: CreateMode,
}

/// The body of `PATCH .../vaults/{name}`: `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultPatch {
    /// `standard` or `premium`.
    pub sku: Option<String>,
    /// `enableSoftDelete`.
    pub soft_delete: Option<bool>,
    /// `softDeleteRetentionInDays` (cannot change after creation).
    pub retention_days: Option<i64>,
    /// `enablePurgeProtection` (can only be turned on).
    pub purge_protection: Option<bool>,
    /// Access policies (replace all).
    pub access_policies: Option<Vec<AccessPolicy>>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
}

impl Vaults {
    /// Creates or updates a vault, or recovers a deleted one (`createMode: recover`).
    /// Returns the vault and whether it was newly created.
    pub async fn put_vault(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
        name: &str,
        spec: VaultSpec,
    ) -> Result<(Vault, bool), Error> {
        let result = self
            .put_vault_inner(caller, subscription, group, name, spec)
            .await;
        self.audit_mgmt(caller, name, "VaultPut", result.as_ref().map(|(v, _)| v))
            .await?;
        result
    }

    async fn put_vault_inner(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
        name: &str,
        spec: VaultSpec,
    ) -> Result<(Vault, bool), Error> {
        check_vault_name(name)?;
        let sub = self
            .authorize_mgmt(
                caller,
                subscription,
                Role::Contributor,
                "write",
                group,
                name,
            )
            .await?;
        if let Some(tenant) = &spec.tenant_id {
            if !tenant.eq_ignore_ascii_case(&sub.tenant_id) {
                return Err(Error::bad(format!(
                    "properties.tenantId must be the subscription's tenant '{}'",
                    sub.tenant_id
                )));
            }
        }
        check_location(&spec.location)?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let existing = self.vault_in(&mut tx, name).await?;
        if spec.create_mode == CreateMode::Recover {
            let mut vault = existing
                .filter(|v| {
                    v.deleted_at.is_some() && v.subscription_id.eq_ignore_ascii_case(subscription)
                })
                .ok_or_else(|| Error::DeletedVaultNotFound {
                    name: name.to_owned(),
                })?;
            vault.deleted_at = None;
            vault.scheduled_purge = None;
            vault.resource_group = group.to_owned();
            vault.updated = now;
            self.save_vault(&mut tx, &vault).await?;
            tx.commit().await?;
            self.emit(VaultEventKind::VaultRecovered, &vault, None, None);
            return Ok((vault, false));
        }
        let patch = VaultPatch {
            sku: spec.sku,
            soft_delete: spec.soft_delete,
            retention_days: spec.retention_days,
            purge_protection: spec.purge_protection,
            access_policies: spec.access_policies,
            tags: spec.tags,
        };
        let (vault, created, policies_changed) = match existing {
            Some(v) if v.deleted_at.is_some() => {
                return Err(Error::VaultNameDeleted { name: v.name })
            }
            Some(v) if !same_place(&v, subscription, group) => {
                return Err(Error::VaultNameTaken { name: v.name })
            }
            Some(mut vault) => {
                if vault.location != normalize_location(&spec.location) {
                    return Err(Error::bad(format!(
                        "The location of vault '{}' is '{}' and cannot be changed",
                        vault.name, vault.location
                    )));
                }
                let changed = apply_patch(&mut vault, patch, now)?;
                (vault, false, changed)
            }
            None => {
                let mut vault = Vault {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: name.to_owned(),
                    subscription_id: sub.subscription_id.clone(),
                    resource_group: group.to_owned(),
                    location: normalize_location(&spec.location),
                    tenant_id: sub.tenant_id.clone(),
                    sku: "standard".to_owned(),
                    retention_days: patch.retention_days.unwrap_or(90),
                    purge_protection: false,
                    access_policies: Vec::new(),
                    tags: BTreeMap::new(),
                    created: now,
                    updated: now,
                    deleted_at: None,
                    scheduled_purge: None,
                };
                apply_patch(&mut vault, patch, now)?;
                (vault, true, false)
            }
        };
        self.save_vault(&mut tx, &vault).await?;
        tx.commit().await?;
        if policies_changed {
            self.emit(VaultEventKind::AccessPolicyChanged, &vault, None, None);
        }
        Ok((vault, created))
    }

    /// Reads a vault.
    pub async fn get_vault(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
        name: &str,
    ) -> Result<Vault, Error> {
        self.authorize_mgmt(caller, subscription, Role::Reader, "read", group, name)
            .await?;
        self.vault_in_group(subscription, group, name).await
    }

    /// Updates some properties of a vault.
    pub async fn patch_vault(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
        name: &str,
        patch: VaultPatch,
    ) -> Result<Vault, Error> {
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
            let mut tx = self.write_tx().await?;
            let mut vault = self
                .vault_in(&mut tx, name)
                .await?
                .filter(|v| v.deleted_at.is_none() && same_place(v, subscription, group))
                .ok_or_else(|| not_found(group, name))?;
            let changed = apply_patch(&mut vault, patch, self.now())?;
            self.save_vault(&mut tx, &vault).await?;
            tx.commit().await?;
            if changed {
                self.emit(VaultEventKind::AccessPolicyChanged, &vault, None, None);
            }
            Ok(vault)
        }
        .await;
        self.audit_mgmt(caller, name, "VaultPatch", result.as_ref())
            .await?;
        result
    }

    /// Soft-deletes a vault (recoverable for its retention). Returns whether it existed.
    pub async fn delete_vault(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
        name: &str,
    ) -> Result<bool, Error> {
        self.authorize_mgmt(
            caller,
            subscription,
            Role::Contributor,
            "delete",
            group,
            name,
        )
        .await?;
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let Some(mut vault) = self
            .vault_in(&mut tx, name)
            .await?
            .filter(|v| v.deleted_at.is_none() && same_place(v, subscription, group))
        else {
            return Ok(false);
        };
        vault.deleted_at = Some(now);
        vault.scheduled_purge = Some(now + vault.retention_days * DAY);
        vault.updated = now;
        self.save_vault(&mut tx, &vault).await?;
        tx.commit().await?;
        self.audit_mgmt(caller, name, "VaultDelete", Ok(&vault))
            .await?;
        self.emit(VaultEventKind::VaultDeleted, &vault, None, None);
        Ok(true)
    }

    /// Live vaults in a resource group.
    pub async fn list_vaults(
        &self,
        caller: &Principal,
        subscription: &str,
        group: &str,
    ) -> Result<Vec<Vault>, Error> {
        self.authorize_mgmt(caller, subscription, Role::Reader, "read", group, "")
            .await?;
        rows::from_rows(self.store().vaults_in_group(subscription, group).await?)
    }

    /// Soft-deleted vaults in a subscription.
    pub async fn list_deleted_vaults(
        &self,
        caller: &Principal,
        subscription: &str,
    ) -> Result<Vec<Vault>, Error> {
        self.authorize_mgmt(
            caller,
            subscription,
            Role::Reader,
            "deletedVaults/read",
            "",
            "",
        )
        .await?;
        rows::from_rows(self.store().deleted_vaults(subscription).await?)
    }

    /// A soft-deleted vault.
    pub async fn get_deleted_vault(
        &self,
        caller: &Principal,
        subscription: &str,
        location: &str,
        name: &str,
    ) -> Result<Vault, Error> {
        self.authorize_mgmt(
            caller,
            subscription,
            Role::Reader,
            "deletedVaults/read",
            "",
            "",
        )
        .await?;
        self.deleted_vault(subscription, location, name).await
    }

    /// Purges a soft-deleted vault and all its keys. Refused under purge protection until the
    /// retention has elapsed.
    pub async fn purge_deleted_vault(
        &self,
        caller: &Principal,
        subscription: &str,
        location: &str,
        name: &str,
    ) -> Result<(), Error> {
        let result = async {
            self.authorize_mgmt(
                caller,
                subscription,
                Role::Contributor,
                "deletedVaults/purge/action",
                "",
                "",
            )
            .await?;
            let vault = self.deleted_vault(subscription, location, name).await?;
            if vault.purge_protection && vault.scheduled_purge.is_some_and(|at| at > self.now()) {
                return Err(Error::PurgeProtected { name: vault.name });
            }
            let mut tx = self.write_tx().await?;
            self.store().purge_vault(&mut tx, &vault.id).await?;
            tx.commit().await?;
            self.emit(VaultEventKind::VaultPurged, &vault, None, None);
            Ok(vault)
        }
        .await;
        self.audit_mgmt(caller, name, "VaultPurge", result.as_ref())
            .await?;
        result.map(|_| ())
    }

    pub(super) async fn vault_in_group(
        &self,
        subscription: &str,
        group: &str,
        name: &str,
    ) -> Result<Vault, Error> {
        self.stored_vault(name)
            .await?
            .filter(|v| v.deleted_at.is_none() && same_place(v, subscription, group))
            .ok_or_else(|| not_found(group, name))
    }

    async fn deleted_vault(
        &self,
        subscription: &str,
        location: &str,
        name: &str,
    ) -> Result<Vault, Error> {
        self.stored_vault(name)
            .await?
            .filter(|v| {
                v.deleted_at.is_some()
                    && v.subscription_id.eq_ignore_ascii_case(subscription)
                    && v.location == normalize_location(location)
            })
            .ok_or_else(|| Error::DeletedVaultNotFound {
                name: name.to_owned(),
            })
    }

    /// Checks the caller holds at least `needed` on the subscription (and is of its tenant).
    pub(super) async fn authorize_mgmt(
        &self,
        caller: &Principal,
        subscription: &str,
        needed: Role,
        action: &'static str,
        group: &str,
        name: &str,
    ) -> Result<Subscription, Error> {
        let directory = &self.inner.directory;
        let sub = directory
            .subscription(subscription)
            .await
            .map_err(identity_error)?
            .ok_or_else(|| Error::SubscriptionNotFound {
                id: subscription.to_owned(),
            })?;
        let role = directory
            .role_of(caller, &sub.subscription_id)
            .await
            .map_err(identity_error)?;
        let same_tenant =
            caller.is_operator() || caller.tenant_id.eq_ignore_ascii_case(&sub.tenant_id);
        if same_tenant && role.is_some_and(|r| r >= needed) {
            return Ok(sub);
        }
        let mut scope = format!("/subscriptions/{subscription}");
        if !group.is_empty() {
            scope.push_str(&format!(
                "/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}"
            ));
        }
        Err(Error::RoleRequired {
            object_id: caller.object_id.clone(),
            action: match action {
                "read" => "Microsoft.KeyVault/vaults/read",
                "write" => "Microsoft.KeyVault/vaults/write",
                "delete" => "Microsoft.KeyVault/vaults/delete",
                "deletedVaults/read" => "Microsoft.KeyVault/deletedVaults/read",
                "auditRecords/read" => "Microsoft.KeyVault/vaults/auditRecords/read",
                _ => "Microsoft.KeyVault/locations/deletedVaults/purge/action",
            },
            scope,
        })
    }

    /// Audits a management operation on vault `name`.
    pub(super) async fn audit_mgmt(
        &self,
        caller: &Principal,
        name: &str,
        operation: &str,
        outcome: Result<&Vault, &Error>,
    ) -> Result<(), Error> {
        let (tenant, result, status, detail) = match outcome {
            Ok(vault) => (vault.tenant_id.clone(), "ok", 200, None),
            Err(err) => (
                caller.tenant_id.clone(),
                err.audit_result(),
                err.status(),
                Some(err.code().to_owned()),
            ),
        };
        self.inner
            .audit
            .append(AuditRecord {
                tenant_id: tenant,
                principal_id: caller.object_id.clone(),
                resource: audit_resource(name),
                key_name: None,
                key_version: None,
                operation: operation.to_owned(),
                result: result.to_owned(),
                status,
                detail,
            })
            .await?;
        Ok(())
    }
}

/// Applies a patch; returns whether the access policies changed.
pub(super) fn apply_patch(vault: &mut Vault, patch: VaultPatch, now: i64) -> Result<bool, Error> {
    if patch.soft_delete == Some(false) {
        return Err(Error::bad(
            "Soft delete is always on for atrest vaults; enableSoftDelete cannot be false",
        ));
    }
    if let Some(days) = patch.retention_days {
        if !(7..=90).contains(&days) {
            return Err(Error::bad(format!(
                "softDeleteRetentionInDays must be between 7 and 90, not {days}"
            )));
        }
        // A new vault starts with the requested value, so only a later change differs.
        if days != vault.retention_days {
            return Err(Error::bad(
                "softDeleteRetentionInDays can only be set when the vault is created",
            ));
        }
        vault.retention_days = days;
    }
    match patch.purge_protection {
        Some(false) if vault.purge_protection => {
            return Err(Error::bad(
                "Purge protection cannot be turned off once it is enabled (enablePurgeProtection: false is not allowed)",
            ))
        }
        Some(true) => vault.purge_protection = true,
        _ => {}
    }
    if let Some(sku) = patch.sku {
        let sku = sku.to_ascii_lowercase();
        if sku != "standard" && sku != "premium" {
            return Err(Error::bad(format!(
                "Unknown sku '{sku}': use standard or premium"
            )));
        }
        vault.sku = sku;
    }
    if let Some(tags) = patch.tags {
        vault.tags = tags;
    }
    let mut changed = false;
    if let Some(policies) = patch.access_policies {
        super::policies::check_policies(&policies)?;
        changed = policies != vault.access_policies;
        vault.access_policies = policies;
    }
    vault.updated = now;
    Ok(changed)
}

fn same_place(vault: &Vault, subscription: &str, group: &str) -> bool {
    vault.subscription_id.eq_ignore_ascii_case(subscription)
        && vault.resource_group.eq_ignore_ascii_case(group)
}

fn not_found(group: &str, name: &str) -> Error {
    Error::ResourceNotFound {
        resource: format!("Microsoft.KeyVault/vaults/{name}' under resource group '{group}"),
    }
}

fn check_vault_name(name: &str) -> Result<(), Error> {
    if valid_vault_name(name) {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "The vault name '{name}' is invalid: use 3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, without consecutive hyphens"
        )))
    }
}

fn normalize_location(location: &str) -> String {
    location.to_ascii_lowercase().replace(' ', "")
}

fn check_location(location: &str) -> Result<(), Error> {
    let ok = !location.is_empty()
        && location.len() <= 64
        && location
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ');
    if ok {
        Ok(())
    } else {
        Err(Error::bad(
            "location is required and must be a region name such as westeurope",
        ))
    }
}

pub(super) fn identity_error(err: atrest_identity::Error) -> Error {
    Error::Other(std::sync::Arc::new(err))
}
