//! Vault rows.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use atrest_store::SqlBool;

use crate::model::Vault;
use crate::Error;

const COLUMNS: &str = "id, name, subscription_id, resource_group, location, tenant_id, sku, \
    retention_days, purge_protection, access_policies, tags, created, updated, deleted_at, \
    scheduled_purge";

/// Any vault of that name, live or soft-deleted (names are case-insensitive).
pub(crate) async fn by_name(pool: &AnyPool, name: &str) -> Result<Option<Vault>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM vaults WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Same, inside a transaction.
pub(crate) async fn by_name_tx(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<Vault>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM vaults WHERE name = $1"))
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Live vaults in a resource group.
pub(crate) async fn in_group(
    pool: &AnyPool,
    subscription: &str,
    group: &str,
) -> Result<Vec<Vault>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vaults WHERE subscription_id = $1 AND resource_group = $2 COLLATE NOCASE \
         AND deleted_at IS NULL ORDER BY name"
    ))
    .bind(subscription)
    .bind(group)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Soft-deleted vaults of a subscription.
pub(crate) async fn deleted_in_subscription(
    pool: &AnyPool,
    subscription: &str,
) -> Result<Vec<Vault>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vaults WHERE subscription_id = $1 AND deleted_at IS NOT NULL ORDER BY name"
    ))
    .bind(subscription)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Soft-deleted vaults whose purge date has come.
pub(crate) async fn due_for_purge(pool: &AnyPool, now: i64) -> Result<Vec<Vault>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vaults WHERE deleted_at IS NOT NULL AND scheduled_purge <= $1"
    ))
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Inserts or replaces the whole row.
pub(crate) async fn save(conn: &mut AnyConnection, vault: &Vault) -> Result<(), Error> {
    let policies = serde_json::to_string(&vault.access_policies).map_err(other)?;
    let tags = serde_json::to_string(&vault.tags).map_err(other)?;
    sqlx::query(&format!(
        "INSERT INTO vaults ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, subscription_id = excluded.subscription_id, \
         resource_group = excluded.resource_group, location = excluded.location, \
         tenant_id = excluded.tenant_id, sku = excluded.sku, retention_days = excluded.retention_days, \
         purge_protection = excluded.purge_protection, access_policies = excluded.access_policies, \
         tags = excluded.tags, updated = excluded.updated, deleted_at = excluded.deleted_at, \
         scheduled_purge = excluded.scheduled_purge"
    ))
    .bind(&vault.id)
    .bind(&vault.name)
    .bind(&vault.subscription_id)
    .bind(&vault.resource_group)
    .bind(&vault.location)
    .bind(&vault.tenant_id)
    .bind(&vault.sku)
    .bind(vault.retention_days)
    .bind(SqlBool::from(vault.purge_protection))
    .bind(policies)
    .bind(tags)
    .bind(vault.created)
    .bind(vault.updated)
    .bind(vault.deleted_at)
    .bind(vault.scheduled_purge)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the vault and (by cascade) its keys and versions.
pub(crate) async fn purge(conn: &mut AnyConnection, id: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM vault_key_versions WHERE vault_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM vault_keys WHERE vault_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM vaults WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<Vault, Error> {
    let policies: String = row.try_get("access_policies")?;
    let tags: String = row.try_get("tags")?;
    Ok(Vault {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        subscription_id: row.try_get("subscription_id")?,
        resource_group: row.try_get("resource_group")?,
        location: row.try_get("location")?,
        tenant_id: row.try_get("tenant_id")?,
        sku: row.try_get("sku")?,
        retention_days: row.try_get("retention_days")?,
        purge_protection: row.try_get::<SqlBool, _>("purge_protection")?.into(),
        access_policies: serde_json::from_str(&policies).map_err(other)?,
        tags: serde_json::from_str(&tags).map_err(other)?,
        created: row.try_get("created")?,
        updated: row.try_get("updated")?,
        deleted_at: row.try_get("deleted_at")?,
        scheduled_purge: row.try_get("scheduled_purge")?,
    })
}

pub(crate) fn other(err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Other(std::sync::Arc::new(err))
}
