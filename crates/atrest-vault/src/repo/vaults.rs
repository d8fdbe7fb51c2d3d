//! Vault rows: the access policies and tags are JSON columns.

use atrest_store::vault::VaultRow;

use crate::model::Vault;
use crate::Error;

/// The row of a vault.
pub(crate) fn to_row(vault: &Vault) -> Result<VaultRow, Error> {
    Ok(VaultRow {
        id: vault.id.clone(),
        name: vault.name.clone(),
        subscription_id: vault.subscription_id.clone(),
        resource_group: vault.resource_group.clone(),
        location: vault.location.clone(),
        tenant_id: vault.tenant_id.clone(),
        sku: vault.sku.clone(),
        retention_days: vault.retention_days,
        purge_protection: vault.purge_protection,
        access_policies: serde_json::to_string(&vault.access_policies).map_err(Error::other)?,
        tags: serde_json::to_string(&vault.tags).map_err(Error::other)?,
        created: vault.created,
        updated: vault.updated,
        deleted_at: vault.deleted_at,
        scheduled_purge: vault.scheduled_purge,
    })
}

/// The vault of a row.
pub(crate) fn from_row(row: VaultRow) -> Result<Vault, Error> {
    Ok(Vault {
        access_policies: serde_json::from_str(&row.access_policies).map_err(Error::other)?,
        tags: serde_json::from_str(&row.tags).map_err(Error::other)?,
        id: row.id,
        name: row.name,
        subscription_id: row.subscription_id,
        resource_group: row.resource_group,
        location: row.location,
        tenant_id: row.tenant_id,
        sku: row.sku,
        retention_days: row.retention_days,
        purge_protection: row.purge_protection,
        created: row.created,
        updated: row.updated,
        deleted_at: row.deleted_at,
        scheduled_purge: row.scheduled_purge,
    })
}

/// The vaults of rows.
pub(crate) fn from_rows(rows: Vec<VaultRow>) -> Result<Vec<Vault>, Error> {
    rows.into_iter().map(from_row).collect()
}
